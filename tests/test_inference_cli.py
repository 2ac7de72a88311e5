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


def _write_idx(folder, n=12, seed=0):
    """Tiny fake MNIST test files in IDX format."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "t10k-images-idx3-ubyte").write_bytes(
        struct.pack(">IIII", 0x0803, n, 28, 28) + images.tobytes())
    (folder / "t10k-labels-idx1-ubyte").write_bytes(struct.pack(">II", 0x0801, n) +
                                                    labels.tobytes())
    return folder


def test_default_run_prints_three_accuracies_and_writes_the_trace(tmp_path, capsys):
    assert main(["--eval-images", "100", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "float" in out and "quantized" in out and "hardware" in out
    assert (tmp_path / "layer_record_LENET5" / "manifest.json").is_file()


def test_json_output_and_parallel_mode(tmp_path, capsys):
    code = main(["--eval-images", "50", "--json", "--set", "operation_mode=parallel",
                 "--set", "adc_bits=4", "--trace-dir", "tr", "--images", "3"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["config"]["adc_bits"] == 4 and result["traced_images"] == 3
    assert 0.5 < result["accuracy"]["float"] <= 1.0       # the shipped checkpoint is trained
    assert (tmp_path / "tr" / "NetWork.csv").is_file()


def test_synthetic_is_cost_only(tmp_path, capsys):
    assert main(["--network", "mlp", "--dataset", "synthetic", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "cost-only" in captured.out and "%" not in captured.out
    assert "warning" in captured.err                   # seeded init, no checkpoint


def test_mnist_idx_files_from_data_root(tmp_path, capsys):
    root = _write_idx(tmp_path / "data")
    assert main(["--dataset", "mnist", "--data-root", str(root), "--quiet", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["eval_images"] == 12


def _bad_checkpoint(tmp_path):
    path = tmp_path / "mlp.pt"
    checkpoints.save_checkpoint(nn.Sequential(nn.Flatten(), nn.Linear(784, 3)), path, {})
    return path


def _empty(tmp_path):
    (tmp_path / "empty").mkdir(exist_ok=True)
    return tmp_path / "empty"


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
