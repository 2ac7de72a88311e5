"""The step-1 command line (cim/cli.py via inference_sim.py): good runs and every bad input."""
import json
import struct

import numpy as np
import pytest
import torch
from torch import nn

from cim.cli import main
from models import checkpoints


@pytest.fixture(autouse=True)
def one_thread(monkeypatch, tmp_path):
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)  # the CLI asks for 2
    monkeypatch.chdir(tmp_path)
    yield
    torch.set_num_threads(old)


def _write_idx(folder, n=12, seed=0, train=True):
    """Tiny fake MNIST files in IDX format (test split; the train split too if ``train``)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for stem in ("t10k", "train") if train else ("t10k",):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        (folder / f"{stem}-images-idx3-ubyte").write_bytes(
            struct.pack(">IIII", 0x0803, n, 28, 28) + images.tobytes())
        (folder / f"{stem}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 0x0801, n) +
                                                           labels.tobytes())
    return folder


def test_default_run_prints_three_accuracies_and_writes_the_trace(tmp_path, capsys):
    assert main(["--eval-images", "100"]) == 0
    out = capsys.readouterr().out
    assert "float" in out and "quantized" in out and "hardware" in out
    assert "results/lenet5/accuracy.json" in out
    assert "sense-amplifier reads" in out and "ADC conversions" not in out   # sequential
    assert (tmp_path / "layer_record_LENET5" / "manifest.json").is_file()
    report = json.loads((tmp_path / "results" / "lenet5" / "accuracy.json").read_text())
    assert report["format"] == "neuropysim-accuracy" and report["images"]["evaluated"] == 100
    assert set(report["accuracy"]) == {"float", "quantized", "hardware"}


def test_quiet_prints_nothing_but_errors(tmp_path, capsys):
    # a warning-worthy config: the sequential read does not model the ADC noise
    assert main(["--eval-images", "20", "--quiet", "--set", "adc_noise_lsb=0.5"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert (tmp_path / "results" / "lenet5" / "accuracy.json").is_file()


def test_effects_the_mode_does_not_model_get_one_warning_line(tmp_path, capsys):
    assert main(["--eval-images", "20", "--monte-carlo", "2", "--set", "adc_noise_lsb=0.5",
                 "--set", "wire_resistance_ohm=2"]) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "warning" in line]
    assert len(lines) == 1, err                        # once, though run twice
    assert lines[0].startswith("warning: no effect on the hardware accuracy here: ")
    assert "wire_resistance_ohm=2" in lines[0] and "adc_noise_lsb=0.5" in lines[0]
    assert "UserWarning" not in err


def test_parallel_mode_summary_counts_adc_conversions(tmp_path, capsys):
    assert main(["--eval-images", "10", "--set", "operation_mode=parallel"]) == 0
    captured = capsys.readouterr()
    assert "ADC conversions" in captured.out and "sense-amplifier" not in captured.out
    assert "no effect" not in captured.err


def test_json_output_and_parallel_mode(tmp_path, capsys):
    code = main(["--eval-images", "50", "--json", "--set", "operation_mode=parallel",
                 "--set", "adc_bits=4", "--trace-dir", "tr", "--images", "3"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["config"]["adc_bits"] == 4 and result["traced_images"] == 3
    assert 0.5 < result["accuracy"]["float"] <= 1.0       # the shipped checkpoint is trained
    assert (tmp_path / "tr" / "NetWork.csv").is_file()


def test_synthetic_is_cost_only(tmp_path, capsys):
    assert main(["--network", "mlp", "--dataset", "synthetic"]) == 0
    captured = capsys.readouterr()
    assert "cost-only" in captured.out and "%" not in captured.out
    assert "note: no trained checkpoint for mlp" in captured.err      # seeded init
    assert "--train" not in captured.err         # training on random images is pointless
    report = json.loads((tmp_path / "results" / "mlp" / "accuracy.json").read_text())
    assert report["cost_only"] and report["accuracy"]["hardware"] is None


def test_mnist_idx_files_from_data_root(tmp_path, capsys):
    root = _write_idx(tmp_path / "data")
    assert main(["--dataset", "mnist", "--data-root", str(root), "--quiet", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["eval_images"] == 12
    assert result["calibration"] == {"split": "train", "images": 12, "adc_images": 12}


def test_output_folder_with_user_files_is_refused_and_left_untouched(tmp_path, capsys):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "thesis.tex").write_text("years of work")
    for option in ("--trace-dir", "--results-dir", "--neurosim-export"):
        assert main(["--eval-images", "10", option, str(docs)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("inference_sim.py: error: ") and "\n" not in err
        assert "left untouched" in err
    assert [p.name for p in docs.iterdir()] == ["thesis.tex"]
    assert (docs / "thesis.tex").read_text() == "years of work"
    assert not (tmp_path / "layer_record_LENET5").exists()        # refused before any work


def _bad_checkpoint(tmp_path):
    path = tmp_path / "mlp.pt"
    checkpoints.save_checkpoint(nn.Sequential(nn.Flatten(), nn.Linear(784, 3)), path, {})
    return path


def _empty(tmp_path):
    (tmp_path / "empty").mkdir(exist_ok=True)
    return tmp_path / "empty"


def _user_folder(tmp_path):
    (tmp_path / "mine").mkdir(exist_ok=True)
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    return tmp_path / "mine"


def _broken_idx(tmp_path):
    root = _write_idx(tmp_path / "broken")
    (root / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03 too short")
    return root


BAD = {
    "unknown network": lambda p: ["--network", "alexnet"],
    "unknown dataset": lambda p: ["--dataset", "imagenet"],
    "unknown config key": lambda p: ["--set", "adc_bitz=4"],
    "config value out of range": lambda p: ["--set", "adc_bits=99"],
    "config value of wrong type": lambda p: ["--set", "cell_bits=two"],
    "config choice": lambda p: ["--set", "operation_mode=turbo"],
    "malformed --set": lambda p: ["--set", "adc_bits"],
    "unknown preset": lambda p: ["--preset", "fastest"],
    "data root missing": lambda p: ["--dataset", "mnist", "--data-root", str(p / "nowhere")],
    "data root without files": lambda p: ["--dataset", "mnist", "--data-root", str(_empty(p))],
    "data root without train split": lambda p: ["--dataset", "mnist", "--data-root",
                                                 str(_write_idx(p / "t", train=False))],
    "malformed data file": lambda p: ["--dataset", "mnist", "--data-root", str(_broken_idx(p))],
    "cifar without root": lambda p: ["--network", "vgg8"],
    "image shape mismatch": lambda p: ["--network", "resnet18-cifar", "--dataset", "mnist5k"],
    "checkpoint missing": lambda p: ["--checkpoint", str(p / "none.pt")],
    "checkpoint does not fit": lambda p: ["--checkpoint", str(_bad_checkpoint(p))],
    "images zero": lambda p: ["--images", "0"],
    "eval images too many": lambda p: ["--eval-images", "5000"],
    "negative seed": lambda p: ["--seed", "-1"],
    "epochs without train": lambda p: ["--epochs", "3"],
    "unknown option": lambda p: ["--frobnicate"],
    "one-bit weights": lambda p: ["--set", "weight_bits=1", "--set", "cell_bits=1"],
    "not a finite number": lambda p: ["--set", "r_on_ohm=nan"],
    "trace dir of the user": lambda p: ["--trace-dir", str(_user_folder(p))],
    "results dir with monte carlo": lambda p: ["--monte-carlo", "2", "--results-dir", "r"],
    "not an integer": lambda p: ["--images", "many"],
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line_exit_2_and_writes_nothing(case, tmp_path, capsys):
    work = tmp_path / "work"
    work.mkdir()
    argv = BAD[case](tmp_path)
    import os
    os.chdir(work)
    assert main(argv + ["--quiet"]) == 2
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("inference_sim.py: error: ")
    assert captured.out == ""
    assert list(work.iterdir()) == []                 # no trace folder, no staging folder


def test_help_states_the_calibration_split_with_the_real_counts():
    from cim.adc import ADC_CALIBRATION_IMAGES, CALIBRATION_IMAGES
    from cim.cli import build_parser

    epilog = " ".join(build_parser().epilog.split())
    assert f"first {CALIBRATION_IMAGES} images of the TRAIN split" in epilog
    assert f"(ADC: the first {ADC_CALIBRATION_IMAGES} of them)" in epilog
