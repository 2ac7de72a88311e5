"""TFLite int8 import (cim.tflite_import): outputs agree with the LiteRT interpreter within one
output LSB (bit for bit with its reference kernels up to the softmax), codes are kept as they
are, unsupported operators are listed at once, and a .tflite file runs through step 1."""
import numpy as np
import pytest
import torch
from ai_edge_litert.interpreter import Interpreter, OpResolverType
from PIL import Image
from torch import nn

from cim.cli import main
from cim.convert import UnsupportedLayerError, convert, set_mode
from cim.passes import calibrate_activations, ordered_layers, program
from cim.tflite_import import load_tflite
from contracts.config import HardwareConfig
from contracts.trace import read_trace
from cim.tflite_export import TFLiteWriter, export_int8_tflite


class Every(nn.Module):
    """CONV_2D (RELU), DEPTHWISE_CONV_2D (SAME with more padding after, stride 2, RELU6),
    ADD, MAX_POOL_2D, AVERAGE_POOL_2D, RESHAPE, FULLY_CONNECTED (RELU_N1_TO_1, NONE),
    SOFTMAX once exported."""

    def __init__(self):
        super().__init__()
        self.c1, self.r1 = nn.Conv2d(2, 6, 3, padding=1), nn.ReLU()
        self.pad = nn.ZeroPad2d((0, 1, 0, 1))
        self.dw, self.r2 = nn.Conv2d(6, 6, 3, stride=2, groups=6), nn.ReLU6()
        self.pw = nn.Conv2d(6, 6, 1)
        self.pool, self.avg = nn.MaxPool2d(2), nn.AvgPool2d(2)
        self.flat, self.fc, self.h = nn.Flatten(), nn.Linear(6, 5), nn.Hardtanh(-1.0, 1.0)
        self.fc2, self.sm = nn.Linear(5, 4), nn.Softmax(-1)

    def forward(self, x):
        y = self.r2(self.dw(self.pad(self.r1(self.c1(x)))))
        y = y + self.pw(y)
        y = self.avg(self.pool(y))
        return self.sm(self.fc2(self.h(self.fc(self.flat(y)))))


@pytest.fixture(scope="module")
def every(tmp_path_factory):
    torch.manual_seed(0)
    flat = export_int8_tflite(Every(), torch.rand(32, 2, 8, 8))
    path = tmp_path_factory.mktemp("tfl") / "every.tflite"
    path.write_bytes(flat)
    return path


def _litert(path, q: np.ndarray, resolver, tensor: str | None = None):
    """(output codes, scale, zero point) of the interpreter, or of the named tensor."""
    it = Interpreter(model_path=str(path), experimental_op_resolver_type=resolver,
                     experimental_preserve_all_tensors=tensor is not None)
    it.allocate_tensors()
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    if tensor is not None:
        out = next(d for d in it.get_tensor_details() if d["name"] == tensor)
    rows = []
    for image in q:
        it.set_tensor(inp["index"], image[None].astype(np.int8))
        it.invoke()
        rows.append(it.get_tensor(out["index"]).astype(np.int64))
    scale, zero = out["quantization"]
    return np.concatenate(rows), scale, zero


@pytest.mark.parametrize("cfg", [HardwareConfig(), HardwareConfig(
    operation_mode="parallel", adc_bits=8, rows_in_parallel=8, adc_range="full_scale")],
    ids=["sequential", "parallel"])
def test_outputs_agree_with_litert_within_one_lsb(every, cfg):
    module, shape = load_tflite(every)
    assert shape == (2, 8, 8)
    cim, analysis = convert(module)
    layers = ordered_layers(cim, analysis)
    assert [layer.inner.groups if layer.kind != "linear" else 1 for layer in layers] == \
        [1, 6, 1, 1, 1]
    assert analysis.followed_by[layers[1].name] == ("relu6",)
    q = torch.randint(-128, 128, (60, 8, 8, 2), generator=torch.Generator().manual_seed(1))
    x = ((q + 128).double() / 255).permute(0, 3, 1, 2).float()    # the input grid 1/255, -128
    calibrate_activations(cim, layers, x[:4], cfg, None)
    program(cim, layers, cfg, 0, x[:4], 64)
    logits = {}
    cim.get_submodule("requant_16").register_forward_hook(
        lambda m, i, o: logits.__setitem__("fc2", o))
    exact, _, _ = _litert(every, q.numpy(), OpResolverType.BUILTIN_REF, tensor="fc2")
    for resolver in (OpResolverType.BUILTIN_REF, OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES):
        want, scale, zero = _litert(every, q.numpy(), resolver)
        for mode in ("quant", "hw"):
            set_mode(cim, mode)
            with torch.no_grad():
                got = np.round(cim(x).double().numpy() / scale).astype(np.int64) + zero
            diff = np.abs(got - want)
            assert diff.max() <= 1 and (diff > 0).mean() < 0.03, (resolver, mode, diff.max())
            # up to the softmax, every operator equals the reference kernels bit for bit
            grid = cim.get_submodule("requant_16").grid
            codes = np.round(logits["fc2"].double().numpy() / grid.scale) + grid.zero_point
            assert np.array_equal(codes.astype(np.int64), exact), mode


