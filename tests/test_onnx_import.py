"""ONNX import (cim.onnx_import): the converted module agrees with onnxruntime, every
unsupported operator is listed at once, and an .onnx file runs through step 1."""
import warnings

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper
from torch import nn

from cim.cli import main
from cim.convert import UnsupportedLayerError, analyse
from cim.onnx_import import load_onnx
from contracts.trace import read_trace


class Mixed(nn.Module):
    """Every operator kind the walker converts, as torch's exporter writes them."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False)
        self.pw = nn.Conv2d(8, 8, 1)
        self.side = nn.Conv2d(8, 4, 1)
        self.pool = nn.MaxPool2d(2)
        self.avg = nn.AvgPool2d(2)
        self.fc = nn.Linear(12 * 2 * 2, 16)
        self.out = nn.Linear(16, 5)

    def forward(self, x):
        y = F.relu(self.bn(self.stem(x)))
        y = y + self.pw(F.relu6(self.dw(y)))
        y = self.pool(y)
        y = torch.cat([y, self.side(y)], dim=1)
        y = self.avg(y)
        y = F.relu(self.fc(y.reshape(y.shape[0], -1)))
        return torch.softmax(self.out(y), dim=-1)


def _export(model, shape, path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), torch.rand(1, *shape), str(path), dynamo=False,
                          input_names=["x"], dynamic_axes={"x": {0: "n"}})
    return path


@pytest.fixture(scope="module")
def mixed_onnx(tmp_path_factory):
    torch.manual_seed(0)
    model = Mixed()
    model.bn.running_mean.uniform_(-0.5, 0.5)
    model.bn.running_var.uniform_(0.5, 2.0)
    return model, _export(model, (3, 8, 8), tmp_path_factory.mktemp("onnx") / "mixed.onnx")


def test_converted_module_agrees_with_onnxruntime(mixed_onnx):
    model, path = mixed_onnx
    module, shape = load_onnx(path)
    assert shape == (3, 8, 8)
    x = torch.rand(16, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    want = onnxruntime.InferenceSession(str(path)).run(None, {"x": x.numpy()})[0]
    with torch.no_grad():
        got = module(x).numpy()
        original = model(x).numpy()
    assert np.abs(got - want).max() < 1e-5 and np.abs(original - want).max() < 1e-5
    # the converted graph uses the modules cim.convert knows: it passes the layer check
    analysis = analyse(module)
    assert len(analysis.compute) == 6 and analysis.followed_by[analysis.compute[0]] == ("relu",)


def _node_graph(nodes, inits=()):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    return helper.make_model(helper.make_graph(nodes, "g", [x], [y], list(inits)))


def test_every_unsupported_operator_is_listed_at_once(tmp_path):
    w = helper.make_tensor("w", TensorProto.FLOAT, [2, 2, 3, 3], [0.1] * 36)
    nodes = [helper.make_node("Sigmoid", ["x"], ["a"], name="gate"),
             helper.make_node("Conv", ["x", "w"], ["b"], name="skewed", pads=[0, 0, 1, 1]),
             helper.make_node("Relu", ["b"], ["c"], name="ok"),
             helper.make_node("LSTM", ["c"], ["d"], name="rnn"),
             helper.make_node("Add", ["a", "d"], ["y"], name="join")]
    onnx.save(_node_graph(nodes, [w]), tmp_path / "bad.onnx")
    with pytest.raises(UnsupportedLayerError) as err:
        load_onnx(tmp_path / "bad.onnx")
    text = str(err.value)
    assert text.startswith("bad.onnx: unsupported ONNX operators: Sigmoid (node 0 'gate'); "
                           "Conv with asymmetric pads [0, 0, 1, 1] (node 1 'skewed'); "
                           "LSTM (node 3 'rnn'). Supported: ")


def test_onnx_file_through_step_1_with_an_npz_data_set(tmp_path, monkeypatch, mixed_onnx):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)
    gen = np.random.default_rng(0)
    np.savez(tmp_path / "data.npz", x=gen.integers(0, 256, (6, 3, 8, 8), dtype=np.uint8),
             y=gen.integers(0, 5, 6), x_train=gen.random((4, 3, 8, 8)),
             y_train=gen.integers(0, 5, 4))
    assert main(["--model", str(mixed_onnx[1]), "--dataset", "data.npz", "--images", "2",
                 "--set", "operation_mode=parallel", "--quiet"]) == 0
    trace = read_trace(tmp_path / "layer_record_MIXED")
    assert [layer.geometry.groups for layer in trace.layers] == [1, 8, 1, 1, 1, 1]
    assert trace.layers[0].input_codes.shape == (2, 3, 8, 8)
    assert trace.manifest["dataset"]["name"] == "data.npz"
