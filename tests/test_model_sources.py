"""One model argument for every source (cim.model_sources, contracts.model_spec): registered
names case-insensitively, auto-discovered files, file.py:factory, and their errors; end to end
through step 1 from the command line."""
import json

import pytest
import torch

import models
from cim.cli import main
from cim.model_sources import parse_input_shape, resolve_model
from contracts.model_spec import model_name, parse_model_spec
from contracts.trace import read_trace

NET_PY = '''
from torch import nn
INPUT_SHAPE = (1, 8, 8)
DATASET = "synthetic"

def small():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, groups=1), nn.ReLU(),
                         nn.Conv2d(4, 4, 3, padding=1, groups=4), nn.ReLU(),
                         nn.Flatten(), nn.Linear(4 * 8 * 8, 3))

def no_module():
    return 42

def broken():
    raise RuntimeError("no weights here")

def shaped():
    net = nn.Sequential(nn.Flatten(), nn.Linear(12, 2))
    net.input_shape = (3, 2, 2)
    return net
'''


@pytest.fixture(autouse=True)
def sandbox(monkeypatch, tmp_path):
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)  # the CLI asks for 2
    monkeypatch.chdir(tmp_path)
    (tmp_path / "net.py").write_text(NET_PY)


@pytest.mark.parametrize("text, kind, name", [
    ("VGG8", "registered", "vgg8"), ("ResNet18-CIFAR", "registered", "resnet18-cifar"),
    ("a/b/net.py:small", "python", "net-small"), ("m.ONNX", "onnx", "m"),
    ("x/model.tflite", "tflite", "model")])
def test_model_argument_forms_and_short_names(text, kind, name):
    spec = parse_model_spec(text)
    assert (spec.kind, spec.name) == (kind, name) and model_name(text) == name


def test_registered_names_are_case_insensitive_and_files_auto_register():
    assert models.get_spec("VGG8").name == "vgg8" and models.canonical_name("LeNet5") == "lenet5"
    # models/dscnn.py registers itself: no other file names it
    assert "dscnn" in models.names() and models.get_spec("DSCNN").input_shape == (1, 28, 28)
    source = resolve_model("DsCnn")
    assert (source.name, source.kind, source.module) == ("dscnn", "registered", None)


def test_python_factory_with_its_input_shape_and_dataset():
    source = resolve_model("net.py:small")
    assert source.input_shape == (1, 8, 8) and source.default_dataset == "synthetic"
    assert resolve_model("net.py:shaped").input_shape == (3, 2, 2)       # module attribute
    assert resolve_model("net.py:small", "1,8,8").input_shape == (1, 8, 8)


@pytest.mark.parametrize("text, shape, message", [
    ("alexnet", None, r"^network='alexnet' is unknown; choose from: mlp, lenet5"),
    ("net.py", None, r"^model='net.py' names a Python file without a factory"),
    ("net.py:nothere", None, r"^model='net.py:nothere': net.py has no function 'nothere' "
                             r"\(it defines: .*small"),
    ("net.py:no_module", None, r"^model='net.py:no_module': no_module\(\) returned int, not"),
    ("net.py:broken", None, r"^model='net.py:broken': broken\(\) raised RuntimeError: no "),
    ("net.py:1bad", None, r"^model='net.py:1bad' names factory '1bad', which is not"),
    ("missing.onnx", None, r"^model='missing.onnx': file 'missing.onnx' does not exist"),
    ("dir/model.h5", None, r"^model='dir/model.h5' is not a .py, .onnx or .tflite file"),
    ("net.py:small", "3,x", r"^input_shape='3,x' is invalid; use 1 to 3 comma-separated"),
    ("net.py:small", "0,8,8", r"^input_shape='0,8,8' is invalid"),
    ("net.py:small", "1,2,3,4", r"^input_shape='1,2,3,4' is invalid"),
    ("vgg8", "1,28,28", r"^input_shape=1,28,28 does not apply to the registered network"),
])
def test_bad_model_arguments_get_one_clear_error(text, shape, message):
    with pytest.raises(ValueError, match=message):
        resolve_model(text, shape)


def test_bad_file_content_is_an_error(tmp_path):
    (tmp_path / "bad.py").write_text("import not_a_module_anywhere\n")
    with pytest.raises(ValueError, match=r"^model file 'bad.py' cannot be imported: "
                                         r"ModuleNotFoundError"):
        resolve_model("bad.py:f")
    (tmp_path / "bad.onnx").write_bytes(b"not onnx at all")
    with pytest.raises(ValueError, match=r"^bad.onnx is not a readable ONNX file"):
        resolve_model("bad.onnx")
    (tmp_path / "bad.tflite").write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match=r"^bad.tflite is not a readable TFLite flatbuffer"):
        resolve_model("bad.tflite")


def test_parse_input_shape():
    assert parse_input_shape("3, 224,224") == (3, 224, 224) and parse_input_shape(None) is None
    assert parse_input_shape((2, 16)) == (2, 16)


def test_python_factory_end_to_end_from_the_command_line(tmp_path, capsys):
    assert main(["--model", "net.py:small", "--images", "2", "--quiet"]) == 0
    trace = read_trace(tmp_path / "layer_record_NET-SMALL")
    assert [layer.geometry.groups for layer in trace.layers] == [1, 4, 1]
    assert trace.layers[1].weight_codes.shape == (4, 1, 3, 3)          # each group its block
    report = json.loads((tmp_path / "results" / "net-small" / "accuracy.json").read_text())
    assert report["network"] == "net-small" and report["cost_only"]


def test_network_is_an_alias_and_names_are_case_insensitive_on_the_command_line(tmp_path,
                                                                               capsys):
    assert main(["--network", "MLP", "--eval-images", "10", "--quiet"]) == 0
    assert (tmp_path / "layer_record_MLP" / "manifest.json").is_file()
    assert (tmp_path / "results" / "mlp" / "accuracy.json").is_file()


@pytest.mark.parametrize("argv, message", [
    (["--model", "net.py:small", "--input-shape", "1,9"],
     "network='net-small' cannot run on dataset='synthetic''s inputs 1x9: RuntimeError"),
    (["--model", "nothing_here"], "network='nothing_here' is unknown"),
    (["--model", "net.py:small", "--train"], "--train applies to registered networks"),
])
def test_command_line_errors_are_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
