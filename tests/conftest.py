"""Shared test settings: one torch thread per test (2 shared cores), a sandbox for command-line
tests, where ../shared lives, and when a test that cannot run may skip.

Skip policy (``cannot_run``): a test may skip only because of what a user's clone lacks:
../shared absent altogether, or the compiled ``from_neurosim.FormulaBindings`` not built
(outside CI), or an optional package absent (outside CI). With ../shared present a missing
file under it fails; with the bindings built, circuit models that are still unavailable
fail; ``NEUROPYSIM_CI=1`` (set by .ci/run) turns every skip but the first kind into a failure."""
from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"


CI_ENV = "NEUROPYSIM_CI"
CAUSES = ("shared", "bindings", "module")


def in_ci(environ=None) -> bool:
    """True when ``NEUROPYSIM_CI=1`` (.ci/run sets it); unset or 0: a developer's run."""
    value = (os.environ if environ is None else environ).get(CI_ENV, "").strip()
    if value not in ("", "0", "1"):
        raise ValueError(f"{CI_ENV}={value!r}: allowed are 1 (CI) and 0 or unset (not CI)")
    return value == "1"


def bindings_built() -> bool:
    """Whether the compiled formula engine ``from_neurosim.FormulaBindings`` imports."""
    try:
        from from_neurosim import FormulaBindings  # noqa: F401
    except ImportError:
        return False
    return True


def cannot_run_outcome(cause: str, *, ci: bool, shared_present: bool,
                       built: bool) -> str:
    """"skip" or "fail" for a test that cannot run because of ``cause``:
    "shared" (a file under ../shared is missing), "bindings" (the circuit models are
    unavailable: PhysicsUnavailable, a kernel missing from the compiled module), "module" (an
    optional Python package is not installed)."""
    if cause == "shared":      # a user's clone has no ../shared; a checkout that has it is whole
        return "fail" if shared_present else "skip"
    if cause == "bindings":    # only a missing build excuses it, and never in CI
        return "skip" if not built and not ci else "fail"
    if cause == "module":      # CI installs every extra the tests use
        return "fail" if ci else "skip"
    raise ValueError(f"cause={cause!r}: allowed are {', '.join(CAUSES)}")


def cannot_run(cause: str, reason: str) -> None:
    """Skip or fail the running test (``cannot_run_outcome`` decides), saying why."""
    outcome = cannot_run_outcome(cause, ci=in_ci(), shared_present=SHARED_DIR.is_dir(),
                                 built=bindings_built())
    if outcome == "skip":
        pytest.skip(reason)
    pytest.fail(f"{reason} (a skip is allowed only in a user's clone; see tests/conftest.py)",
                pytrace=False)


def pytest_configure(config):
    """A bad NEUROPYSIM_CI value stops the run at once, naming it."""
    try:
        in_ci()
    except ValueError as err:
        raise pytest.UsageError(str(err)) from None


def shared_path(*parts: str) -> Path:
    """A path under ../shared; when it is missing the test skips if ../shared is absent
    (a user's clone) and fails if ../shared is present (the developers' checkout, CI)."""
    path = SHARED_DIR.joinpath(*parts)
    if not path.exists():
        cannot_run("shared", f"{path} not present: ../shared exists only in the developers' "
                             f"checkout and CI, not in a user's clone")
    return path


def importorskip(name: str):
    """``pytest.importorskip`` that fails in CI (CI installs the test extra)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        cannot_run("module", f"{name} is not installed")


def weights_and_inputs(rows: int = 300, outs: int = 12, vectors: int = 24, signed: bool = False,
                       seed: int = 3):
    """Random 8-bit weight codes (rows x outs) and 8-bit input codes (vectors x rows)."""
    import torch
    gen = torch.Generator().manual_seed(seed)
    w = torch.randint(-128, 128, (rows, outs), generator=gen)
    lo, hi = (-128, 128) if signed else (0, 256)
    return w, torch.randint(lo, hi, (vectors, rows), generator=gen)


def read_crossbar(cfg, w, x, seed: int = 0, bits: int = 8):
    """(crossbar, outputs) of unsigned ``bits``-bit inputs ``x`` on weights ``w`` programmed
    with ``seed``; a parallel array gets its full-scale (or configured) ADC first."""
    import torch
    from cim.crossbar import Crossbar
    xb = Crossbar(w, cfg, torch.Generator().manual_seed(seed))
    if xb.parallel:
        xb.set_adc(bits, False)
    return xb, xb.matmul(x, bits, False)


@pytest.fixture(autouse=True)
def one_thread():
    """Every test on one torch thread (2 shared cores), restored afterwards."""
    try:
        import torch
    except ImportError:  # step-2-only environments
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture
def cli_sandbox(monkeypatch, tmp_path):
    """For tests that run the step-1 command line: it may not change the thread count (it
    asks for 2), and it writes its files into a fresh folder."""
    import torch
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)
    monkeypatch.chdir(tmp_path)
    return tmp_path
