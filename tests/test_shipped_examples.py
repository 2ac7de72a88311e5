"""The shipped examples (docs/models.md §7): the dscnn checkpoint, and the ONNX and .tflite files
that cim/make_examples.py made from it, agree with their reference runtimes and
run through step 1."""
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import torch
from ai_edge_litert.interpreter import Interpreter, OpResolverType

import models
from cim.cli import main
from cim.convert import convert, set_mode
from cim.onnx_import import load_onnx
from cim.passes import calibrate_activations, ordered_layers
from cim.tflite_import import load_tflite
from contracts.config import HardwareConfig
from contracts.trace import read_trace
from models import checkpoints, datasets

EXAMPLES = Path(models.__file__).resolve().parent / "examples"
ONNX, TFLITE = EXAMPLES / "dscnn_fp32.onnx", EXAMPLES / "dscnn_int8.tflite"


@pytest.fixture(scope="module")
def test_images():
    return datasets.load_dataset("mnist5k", "test", limit=40)


def test_shipped_checkpoint_is_small_and_fits_the_registered_network():
    path = checkpoints.default_checkpoint_path("dscnn", "mnist5k")
    assert path.stat().st_size < 64 * 1024 and ONNX.stat().st_size < 64 * 1024
    meta = checkpoints.load_checkpoint(models.build("dscnn"), path)
    assert meta["test_accuracy"]["float"] > 0.95


def test_shipped_onnx_agrees_with_onnxruntime(test_images):
    module, shape = load_onnx(ONNX)
    want = onnxruntime.InferenceSession(str(ONNX)).run(None, {"x": test_images.images.numpy()})[0]
    with torch.no_grad():
        got = module(test_images.images).numpy()
    assert shape == (1, 28, 28) and np.abs(got - want).max() < 1e-4


def test_shipped_tflite_equals_the_reference_interpreter_bit_for_bit(test_images):
    cim, analysis = convert(load_tflite(TFLITE)[0])
    layers = ordered_layers(cim, analysis)
    calibrate_activations(cim, layers, test_images.images[:4], HardwareConfig(), None)
    set_mode(cim, "quant")
    with torch.no_grad():
        ours = cim(test_images.images).double().numpy()
    it = Interpreter(model_path=str(TFLITE),
                     experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    q = np.round(test_images.images.permute(0, 2, 3, 1).numpy() * 255).astype(np.int64) - 128
    want = []
    for image in q:
        it.set_tensor(inp["index"], image[None].astype(np.int8))
        it.invoke()
        want.append(it.get_tensor(out["index"]).astype(np.int64))
    scale, zero = out["quantization"]
    assert np.array_equal(np.round(ours / scale).astype(np.int64) + zero, np.concatenate(want))


@pytest.mark.parametrize("path", [ONNX, TFLITE], ids=["onnx", "tflite"])
def test_shipped_files_run_through_step_1(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)
    assert main(["--model", str(path), "--dataset", "mnist5k", "--eval-images", "20",
                 "--quiet"]) == 0
    trace = read_trace(tmp_path / f"layer_record_{path.stem.upper()}")
    assert [layer.geometry.groups for layer in trace.layers] == [1, 16, 1, 32, 1, 1]
