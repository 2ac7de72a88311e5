"""Cost-only step 1 (cim.cost_only): synthetic data or --no-accuracy records the trace from one
float forward, builds no crossbar, and the trace runs through step 2; MobileNetV2 (torchvision's
definition, small width and input) through both steps."""
from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from chip.estimator import estimate
from cim.cli import main
from cim.run import run
from contracts.trace import read_trace
from models.mobilenetv2 import MobileNetV2, make_divisible


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 4, 3, padding=1)
        self.act = nn.Hardswish()
        self.dw = nn.Conv2d(4, 4, 3, padding=1, groups=4)
        self.fc = nn.Linear(4 * 6 * 6, 3)

    def forward(self, x):
        return self.fc(torch.relu(self.dw(self.act(self.c1(x)))).flatten(1))


def test_cost_only_codes_are_the_float_activations_on_each_layers_grid(tmp_path, monkeypatch):
    built = []
    import cim.layers
    original = cim.layers.CIMLayer.program
    monkeypatch.setattr(cim.layers.CIMLayer, "program",
                        lambda self, *a, **k: built.append(self.name) or original(self, *a, **k))
    torch.manual_seed(0)
    net = Small().eval()
    result = run(network=net, dataset="synthetic", input_shape=(1, 6, 6), images=3,
                 trace_dir=tmp_path / "t", seed=0)
    assert built == []                                     # no crossbar programmed at all
    assert result.cost_only and result.accuracy == {"float": None, "quantized": None,
                                                    "hardware": None}
    assert set(result.timings_s) >= {"calibrate", "record", "trace"}
    trace = read_trace(tmp_path / "t")
    assert trace.manifest["accuracy"]["cost_only"] is True
    from models import datasets
    x = datasets.load_dataset("synthetic", "test", synthetic_shape=(1, 6, 6),
                              synthetic_count=3, seed=0).images
    assert (trace.layers[0].input_codes == torch.round(x * 255).numpy()).all()
    with torch.no_grad():
        h = net.act(net.c1(x))
    # the depthwise layer's input: the float activations on its grid (clip = their maximum
    # over the calibration images, which for synthetic data are the traced ones)
    dw = trace.layers[1]
    amax, amin = float(h.max()), float(h.min())
    assert amin < 0 and dw.geometry.input_signed                  # Hardswish dips below 0
    scale = max(amax, -amin) / 127
    assert dw.input_scale == pytest.approx(scale)
    expected = torch.round(h / scale).clamp(-128, 127).to(torch.int32).numpy()
    assert (dw.input_codes == expected).all()
    assert dw.geometry.groups == 4 and dw.geometry.followed_by == ("relu",)
    assert trace.layers[0].geometry.followed_by == ("hardswish",)


def test_no_accuracy_on_real_data_scores_nothing_and_says_so(cli_sandbox, capsys):
    assert main(["--model", "lenet5", "--no-accuracy", "--images", "2"]) == 0
    out = capsys.readouterr().out
    assert "accuracy: not measured - --no-accuracy, cost-only run" in out
    trace = read_trace(cli_sandbox / "layer_record_LENET5")
    acc = trace.manifest["accuracy"]
    assert acc["cost_only"] is True and acc["eval_images"] == 0 and acc["hardware"] is None
    assert trace.manifest["dataset"]["name"] == "mnist5k" and trace.layers[0].images == 2
    report = json.loads((cli_sandbox / "results" / "lenet5" / "accuracy.json").read_text())
    assert report["cost_only"] is True and report["accuracy"]["float"] is None


@pytest.mark.parametrize("extra", [["--monte-carlo", "2"], ["--train"]])
def test_no_accuracy_with_an_accuracy_only_mode_is_one_error_line(cli_sandbox, capsys, extra):
    assert main(["--model", "mlp", "--no-accuracy", *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--no-accuracy does not apply" in err[0]


def test_mobilenetv2_small_runs_through_both_steps(tmp_path):
    net = MobileNetV2(num_classes=10, width_mult=0.25)
    assert make_divisible(32 * 0.25) == 8 and make_divisible(1280 * 1.0) == 1280
    result = run(network=net, dataset="synthetic", input_shape=(3, 32, 32), images=1,
                 trace_dir=tmp_path / "mb", seed=0)
    layers = result.layers
    # stem + 17 inverted residuals (16 with an expansion) x (dw + project) + last conv + fc
    assert len(layers) == 1 + 16 * 3 + 2 + 1 + 1
    depthwise = [la for la in layers if la["groups"] > 1]
    assert len(depthwise) == 17
    assert all(la["groups"] == la["in_channels"] == la["out_channels"] for la in depthwise)
    assert all(la["followed_by"] == ["batchnorm", "relu6"] for la in depthwise)
    report = estimate(tmp_path / "mb")
    frame = report.layers.set_index("layer")
    assert len(frame) == len(layers)
    # each depthwise layer: its channels packed 14 to a 128 x 128 sub-array (9 rows x 8 cells
    # each), one copy of the weights in ceil(C / 14) sub-arrays
    for la in depthwise:
        assert frame.loc[la["name"], "arrays_per_copy"] == -(-la["groups"] // 14)
    assert report.summary["tops_per_w"] > 0 and report.summary["area_mm2"] > 0


def test_torchvision_networks_have_torchvision_parameter_counts():
    import models
    # torchvision.models.resnet50() and mobilenet_v2(): 25,557,032 and 3,504,872 parameters;
    # mobilenet_v2(width_mult=0.5): 1,968,680
    counts = {name: sum(p.numel() for p in models.build(name).parameters())
              for name in ("resnet50", "mobilenetv2")}
    assert counts == {"resnet50": 25_557_032, "mobilenetv2": 3_504_872}
    assert sum(p.numel() for p in MobileNetV2(1000, 0.5).parameters()) == 1_968_680
    with pytest.raises(ValueError, match="width_mult"):
        MobileNetV2(10, 0)
