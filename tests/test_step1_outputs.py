"""Step 1 outputs and checks: accuracy.json, calibration on the train split, warnings for
settings with no effect in a read mode, functional pools in the manifest, 1-bit precisions."""
from __future__ import annotations

import json
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import cim.run as cim_run
from contracts.config import HardwareConfig
from cim.adc import ADC_CALIBRATION_IMAGES, CALIBRATION_IMAGES
from cim.recorder import followed_by
from cim.run import ineffective_settings, run
from contracts.staging import FolderNotOursError
from contracts.trace import read_trace


class Pools(nn.Module):
    """Functional pools and a signed-input layer (no ReLU before fc)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.fc = nn.Linear(4, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.avg_pool2d(self.conv2(x), kernel_size=(2, 2))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


class Untraceable(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(784, 10)

    def forward(self, x):
        if x.sum() > 0:                         # data-dependent: torch.fx cannot trace it
            x = x.flatten(1)
        return self.fc(x)


def test_accuracy_report_is_written_atomically(tmp_path):
    folder = tmp_path / "results" / "lenet5"
    result = run(HardwareConfig(), network="lenet5", dataset="mnist5k", eval_images=20,
                 trace_dir=tmp_path / "t", results_dir=folder)
    assert result.accuracy_file == folder / "accuracy.json"
    report = json.loads(result.accuracy_file.read_text())
    assert report["format"] == "neuropysim-accuracy" and report["schema_version"] == 1
    assert report["network"] == "lenet5" and report["dataset"]["name"] == "mnist5k"
    assert report["images"] == {"evaluated": 20, "traced": 1}
    assert report["accuracy"] == result.accuracy and report["config_hash"] == \
        HardwareConfig().config_hash()
    assert report["timings_s"]["total"] > 0 and report["calibration"]["split"] == "train"
    assert [p.name for p in folder.iterdir()] == ["accuracy.json"]      # no temporary left


def test_accuracy_report_refuses_a_user_folder_before_any_work(tmp_path, monkeypatch):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notes.txt").write_text("mine")
    monkeypatch.setattr(cim_run, "evaluate", lambda *a, **k: pytest.fail("work started"))
    with pytest.raises(FolderNotOursError, match="^results_dir="):
        run(HardwareConfig(), network="lenet5", dataset="mnist5k", eval_images=20,
            trace_dir=tmp_path / "t", results_dir=docs)
    assert [p.name for p in docs.iterdir()] == ["notes.txt"] and not (tmp_path / "t").exists()


def test_calibration_uses_the_train_split_not_the_scored_images(monkeypatch, tmp_path):
    from models import datasets

    seen = {}
    real_calibrate, real_program = cim_run.calibrate_activations, cim_run.program

    def calibrate(model, layers, calib, *args):
        seen["activations"] = calib.clone()
        return real_calibrate(model, layers, calib, *args)

    def program(model, layers, cfg, seed, calib, batch):
        seen["program"] = calib.clone()
        return real_program(model, layers, cfg, seed, calib, batch)

    monkeypatch.setattr(cim_run, "calibrate_activations", calibrate)
    monkeypatch.setattr(cim_run, "program", program)
    cfg = HardwareConfig(operation_mode="parallel", adc_bits=5)
    result = run(cfg, network="lenet5", dataset="mnist5k", eval_images=10, write_trace=False)
    train = datasets.load_dataset("mnist5k", "train").images[:CALIBRATION_IMAGES]
    assert torch.equal(seen["activations"], train) and torch.equal(seen["program"], train)
    test = datasets.load_dataset("mnist5k", "test").images
    # no calibration image is a scored image
    flat_test = test.flatten(1)
    for image in train.flatten(1):
        assert not (flat_test == image).all(1).any()
    assert result.calibration == {"split": "train", "images": CALIBRATION_IMAGES,
                                  "adc_images": ADC_CALIBRATION_IMAGES}


def test_ineffective_settings_name_the_fields_and_why():
    assert ineffective_settings(HardwareConfig()) is None
    seq = HardwareConfig(wire_resistance_ohm=1.5, adc_gain_error=-0.1, read_noise_sigma=0.1,
                         adc_bits=4)
    note = ineffective_settings(seq)
    assert note.startswith("warning: no effect on the hardware accuracy here: ")
    assert "adc_bits=4, adc_gain_error=-0.1, wire_resistance_ohm=1.5 (operation_mode=" \
           "'sequential'" in note and "read_noise_sigma" not in note
    assert ineffective_settings(seq.replace(operation_mode="parallel")) is None


def test_run_reports_the_ineffective_settings_once_as_a_line():
    lines = []
    result = run(HardwareConfig(adc_inl_lsb=0.5), network="lenet5", dataset="mnist5k",
                 eval_images=10, write_trace=False, warn=lines.append)
    assert lines == [line for line in result.warnings]
    assert [line for line in lines if "adc_inl_lsb=0.5 (operation_mode='sequential'" in line]


def test_functional_pools_are_recorded_like_module_pools(tmp_path):
    assert followed_by(Pools()) == {"conv1": ("relu", "maxpool2x2"),
                                    "conv2": ("avgpool2x2", "globalavgpool"), "fc": ()}
    run(HardwareConfig(), network=Pools(), dataset="synthetic", input_shape=(1, 8, 8),
        trace_dir=tmp_path / "t")
    layers = {g.geometry.name: g.geometry for g in read_trace(tmp_path / "t").layers}
    assert layers["conv1"].followed_by == ("relu", "maxpool2x2")
    assert layers["conv2"].followed_by == ("avgpool2x2", "globalavgpool")
    # the same network with modules records the same steps
    module_net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2))
    assert followed_by(module_net) == {"0": ("relu", "maxpool2x2")}


def test_python_warnings_become_result_lines(tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run(HardwareConfig(), network=Untraceable(), dataset="synthetic",
                     input_shape=(1, 28, 28), trace_dir=tmp_path / "t")
    assert not [w for w in caught if "torch.fx" in str(w.message)]
    assert [w for w in result.warnings if w.startswith("warning: torch.fx cannot trace")]


def test_one_bit_activations_signed_inputs_are_refused_before_the_passes(monkeypatch):
    real = cim_run.evaluate

    def evaluate(model, images, labels, batch, desc="", progress=False):
        assert desc == "", f"the {desc} pass ran before the check"
        return real(model, images, labels, batch, desc, progress)

    monkeypatch.setattr(cim_run, "evaluate", evaluate)
    torch.manual_seed(0)       # weights whose fc inputs take both signs (unseeded, a draw
    # with every channel mean positive left nothing to refuse: a flaky failure)
    with pytest.raises(ValueError, match=r"^activation_bits=1 cannot represent the signed "
                                         r"inputs of layer\(s\) fc"):
        run(HardwareConfig(activation_bits=1), network=Pools(), dataset="synthetic",
            input_shape=(1, 8, 8), write_trace=False)


def test_one_bit_unsigned_activations_work_end_to_end(tmp_path):
    result = run(HardwareConfig(activation_bits=1), network="lenet5", dataset="mnist5k",
                 eval_images=20, trace_dir=tmp_path / "t")
    assert result.accuracy["quantized"] == result.accuracy["hardware"]   # exact sequential read
    trace = read_trace(tmp_path / "t")
    assert all(layer.input_codes.max() <= 1 for layer in trace.layers)


def test_a_long_pass_announces_its_duration_once(monkeypatch):
    """A pass projected beyond ANNOUNCE_AFTER_S says so once, after its first batches."""
    import torch

    import cim.passes as passes
    monkeypatch.setattr(passes, "ANNOUNCE_AFTER_S", 0.0)     # every pass counts as long
    said = []
    model = torch.nn.Linear(4, 2)
    acc = passes.evaluate(model, torch.zeros(10, 4), torch.zeros(10, dtype=torch.long), 3,
                          desc="hardware", announce=said.append)
    assert acc is not None and len(said) == 1
    assert said[0].startswith("note: the hardware pass over 10 images will take about ")
    monkeypatch.setattr(passes, "ANNOUNCE_AFTER_S", 1e9)     # a short pass says nothing
    said.clear()
    passes.evaluate(model, torch.zeros(10, 4), None, 3, desc="hardware", announce=said.append)
    assert said == []


def test_sequential_statistics_leave_out_the_unused_reference_column():
    """Sequential reads subtract the offset digitally; no cell holds the reference column, so
    LeNet-5's 61,470 weights x 8 one-bit cells fill 42 sub-arrays of 128 x 128 (as step 2
    maps them), and every row read senses only the data columns (review: 492,539 cells in 44
    sub-arrays were counted)."""
    result = run(HardwareConfig(), network="lenet5", eval_images=4, write_trace=False)
    s = result.statistics
    assert s["cells_used"] == s["writes"] == 61_470 * 8
    assert s["subarrays"] == 42
    assert s["utilization"] == pytest.approx(491_760 / (42 * 128 * 128))
    assert s["per_image"]["sense_amp_reads"] == 26_657_280
