"""Seeded synthetic traces that follow the trace contract (DESIGN.md §3).

Step 2 is tested and benchmarked without step 1: this module builds the per-layer geometry
of a network (LeNet-5 on MNIST, VGG-8 on CIFAR-10, ResNet-18 on 224x224 ImageNet, or any
DNN+NeuroSim ``NetWork.csv`` table), draws random integer weight codes and input-activation
codes with a chosen input sparsity from one explicit seeded generator, and writes the folder
through `contracts.trace.write_trace` (so a synthetic folder is read back exactly like a real one).

numpy only (no torch): `Chip.py` and its tests must start fast.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from contracts.trace import LayerGeometry, LayerTrace, TraceError, write_trace

__all__ = [
    "NETWORKS",
    "bert_base_geometries",
    "geometries",
    "geometries_from_network_csv",
    "lenet5_mnist_geometries",
    "resnet18_imagenet_geometries",
    "synthetic_layers",
    "toy_encoder_geometries",
    "vgg8_cifar_geometries",
    "vit_mnist_geometries",
    "write_synthetic_trace",
]


def _conv(name: str, cin: int, cout: int, k: int, hw: int, stride: int = 1, pad: int | None = None,
          after: tuple[str, ...] = ("relu",), wbits: int = 8, xbits: int = 8) -> LayerGeometry:
    pad = (k - 1) // 2 if pad is None else pad
    out = (hw + 2 * pad - k) // stride + 1  # PyTorch's output size (ours, standard conv arithmetic)
    return LayerGeometry(name=name, kind="conv2d", in_channels=cin, out_channels=cout,
                         kernel_size=(k, k), stride=(stride, stride), padding=(pad, pad),
                         input_hw=(hw, hw), output_hw=(out, out), followed_by=after,
                         weight_bits=wbits, input_bits=xbits)


def _linear(name: str, cin: int, cout: int, after: tuple[str, ...] = (), wbits: int = 8,
            xbits: int = 8) -> LayerGeometry:
    return LayerGeometry(name=name, kind="linear", in_channels=cin, out_channels=cout,
                         followed_by=after, weight_bits=wbits, input_bits=xbits)


def lenet5_mnist_geometries(weight_bits: int = 8, input_bits: int = 8) -> list[LayerGeometry]:
    """LeNet-5 on 28x28x1 digits, the shapes of models/lenet.py (conv 5x5 6 with padding 2,
    conv 5x5 16, fc 400-120-84-10, ReLU, 2x2 max pooling); kept here as data, since chip/
    must not import the torch models."""
    b = dict(wbits=weight_bits, xbits=input_bits)
    pool = ("relu", "maxpool2x2")
    return [
        _conv("features.0", 1, 6, 5, 28, pad=2, after=pool, **b),
        _conv("features.3", 6, 16, 5, 14, pad=0, after=pool, **b),
        _linear("classifier.1", 400, 120, after=("relu",), **b),
        _linear("classifier.3", 120, 84, after=("relu",), **b),
        _linear("classifier.5", 84, 10, **b),
    ]


def vgg8_cifar_geometries(weight_bits: int = 8, input_bits: int = 8) -> list[LayerGeometry]:
    """VGG-8 on 32x32x3 inputs, as in DNN+NeuroSim's NetWork_VGG8.csv (3x3 'same' convs)."""
    b = dict(wbits=weight_bits, xbits=input_bits)
    pool = ("relu", "maxpool2x2")
    return [
        _conv("conv1", 3, 128, 3, 32, **b),
        _conv("conv2", 128, 128, 3, 32, after=pool, **b),
        _conv("conv3", 128, 256, 3, 16, **b),
        _conv("conv4", 256, 256, 3, 16, after=pool, **b),
        _conv("conv5", 256, 512, 3, 8, **b),
        _conv("conv6", 512, 512, 3, 8, after=pool, **b),
        _linear("fc1", 8192, 1024, after=("relu",), **b),
        _linear("fc2", 1024, 10, **b),
    ]


def resnet18_imagenet_geometries(weight_bits: int = 8, input_bits: int = 8) -> list[LayerGeometry]:
    """ResNet-18 on 224x224x3: 7x7/2 stem + 3x3/2 max pool, four stages of two basic blocks
    (1x1/2 projection shortcuts where the shape changes), global average pool, fc 512->1000."""
    b = dict(wbits=weight_bits, xbits=input_bits)
    layers = [_conv("stem.conv", 3, 64, 7, 224, stride=2, pad=3, after=("relu", "maxpool3x3s2"),
                    **b)]
    hw, cin = 56, 64
    for stage, cout in enumerate((64, 128, 256, 512), start=1):
        for block in range(2):
            stride = 2 if (stage > 1 and block == 0) else 1
            prefix = f"layer{stage}.{block}"
            layers.append(_conv(f"{prefix}.conv1", cin, cout, 3, hw, stride=stride, **b))
            out_hw = layers[-1].output_hw[0]
            if stride != 1 or cin != cout:
                layers.append(_conv(f"{prefix}.downsample", cin, cout, 1, hw, stride=stride,
                                    pad=0, after=(), **b))
            layers.append(_conv(f"{prefix}.conv2", cout, cout, 3, out_hw, **b))
            hw, cin = out_hw, cout
    layers.append(_linear("fc", 512, 1000, **b))
    return layers