def test_file_codes_scales_and_zero_points_are_used_as_they_are(every):
    import tflite
    module, _ = load_tflite(every)
    conv = module.get_submodule("dwconv_5")
    model = tflite.Model.GetRootAsModel(every.read_bytes(), 0)
    sub = model.Subgraphs(0)
    names = [sub.Tensors(i).Name().decode() for i in range(sub.TensorsLength())]
    filt = sub.Tensors(names.index("dw/filter"))
    raw = model.Buffers(filt.Buffer()).DataAsNumpy().view(np.int8).reshape(1, 3, 3, 6)
    fixed = conv.cim_quantization
    assert np.array_equal(fixed.weight_codes.numpy(), raw[0].transpose(2, 0, 1)[:, None])
    assert np.allclose(fixed.weight_scale.numpy(), filt.Quantization().ScaleAsNumpy())
    src = sub.Tensors(names.index("r1"))
    assert (fixed.input_scale, fixed.input_zero_point) == \
        (pytest.approx(src.Quantization().Scale(0)), src.Quantization().ZeroPoint(0))


def test_every_unsupported_operator_is_listed_at_once(tmp_path):
    w = TFLiteWriter()
    x = w.tensor("x", [1, 4], 9, scale=0.1, zero_point=0)
    a = w.tensor("a", [1, 4], 9, scale=0.1, zero_point=0)
    b = w.tensor("b", [1, 4], 9, scale=0.1, zero_point=0)
    c = w.tensor("c", [1, 4], 9, scale=0.1, zero_point=0)
    f = w.tensor("f", [3, 4], 0, np.ones((3, 4), np.float32))
    d = w.tensor("d", [1, 3], 9, scale=0.1, zero_point=0)
    w.op("TANH", [x], [a])
    w.op("LOGISTIC", [x], [b])
    w.op("ADD", [x, x], [c], ("AddOptions", dict(FusedActivationFunction=4)))
    w.op("FULLY_CONNECTED", [c, f, -1], [d], ("FullyConnectedOptions", {}))
    (tmp_path / "bad.tflite").write_bytes(w.to_bytes([x], [d]))
    with pytest.raises(UnsupportedLayerError) as err:
        load_tflite(tmp_path / "bad.tflite")
    assert str(err.value).startswith(
        "bad.tflite: unsupported TFLite operators: TANH (operator 0); LOGISTIC (operator 1); "
        "ADD with fused activation 4 (only NONE, RELU, RELU6, RELU_N1_TO_1) (operator 2). "
        "Supported: ")
    # a float model is refused for what it is
    w.ops = [w.ops[3]]
    w.ops[0] = (w.ops[0][0], [x, f, -1], [d], w.ops[0][3])
    (tmp_path / "float.tflite").write_bytes(w.to_bytes([x], [d]))
    with pytest.raises(UnsupportedLayerError, match=r"FULLY_CONNECTED with weights that are not "
                                                    r"constant int8"):
        load_tflite(tmp_path / "float.tflite")


def test_tflite_file_through_step_1_with_an_image_folder(tmp_path, monkeypatch, every):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)
    gen = np.random.default_rng(0)
    for split in ("train", "test"):
        for label in range(4):
            pixels = gen.integers(0, 256, (8, 8, 3), dtype=np.uint8)
            folder = tmp_path / "imgs" / split / str(label)
            folder.mkdir(parents=True)
            Image.fromarray(pixels[..., :2].mean(-1).astype(np.uint8)).save(folder / "a.png")
    # 1-channel images for a 2-channel network: one clear error, nothing written
    assert main(["--model", str(every), "--dataset", "imgs", "--quiet"]) == 2
    np.savez(tmp_path / "two.npz", x=gen.integers(0, 256, (3, 2, 8, 8), dtype=np.uint8),
             y=np.array([0, 3, 1]))
    assert main(["--model", str(every), "--dataset", "two.npz", "--images", "2",
                 "--quiet"]) == 0
    trace = read_trace(tmp_path / "layer_record_EVERY")
    first, fc = trace.layers[0], trace.layers[3]
    assert first.input_zero_point == -128 and first.geometry.input_signed
    assert first.weight_scale.shape == (6,) and isinstance(fc.weight_scale, float)
    assert trace.layers[1].geometry.groups == 6 and trace.layers[1].geometry.input_hw == (9, 9)
