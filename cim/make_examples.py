"""Make the shipped example model files from our own trained weights (docs/models.md):

    python -m cim.make_examples

* ``dscnn_fp32.onnx``: the registered ``dscnn`` network with its shipped checkpoint
  (models/checkpoints/dscnn-mnist5k.pt), exported by torch's ONNX exporter;
* ``dscnn_int8.tflite``: the same network quantized to int8 (per-channel weights, activations
  calibrated on the first 256 mnist5k train images) by cim/tflite_export.py.

Then checks both against their reference runtimes on the mnist5k test split (onnxruntime and
the LiteRT interpreter, when installed) and prints the figures docs/models.md quotes.
"""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import torch

import models
from models import checkpoints, datasets

from .tflite_export import export_int8_tflite

#: where the shipped example files live
EXAMPLES = Path(models.__file__).resolve().parent / "examples"

CALIBRATION_IMAGES = 256


def trained_dscnn() -> torch.nn.Module:
    model = models.build("dscnn")
    checkpoints.load_checkpoint(model, checkpoints.default_checkpoint_path("dscnn", "mnist5k"))
    return model.eval()


def write_onnx(model, path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                # the TorchScript exporter's notice
        torch.onnx.export(model, torch.rand(1, 1, 28, 28), str(path), dynamo=False,
                          input_names=["x"], output_names=["logits"],
                          dynamic_axes={"x": {0: "n"}, "logits": {0: "n"}})


def check_onnx(model, path: Path, test) -> None:
    try:
        import onnxruntime
    except ImportError:
        print("onnxruntime not installed: ONNX check skipped")
        return
    out = onnxruntime.InferenceSession(str(path)).run(None, {"x": test.images.numpy()})[0]
    with torch.no_grad():
        ref = model(test.images).numpy()
    acc = float((out.argmax(1) == test.labels.numpy()).mean())
    print(f"{path.name}: onnxruntime vs torch max |diff| {np.abs(out - ref).max():.2e}, "
          f"accuracy {100 * acc:.2f}% on {len(test)} test images")


def check_tflite(path: Path, test) -> None:
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except ImportError:
        print("ai-edge-litert not installed: TFLite check skipped")
        return
    ours = quantized_outputs(path, test.images)
    q = np.round(test.images.permute(0, 2, 3, 1).numpy() * 255).astype(np.int64) - 128
    for kernels, resolver in (("optimized", OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES),
                              ("reference", OpResolverType.BUILTIN_REF)):
        it = Interpreter(model_path=str(path), experimental_op_resolver_type=resolver)
        it.allocate_tensors()
        inp, out = it.get_input_details()[0], it.get_output_details()[0]
        rows = []
        for image in q:
            it.set_tensor(inp["index"], image[None].astype(np.int8))
            it.invoke()
            rows.append(it.get_tensor(out["index"]).astype(np.int64))
        want = np.concatenate(rows)
        acc = float((want.argmax(1) == test.labels.numpy()).mean())
        scale, zero = out["quantization"]
        diff = np.abs(np.round(ours / scale).astype(np.int64) + zero - want)
        print(f"{path.name}: LiteRT ({kernels} kernels) int8 accuracy {100 * acc:.2f}% on "
              f"{len(test)} test images; our import (quantized mode) differs by at most "
              f"{diff.max()} output LSB in {int((diff > 0).sum())} of {diff.size} outputs")


def quantized_outputs(path: Path, images: torch.Tensor) -> np.ndarray:
    """Outputs of the imported .tflite network in step 1's quantized mode (the file's codes)."""
    from cim.convert import convert, set_mode
    from cim.passes import calibrate_activations, ordered_layers
    from contracts.config import HardwareConfig
    from cim.tflite_import import load_tflite
    cim_model, analysis = convert(load_tflite(path)[0])
    layers = ordered_layers(cim_model, analysis)
    calibrate_activations(cim_model, layers, images[:16], HardwareConfig(), None)
    set_mode(cim_model, "quant")
    with torch.no_grad():
        return cim_model(images).double().numpy()


def main() -> int:
    model = trained_dscnn()
    train = datasets.load_dataset("mnist5k", "train", limit=CALIBRATION_IMAGES)
    test = datasets.load_dataset("mnist5k", "test")
    onnx_path, tflite_path = EXAMPLES / "dscnn_fp32.onnx", EXAMPLES / "dscnn_int8.tflite"
    write_onnx(model, onnx_path)
    tflite_path.write_bytes(export_int8_tflite(model, train.images))
    for path in (onnx_path, tflite_path):
        print(f"wrote {path} ({path.stat().st_size / 1024:.1f} KiB)")
    check_onnx(model, onnx_path, test)
    check_tflite(tflite_path, test)
    return 0


if __name__ == "__main__":
    sys.exit(main())
