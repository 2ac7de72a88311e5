"""The skip policy of tests/conftest.py: which tests that cannot run may skip, and that CI
(.ci/run, NEUROPYSIM_CI=1) turns every skip but a user's missing ../shared into a failure."""
from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

import conftest
from conftest import cannot_run_outcome, in_ci

REPO = Path(__file__).resolve().parents[1]


def _expected(cause: str, ci: bool, shared_present: bool, built: bool) -> str:
    """The policy written out case by case, independently of its implementation."""
    if cause == "shared":
        return "fail" if shared_present else "skip"          # CI without ../shared: skip
    if cause == "bindings":
        return "skip" if (not built and not ci) else "fail"
    return "fail" if ci else "skip"                            # "module"


@pytest.mark.parametrize("cause,ci,shared_present,built", list(itertools.product(
    ("shared", "bindings", "module"), (False, True), (False, True), (False, True))))
def test_outcome_table(cause, ci, shared_present, built):
    got = cannot_run_outcome(cause, ci=ci, shared_present=shared_present, built=built)
    assert got == _expected(cause, ci, shared_present, built)


def test_ci_never_skips_for_bindings_or_modules():
    for cause, shared, built in itertools.product(("bindings", "module"), (0, 1), (0, 1)):
        assert cannot_run_outcome(cause, ci=True, shared_present=bool(shared),
                                  built=bool(built)) == "fail"


def test_unavailable_physics_skips_only_without_the_build():
    assert cannot_run_outcome("bindings", ci=False, shared_present=True, built=False) == "skip"
    assert cannot_run_outcome("bindings", ci=False, shared_present=True, built=True) == "fail"


def test_unknown_cause_refused():
    with pytest.raises(ValueError, match=r"cause='physics': allowed are shared, bindings, module"):
        cannot_run_outcome("physics", ci=False, shared_present=False, built=True)


@pytest.mark.parametrize("value,want", [(None, False), ("", False), ("0", False), ("1", True),
                                        (" 1 ", True)])
def test_in_ci_reads_the_variable(value, want):
    env = {} if value is None else {"NEUROPYSIM_CI": value}
    assert in_ci(env) is want


@pytest.mark.parametrize("value", ["yes", "true", "2"])
def test_in_ci_refuses_other_values(value):
    with pytest.raises(ValueError, match=rf"NEUROPYSIM_CI='{value}': allowed are 1"):
        in_ci({"NEUROPYSIM_CI": value})


def test_shared_path_skips_without_shared_fails_with_it(tmp_path, monkeypatch):
    monkeypatch.setattr(conftest, "SHARED_DIR", tmp_path / "absent")
    with pytest.raises(pytest.skip.Exception, match="not present"):
        conftest.shared_path("neurosim-vgg8", "x.csv")
    present = tmp_path / "shared"
    (present / "neurosim-vgg8").mkdir(parents=True)
    (present / "neurosim-vgg8" / "there.csv").write_text("1")
    monkeypatch.setattr(conftest, "SHARED_DIR", present)
    assert conftest.shared_path("neurosim-vgg8", "there.csv").read_text() == "1"
    with pytest.raises(pytest.fail.Exception, match="x.csv not present"):
        conftest.shared_path("neurosim-vgg8", "x.csv")


def test_cannot_run_follows_the_environment(monkeypatch):
    monkeypatch.setattr(conftest, "bindings_built", lambda: False)
    monkeypatch.setenv("NEUROPYSIM_CI", "0")
    with pytest.raises(pytest.skip.Exception, match="kernel gone"):
        conftest.cannot_run("bindings", "kernel gone")
    monkeypatch.setenv("NEUROPYSIM_CI", "1")
    with pytest.raises(pytest.fail.Exception, match="kernel gone"):
        conftest.cannot_run("bindings", "kernel gone")
    with pytest.raises(pytest.fail.Exception, match="no_such_package_xyz is not installed"):
        conftest.importorskip("no_such_package_xyz")


def test_ci_script_sets_the_variable_before_the_readme_command():
    script = (REPO / ".ci" / "run").read_text()
    export = re.search(r"^export NEUROPYSIM_CI=1$", script, re.M)
    run = re.search(r'^bash -c .*\$cmd', script, re.M)
    assert export and run and export.start() < run.start()