def _token_linear(name: str, cin: int, cout: int, tokens: int, after: tuple[str, ...] = (),
                  wbits: int = 8, xbits: int = 8) -> LayerGeometry:
    """A linear layer applied to each of ``tokens`` vectors (trace contract: (T, 1) maps)."""
    return LayerGeometry(name=name, kind="linear", in_channels=cin, out_channels=cout,
                         input_hw=(tokens, 1), output_hw=(tokens, 1), followed_by=after,
                         weight_bits=wbits, input_bits=xbits)


def _dynamic(name: str, heads: int, m: int, k: int, n: int, after: tuple[str, ...] = (),
             wbits: int = 8, xbits: int = 8) -> LayerGeometry:
    """Per head an (m x k) activation times a (k x n) activation (trace contract)."""
    return LayerGeometry(name=name, kind="dynamic_matmul", in_channels=heads * k,
                         out_channels=heads * n, groups=heads, input_hw=(m, 1),
                         output_hw=(m, 1), followed_by=after, weight_bits=wbits,
                         input_bits=xbits)


def _encoder_block(prefix: str, width: int, heads: int, tokens: int, hidden: int,
                   b: dict) -> list[LayerGeometry]:
    """One pre-norm encoder block: Q, K, V projections, Q.K^T (softmax after it), A.V, the
    output projection and the MLP; the residual add and the next LayerNorm follow the
    output projection and the second MLP layer."""
    d = width // heads
    norm = ("add", "layernorm")
    return [
        _token_linear(f"{prefix}.q", width, width, tokens, **b),
        _token_linear(f"{prefix}.k", width, width, tokens, **b),
        _token_linear(f"{prefix}.v", width, width, tokens, **b),
        _dynamic(f"{prefix}.qk", heads, tokens, d, tokens, after=("softmax",), **b),
        _dynamic(f"{prefix}.av", heads, tokens, tokens, d, **b),
        _token_linear(f"{prefix}.proj", width, width, tokens, after=norm, **b),
        _token_linear(f"{prefix}.fc1", width, hidden, tokens, after=("gelu",), **b),
        _token_linear(f"{prefix}.fc2", hidden, width, tokens, after=norm, **b),
    ]


def toy_encoder_geometries(weight_bits: int = 8, input_bits: int = 8) -> list[LayerGeometry]:
    """A one-block encoder small enough to count cells by hand (ours): width 8, 2 heads of
    4, 4 tokens, MLP 16, then a 2-class head on one token."""
    b = dict(wbits=weight_bits, xbits=input_bits)
    return [*_encoder_block("block0", 8, 2, 4, 16, b), _linear("head", 8, 2, **b)]


def vit_mnist_geometries(weight_bits: int = 8, input_bits: int = 8) -> list[LayerGeometry]:
    """The small ViT of issue 13 on 28x28 digits: 7x7 patches (16 patch tokens + a class
    token = 17), width 64, 4 heads, MLP 4x (256), 4 pre-norm blocks, a 10-class head on the
    class token."""
    b = dict(wbits=weight_bits, xbits=input_bits)
    layers = [_token_linear("patch_embed", 49, 64, 16, after=("add", "layernorm"), **b)]
    for i in range(4):
        layers += _encoder_block(f"blocks.{i}", 64, 4, 17, 256, b)
    return layers + [_linear("head", 64, 10, **b)]


def bert_base_geometries(weight_bits: int = 8, input_bits: int = 8) -> list[LayerGeometry]:
    """BERT-base (Devlin et al. 2019): 12 layers, width 768, 12 heads of 64, FFN 3072,
    sequence 128; the embeddings are look-ups (no compute layer); pooler (tanh) and a
    2-class classifier on the [CLS] token."""
    b = dict(wbits=weight_bits, xbits=input_bits)
    layers = []
    for i in range(12):
        layers += _encoder_block(f"encoder.{i}", 768, 12, 128, 3072, b)
    return layers + [_linear("pooler", 768, 768, after=("tanh",), **b),
                     _linear("classifier", 768, 2, **b)]


NETWORKS = {"lenet5": lenet5_mnist_geometries, "vgg8": vgg8_cifar_geometries,
            "resnet18-imagenet": resnet18_imagenet_geometries,
            "toy-encoder": toy_encoder_geometries, "vit-mnist": vit_mnist_geometries,
            "bert-base": bert_base_geometries}


