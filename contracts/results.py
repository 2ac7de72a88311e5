"""The results folder ``results/<net>/`` that both steps write into.

Step 1 writes ``accuracy.json``; step 2 writes ``summary.json``, ``summary.csv``,
``layers.csv``, ``breakdown.csv`` and ``breakdown.png``. Each file names the trace config it
belongs to (``accuracy.json``: ``config_hash``, the config step 1 ran; ``summary.json``:
``trace_config_hash``, the config recorded in the trace it priced). A folder never mixes two
of them: each step, when it rewrites the folder, keeps the other step's files only when they
belong to the same trace config, and says what it dropped (:func:`results_to_keep`).
"""
from __future__ import annotations

from pathlib import Path

from contracts.staging import FolderKind, read_json

__all__ = ["ACCURACY_FILE", "ACCURACY_FORMAT", "SUMMARY_FILE", "SUMMARY_FORMAT", "STEP2_FILES",
           "RESULTS_KIND", "results_to_keep"]

ACCURACY_FILE = "accuracy.json"
ACCURACY_FORMAT = "neuropysim-accuracy"
SUMMARY_FILE = "summary.json"
SUMMARY_FORMAT = "neuropysim-chip-summary"
STEP2_FILES = (SUMMARY_FILE, "summary.csv", "layers.csv", "breakdown.csv", "breakdown.png")
#: keys every step-2 summary.json holds; a summary written before it carried "format"
_SUMMARY_KEYS = ("network", "area_mm2", "tops_per_w", "config_hash", "latency_per_image_ns")
_OURS = frozenset((*STEP2_FILES, ACCURACY_FILE))


def _is_summary(data) -> bool:
    return isinstance(data, dict) and (data.get("format") == SUMMARY_FORMAT
                                       or all(k in data for k in _SUMMARY_KEYS))


def _owned(folder: Path) -> frozenset[str] | None:
    accuracy = read_json(folder / ACCURACY_FILE)
    ours = (isinstance(accuracy, dict) and accuracy.get("format") == ACCURACY_FORMAT) \
        or _is_summary(read_json(folder / SUMMARY_FILE))
    if not ours:
        return None
    return frozenset(name for name in _OURS if (folder / name).exists())


RESULTS_KIND = FolderKind("results", _owned)


def _trace_hash(folder: Path, step: int) -> str | None:
    if step == 1:
        data = read_json(folder / ACCURACY_FILE)
        ok = isinstance(data, dict) and data.get("format") == ACCURACY_FORMAT
        return data.get("config_hash") if ok else None
    data = read_json(folder / SUMMARY_FILE)
    return data.get("trace_config_hash") if _is_summary(data) else None


def results_to_keep(folder: str | Path, writing_step: int,
                    trace_config_hash: str | None) -> tuple[list[str], str | None]:
    """(our files of the other step to carry over, a note on what is dropped or None).

    The other step's files are kept when they belong to ``trace_config_hash``, the trace
    config of what ``writing_step`` (1 or 2) writes now."""
    folder = Path(folder)
    other = 2 if writing_step == 1 else 1
    names = list(STEP2_FILES) if other == 2 else [ACCURACY_FILE]
    present = [n for n in names if (folder / n).is_file()]
    if not present:
        return [], None
    theirs = _trace_hash(folder, other)
    if theirs is not None and theirs == trace_config_hash:
        return present, None
    what = "step 2's chip results" if other == 2 else "step 1's accuracy.json"
    return [], (f"{folder}: {what} (trace config {theirs or 'unknown'}) replaced, they belong "
                f"to another trace config than this one ({trace_config_hash or 'none'})")
