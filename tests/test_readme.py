"""Every command line in README.md runs.

The commands are read from README.md itself: the fenced run command (its ``python`` parts)
and every inline ``python ...`` span, in README order, all in one sandbox folder (so
``python Chip.py`` finds the trace the command before it wrote). A span holding ``...`` is a
synopsis, not a command. A command that would take long on CI runs in the fast variant listed
in FAST (same command, fewer images); a README command the test cannot find in either form
fails the test, so a new command in the README is covered from the day it is written.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: README command -> the arguments added for a CI-fast run (same work, fewer images)
FAST = {
    "python inference_sim.py --set stuck_at_fault_rate=0.01 --monte-carlo 5 --eval-images 300":
        ["--eval-images", "60"],
    # the same points on workers that are threads of one process (no worker start-up)
    "python -m neuropysim.sweep --network lenet5 --network mlp --set operation_mode=parallel "
    "--sweep adc_bits=4,6 --sweep cols_per_adc=4,8 --eval-images 100":
        ["--threads", "--eval-images", "40"],
    "python -m neuropysim.sweep --network lenet5 --set operation_mode=parallel --search 12 "
    "--range adc_bits=3..7 --range cols_per_adc=4,8,16 --eval-images 100 --out results/search":
        ["--threads", "--eval-images", "40"],
    "python inference_sim.py --model dscnn": ["--eval-images", "50"],
    "python -m neuropysim --model lenet5 --preset rram-write-verify --set operation_mode=parallel "
    "--faults 0.01": ["--eval-images", "100"],
    "python inference_sim.py --set operation_mode=parallel --set adc_bits=4 --calibrate all":
        ["--eval-images", "50", "--calibration-images", "128", "--finetune-steps", "5"],
    "python inference_sim.py --model models/examples/dscnn_fp32.onnx --dataset mnist5k":
        ["--eval-images", "50"],
    "python inference_sim.py --model models/examples/dscnn_int8.tflite --dataset mnist5k":
        ["--eval-images", "50"],
}
#: commands that are the test suite itself or set up the environment
NOT_RUN = ("python -m pytest", "python3 -m venv")


def readme_commands(text: str) -> list[str]:
    """The runnable ``python`` commands of the README, in order, without repeats."""
    found: list[str] = []
    run_block = re.search(r"<!-- run-command -->\s*```\n(.*?)\n```", text, re.S)
    if run_block:
        found += [part.strip() for part in run_block.group(1).split("&&")]
    found += re.findall(r"`(python[^`]*)`", text)
    commands = []
    for command in found:
        if not command.startswith("python ") or "..." in command or \
                command.startswith(NOT_RUN) or command in commands:
            continue
        commands.append(command)
    return commands


def test_the_readme_has_the_commands_this_test_expects():
    commands = readme_commands((REPO / "README.md").read_text())
    assert "python inference_sim.py" in commands and "python Chip.py" in commands
    assert commands.index("python inference_sim.py") < commands.index("python Chip.py")
    for command in FAST:
        assert command in commands, f"FAST lists {command!r}, which README.md no longer has"


@pytest.mark.slow
def test_every_readme_command_runs(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", NEUROPYSIM_HOME=str(tmp_path / "home"))
    failures = []
    for command in readme_commands((REPO / "README.md").read_text()):
        args = shlex.split(command)[1:] + FAST.get(command, [])
        if args[0] != "-m":                            # a module runs from the install
            args[0] = str(REPO / args[0])              # the script, run from the sandbox
        # the repository's own files named by the README (models/examples/...)
        args = [str(REPO / a) if "/" in a and (REPO / a).is_file() else a for a in args]
        done = subprocess.run([sys.executable, *args], cwd=tmp_path, env=env, text=True,
                              capture_output=True, timeout=600)
        if done.returncode != 0:
            failures.append(f"{command}: exit {done.returncode}: {done.stderr.strip()[-300:]}")
    assert not failures, "\n".join(failures)
    assert (tmp_path / "results" / "lenet5" / "summary.json").is_file()