def geometries(network: str, **kwargs) -> list[LayerGeometry]:
    """Built-in network geometry by name (``lenet5``, ``vgg8``, ``resnet18-imagenet``,
    ``toy-encoder``, ``vit-mnist``, ``bert-base``)."""
    try:
        return NETWORKS[network.lower()](**kwargs)
    except KeyError:
        raise ValueError(f"network={network!r} has no built-in geometry; choose from: "
                         f"{', '.join(NETWORKS)} (or use geometries_from_network_csv)") from None


def geometries_from_network_csv(source: str | os.PathLike | Iterable[Sequence[int]],
                                weight_bits: int = 8, input_bits: int = 8) -> list[LayerGeometry]:
    """Geometry from DNN+NeuroSim's 8-column table (IFM_H, IFM_W, Cin, K_H, K_W, Cout,
    max-pool follows, stride), a path or rows. Convolutions get 'same' padding (K-1)/2, as
    in the networks NeuroSim ships; a 1x1 kernel on a 1x1 map is a linear layer."""
    if isinstance(source, (str, os.PathLike)):
        text = Path(source).read_text()
        rows = [[int(float(v)) for v in line.split(",") if v.strip()]
                for line in text.splitlines() if line.strip()]
    else:
        rows = [list(map(int, r)) for r in source]
    out: list[LayerGeometry] = []
    for i, row in enumerate(rows):
        if len(row) < 8:
            raise TraceError(f"NetWork.csv row {i + 1}: {len(row)} columns, need 8 (IFM_H, IFM_W, "
                             f"Cin, K_H, K_W, Cout, pool, stride)")
        h, w, cin, kh, kw, cout, pool, stride = row[:8]
        after = ("relu", "maxpool2x2") if pool else ("relu",)
        if h == 1 and w == 1 and kh == 1 and kw == 1:
            out.append(_linear(f"fc{i + 1}", cin, cout, after=after, wbits=weight_bits,
                               xbits=input_bits))
        else:
            if kh != kw or h != w:
                raise TraceError(f"NetWork.csv row {i + 1}: only square maps and kernels are "
                                 f"supported ({h}x{w}, kernel {kh}x{kw})")
            out.append(_conv(f"layer{i + 1}", cin, cout, kh, h, stride=stride, after=after,
                             wbits=weight_bits, xbits=input_bits))
    return out


def synthetic_layers(geoms: Sequence[LayerGeometry], images: int = 1, input_sparsity: float = 0.5,
                     seed: int = 0, weight_std_codes: float | None = None) -> list[LayerTrace]:
    """Random traces for ``geoms``: weight codes ~ rounded normal clipped to the signed range,
    input codes zero with probability ``input_sparsity`` and uniform over the non-zero codes
    otherwise (ReLU-like activations). One seeded generator; reproducible from the seed.
    A dynamic_matmul layer gets one weight operand per image, drawn like weights."""
    if not 0.0 <= input_sparsity <= 1.0:
        raise ValueError(f"input_sparsity={input_sparsity} must lie in [0, 1]")
    if images < 1:
        raise ValueError(f"images={images} must be >= 1")
    rng = np.random.default_rng(seed)
    layers = []
    for g in geoms:
        w_lim = 2 ** (g.weight_bits - 1)
        std = weight_std_codes if weight_std_codes is not None else w_lim / 3.0  # ours
        w = rng.standard_normal(size=g.weight_codes_shape(images), dtype=np.float32)   # float32: low peak
        w *= std
        np.rint(w, out=w)
        np.clip(w, -w_lim, w_lim - 1, out=w)
        shape = g.input_shape(images)
        x_max = 2 ** g.input_bits - 1
        x = rng.integers(1, x_max + 1, size=shape, dtype=np.int32)
        x[rng.random(shape, dtype=np.float32) < input_sparsity] = 0
        w_dtype = np.int8 if g.weight_bits <= 8 else np.int16
        x_dtype = np.uint8 if g.input_bits <= 8 else np.uint16
        layers.append(LayerTrace(g, w.astype(w_dtype), 1.0 / w_lim, x.astype(x_dtype),
                                 1.0 / x_max))
    return layers


def write_synthetic_trace(directory: str | os.PathLike, network: str = "vgg8",
                          geoms: Sequence[LayerGeometry] | None = None, config=None,
                          images: int = 1, input_sparsity: float = 0.5, seed: int = 0) -> Path:
    """Write a synthetic trace folder; ``config`` (HardwareConfig, default ours) is stamped
    into the manifest as step 1 would. Returns the folder path."""
    from contracts.config import HardwareConfig

    config = config if config is not None else HardwareConfig()
    if geoms is None:
        geoms = geometries(network, weight_bits=config.weight_bits,
                           input_bits=config.activation_bits)
    layers = synthetic_layers(geoms, images=images, input_sparsity=input_sparsity, seed=seed)
    return write_trace(directory, network.upper(), layers, config.to_dict(), config.config_hash(),
                       dataset={"name": "synthetic", "seed": seed, "input_sparsity": input_sparsity},
                       extra={"synthetic": True})
