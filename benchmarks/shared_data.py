"""Where the benchmarks find ../shared (NeuroSim's own VGG-8 trace and output): present in
the developers' checkout and in CI, not in a user's clone. A benchmark that needs it says so
in one line and exits 0 (skipped), so the README's commands run anywhere."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = ROOT.parent / "shared"


def require(path: Path, what: str) -> None:
    """Exit 0 with one line when ``path`` (under --shared) is missing."""
    if not Path(path).exists():
        print(f"skipped: {what} needs {path} (NeuroSim's own VGG-8 trace and output, in the "
              f"developers' checkout and CI only); pass --shared DIR if you have a copy",
              file=sys.stderr)
        raise SystemExit(0)
