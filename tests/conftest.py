"""Shared test settings: one torch thread per test (2 shared cores), a sandbox for command-line
tests, and where ../shared lives."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test with the reason when it is absent."""
    path = SHARED_DIR.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not present: ../shared exists only in the developers' checkout "
                    f"and CI, not in a user's clone")
    return path


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
