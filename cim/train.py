"""Quantization-aware training (QAT) of a registered network on its data set's train split.

Every compute layer runs in ``qat`` mode (cim.layers): its input and weights are fake-quantized
to the configured activation/weight bits with a clipped straight-through estimator
(cim.quantize.fake_quant), so the trained weights keep their accuracy once quantized to the
integer codes the crossbar stores. Activation clip values follow an exponential running
maximum during training and are saved in the checkpoint meta (``activation_clip``) for
step 1 to use.

Recipe (ours, tuned for LeNet-5 on the 4,000 mnist5k training images on 2 CPU cores): Adam,
learning rate 2e-3 with cosine decay, batch 64, random shifts of up to 2 pixels (same shift
for a whole batch), seeded shuffling; about a minute for 30 epochs.
"""
from __future__ import annotations

import datetime as _dt
import math
import sys
import time
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from contracts.config import HardwareConfig

from .convert import convert, set_mode
from .passes import calibrate_activations, evaluate, ordered_layers

__all__ = ["train", "plain_state_dict", "DEFAULT_EPOCHS"]

DEFAULT_EPOCHS = 30


def _shift(images: torch.Tensor, dx: int, dy: int, pad: int) -> torch.Tensor:
    padded = F.pad(images, (pad, pad, pad, pad))
    h, w = images.shape[-2:]
    return padded[..., pad + dy:pad + dy + h, pad + dx:pad + dx + w]


def plain_state_dict(cim_model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The state dict of a converted model in the layout of the network it was made from
    (each CIMLayer's ``inner.`` dropped), for models.checkpoints."""
    return {k.replace(".inner.", ".") if ".inner." in k else
            (k[len("inner."):] if k.startswith("inner.") else k): v
            for k, v in cim_model.state_dict().items()}


def train(network: str = "lenet5", dataset: str = "mnist5k", config: HardwareConfig | None = None,
          epochs: int = DEFAULT_EPOCHS, seed: int = 0, checkpoint: str | Path | None = None,
          data_root=None, progress: bool = False, log: Callable[[str], None] | None = None
          ) -> tuple[Path, dict]:
    """Train ``network`` with QAT and save it; returns (checkpoint path, meta).

    ``checkpoint``: the file to write (default: models.checkpoints.training_checkpoint_path,
    in the user's folder); a shipped checkpoint or a file this tool did not write is refused
    before training."""
    import models
    from models import checkpoints, datasets

    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs={epochs!r} is invalid; use a positive integer")
    cfg = config or HardwareConfig()
    spec = models.get_spec(network)
    if dataset == "synthetic":
        raise ValueError("dataset='synthetic' has no labels; training needs a real data set")
    path = checkpoints.check_training_target(
        checkpoint if checkpoint else checkpoints.training_checkpoint_path(network, dataset))
    train_set = datasets.load_dataset(dataset, "train", root=data_root)
    test_set = datasets.load_dataset(dataset, "test", root=data_root)
    if tuple(train_set.images.shape[1:]) != tuple(spec.input_shape):
        raise ValueError(f"dataset={dataset!r} has images {tuple(train_set.images.shape[1:])} but "
                         f"network={network!r} expects {spec.input_shape}")
    say = log or (lambda text: None)

    model = models.build(network, num_classes=train_set.num_classes, seed=seed)
    cim_model, analysis = convert(model)
    layers = ordered_layers(cim_model, analysis)
    for layer in layers:
        layer.config = cfg
    t0 = time.perf_counter()
    _fit(cim_model, train_set, test_set, epochs, seed, progress, say, t0)
    clip, acc_float, acc_quant = _final_accuracy(cim_model, layers, train_set, test_set, cfg)
    model.load_state_dict(plain_state_dict(cim_model), strict=True)
    meta = {
        "network": network, "dataset": dataset, "split": "train",
        "train_images": len(train_set), "epochs": epochs, "seed": seed, "batch_size": BATCH,
        "optimizer": "adam lr 2e-3 cosine", "augmentation": "random shift +-2 px per batch",
        "qat": {"weight_bits": cfg.weight_bits, "activation_bits": cfg.activation_bits},
        "activation_clip": clip,
        "test_accuracy": {"float": acc_float, "quantized": acc_quant,
                          "images": len(test_set)},
        "train_seconds": round(time.perf_counter() - t0, 1),
        "date": _dt.date.today().isoformat(),
    }
    checkpoints.save_checkpoint(model, path, meta)
    say(f"saved {path} (test accuracy float {100 * acc_float:.2f}%, quantized "
        f"{100 * acc_quant:.2f}%)")
    return path, meta


BATCH = 64          # training batch (images)


def _fit(cim_model, train_set, test_set, epochs: int, seed: int, progress: bool, say,
         t0: float) -> None:
    """QAT: Adam at 2e-3 with a cosine schedule, a random +-2 px shift per batch; the test
    accuracy printed after each epoch."""
    set_mode(cim_model, "qat")
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(cim_model.parameters(), lr=2e-3)
    n = len(train_set)
    steps = epochs * math.ceil(n / BATCH)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
    for epoch in range(epochs):
        cim_model.train()
        order = torch.randperm(n, generator=gen)
        total_loss = 0.0
        batches = range(0, n, BATCH)
        if progress:
            from tqdm import tqdm
            batches = tqdm(batches, desc=f"epoch {epoch + 1}/{epochs}", unit="batch",
                           file=sys.stderr, leave=False, disable=None)  # terminal only
        for start in batches:
            idx = order[start:start + BATCH]
            x, y = train_set.images[idx], train_set.labels[idx]
            dx, dy = (int(v) for v in torch.randint(-2, 3, (2,), generator=gen))
            loss = F.cross_entropy(cim_model(_shift(x, dx, dy, 2)), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total_loss += float(loss.detach()) * len(idx)
        cim_model.eval()
        acc = evaluate(cim_model, test_set.images, test_set.labels, 256)
        say(f"epoch {epoch + 1}/{epochs}: loss {total_loss / n:.4f}, test accuracy (QAT) "
            f"{100 * acc:.2f}% ({time.perf_counter() - t0:.0f} s)")


def _final_accuracy(cim_model, layers, train_set, test_set, cfg):
    """(activation clip values learned by QAT, float and quantized test accuracy); the
    quantized model's remaining ranges are calibrated on train images, never scored ones."""
    cim_model.eval()
    clip = {layer.name: ([1.0, 0.0] if layer.is_image_input else
                         layer.clip_values() if layer.kind == "dynamic_matmul" else
                         [float(layer.amax), float(layer.amin)])
            for layer in layers}
    set_mode(cim_model, "float")
    acc_float = evaluate(cim_model, test_set.images, test_set.labels, 256)
    calibrate_activations(cim_model, layers, train_set.images[:64], cfg, clip)
    set_mode(cim_model, "quant")
    acc_quant = evaluate(cim_model, test_set.images, test_set.labels, 256)
    return clip, acc_float, acc_quant
