"""Every bad input of both command lines: exit 2, one line on stderr, no traceback, nothing of
the user's lost, no output and no hidden folder left. Interruptions: exit 130, one line.

Each case builds what it needs in a fresh work folder (the command lines run there), so the
check "nothing written" is: the work folder holds exactly what the case put in it.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import chip.cli
import cim.cli
from chip.synthetic import _linear, write_synthetic_trace
from models import checkpoints

REPO = Path(__file__).resolve().parents[1]


def _config_file(text: str):
    def make(work: Path) -> dict:
        (work / "inferenceConfig.py").write_text(text)
        return {"user_config": work / "inferenceConfig.py"}
    return make


def _trace(work: Path) -> Path:
    return write_synthetic_trace(work / "rec", "tiny", geoms=[_linear("fc", 16, 4)])


def _manifest_edit(change):
    def make(work: Path) -> dict:
        folder = _trace(work)
        manifest = json.loads((folder / "manifest.json").read_text())
        (folder / "manifest.json").write_text(json.dumps(change(manifest, folder)))
        return {"argv": ["--trace", str(folder)]}
    return make


def _random_npz(manifest, folder):
    (folder / manifest["layers"][0]["file"]).write_bytes(np.random.default_rng(0).bytes(512))
    return manifest


def _dac_inputs(manifest, folder):
    manifest["config"]["input_encoding"] = "dac"       # as step 1 records a DAC-input run
    return manifest


def _escape(manifest, folder):
    manifest["layers"][0]["file"] = "../elsewhere"
    (folder.parent / "elsewhere").write_bytes(b"x")
    return manifest


def _bad_checkpoint(work: Path) -> dict:
    (work / "ckpt.pt").write_bytes(b"\x80\x04random pickle bytes")
    return {"argv": ["--checkpoint", str(work / "ckpt.pt")]}


def _as_file(work: Path) -> dict:
    (work / "a_file.txt").write_text("x")
    return {"argv": ["--trace", str(work / "a_file.txt")]}


def _huge_rows_trace(work: Path) -> dict:
    folder = _trace(work)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["config"].update(subarray_rows=65536, subarray_cols=65536)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return {"argv": ["--trace", str(folder)]}


SYNTAX = "HARDWARE = (\n"
MISSPELT = "from contracts.config import HardwareConfig\nHARDWARE = HardwareConfig(adcbits=5)\n"

# case -> (command line, setup(work) -> {"argv": [...], "user_config": path}, message part)
CASES = {
    "step 1: config file syntax error": ("step1", _config_file(SYNTAX), "syntax error"),
    "step 2: config file syntax error": ("step2", _config_file(SYNTAX), "syntax error"),
    "step 1: misspelt config field": ("step1", _config_file(MISSPELT), "did you mean 'adc_bits'"),
    "step 2: misspelt config field": ("step2", _config_file(MISSPELT), "did you mean 'adc_bits'"),
    "step 1: HARDWARE of the wrong type": ("step1", _config_file("HARDWARE = [1]\n"),
                                           "HARDWARE=[1] has type list"),
    "step 2: HARDWARE dict with a bad value": ("step2", _config_file("HARDWARE = {'adc_bits': 0}"
                                                                     "\n"), "adc_bits=0"),
    "step 2: RESULTS_DIR None": ("step2", _config_file("RESULTS_DIR = None\n"),
                                 "RESULTS_DIR=None"),
    "step 2: manifest is a JSON list": ("step2", _manifest_edit(lambda m, f: [m]),
                                        "holds a JSON list"),
    "step 2: manifest layers is a dict": ("step2", _manifest_edit(
        lambda m, f: dict(m, layers={"a": 1})), "'layers' must be a JSON list"),
    "step 2: layer file outside the trace": ("step2", _manifest_edit(_escape),
                                             "must be a plain name inside the trace folder"),
    "step 2: random bytes as a layer file": ("step2", _manifest_edit(_random_npz),
                                             "not a layer file of ours"),
    "step 2: trace given as a file": ("step2", _as_file, "is a file, not a trace folder"),
    "step 1: subarray rows 1e12": ("step1", lambda w: {"argv": ["--set", "subarray_rows=1e12"]},
                                   "subarray_rows=1000000000000 must be <= 65536"),
    "step 2: subarray rows 1e12": ("step2", lambda w: {"argv": ["--trace", str(_trace(w)), "--set",
                                                                "subarray_rows=1e12"]},
                                   "must be <= 65536"),
    "step 2: a trace too large for memory": ("step2", _huge_rows_trace, "GiB available"),
    "step 1: unwritable trace parent": ("step1", lambda w: {"argv": ["--trace-dir",
                                                                     "/proc/neuropysim/t"]},
                                        "trace_dir='/proc/neuropysim/t' cannot be written"),
    "step 1: unwritable results parent": ("step1", lambda w: {"argv": ["--results-dir",
                                                                       "/proc/neuropysim/r"]},
                                          "results_dir='/proc/neuropysim/r' cannot be written"),
    "step 2: unwritable results parent": ("step2", lambda w: {"argv": [
        "--trace", str(_trace(w)), "--out", "/proc/neuropysim/o"]}, "cannot be written"),
    "step 1: results under a file": ("step1", lambda w: (w / "f").write_text("x") and {
        "argv": ["--results-dir", str(w / "f" / "r")]}, "is a file, not a folder"),
    "step 1: bad checkpoint": ("step1", _bad_checkpoint, "not a checkpoint this tool can read"),
    "step 1: data root missing": ("step1", lambda w: {"argv": ["--dataset", "mnist"]},
                                  "--data-root"),
    "step 1: empty network name": ("step1", lambda w: {"argv": ["--network", ""]},
                                   "--network '' is empty"),
    "step 1: unknown config key": ("step1", lambda w: {"argv": ["--set", "adcbits=5"]},
                                   "unknown config key 'adcbits'"),
    "step 2: a trace made with DAC inputs": ("step2", _manifest_edit(_dac_inputs),
                                             "input_encoding='dac' is simulated by step 1 "
                                             "but not priced by step 2"),
    "step 1: FeFET cell": ("step1", lambda w: {"argv": ["--set", "memory_cell=fefet"]},
                           "memory_cell='fefet' is not supported"),
    "step 2: removed field in the config file": ("step2", _config_file(
        "from contracts.config import HardwareConfig\n"
        "HARDWARE = HardwareConfig(read_pulse_width_s=1e-8)\n"),
        "config key 'read_pulse_width_s' was removed"),
    "step 2: unknown quirk": ("step2", lambda w: {"argv": ["--trace", str(_trace(w)), "--set",
                                                           "compat_quirks=nope"]},
                              "unknown quirk 'nope'"),
    "step 1: training onto a shipped checkpoint": (
        "step1", lambda w: {"argv": ["--train", "--epochs", "1", "--checkpoint",
                                     str(checkpoints.default_checkpoint_path("lenet5",
                                                                             "mnist5k"))]},
        "is a shipped checkpoint"),
}


@pytest.fixture(autouse=True)
def in_work_folder(monkeypatch, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)
    return work


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else b"<dir>"
            for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_exits_2_with_one_line(case, in_work_folder, capsys):
    step, setup, message = CASES[case]
    work = in_work_folder
    made = setup(work) or {}
    before = _snapshot(work)
    main = cim.cli.main if step == "step1" else chip.cli.main
    code = main(made.get("argv", []), user_config=made.get("user_config"))
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert code == 2, captured.err
    assert len(lines) == 1 and "error" in lines[0], captured.err
    assert message in lines[0], lines[0]
    assert "Traceback" not in captured.err and captured.out == ""
    assert _snapshot(work) == before                    # nothing written, nothing lost


# --- interruptions: a real process and a real signal -----------------------------------------

def _interrupt(argv: list[str], cwd: Path, after_s: float) -> tuple[int, list[str]]:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, *argv], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(after_s)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    ours = [line for line in err.splitlines() if line.strip() and not line.startswith(
        ("Running cmake", "[0/", "[1/", "[2/", "ninja", "-- "))]      # an editable dev build
    return proc.returncode, ours


@pytest.mark.slow
def test_ctrl_c_during_step_1_imports_is_one_line(in_work_folder):
    code, lines = _interrupt([str(REPO / "inference_sim.py"), "--quiet"], in_work_folder, 0.3)
    assert code == 130 and lines == ["inference_sim.py: interrupted (Ctrl-C); nothing written"]
    assert list(in_work_folder.iterdir()) == []


@pytest.mark.slow
def test_ctrl_c_during_a_parallel_sweep_is_one_line(in_work_folder):
    trace = write_synthetic_trace(in_work_folder / "rec", "vgg8")
    code, lines = _interrupt([str(REPO / "Chip.py"), "--trace", str(trace), "--quiet",
                              "--set", "operation_mode=parallel", "--sweep", "adc_bits=3,4,5,6",
                              "--sweep", "cols_per_adc=4,8,16",
                              # 15 activities to compute (points of one activity share it in
                              # a worker): still running at the signal on a quiet machine
                              "--sweep", "technology_node_nm=22,32,45,65,90",
                              "--sweep", "rows_in_parallel=16,32,64", "-j", "2", "--out", "sw"],
                             in_work_folder, 4.0)
    assert code == 130 and lines == ["interrupted (Ctrl-C); no results written"]
    assert sorted(p.name for p in in_work_folder.iterdir()) == ["rec"]
