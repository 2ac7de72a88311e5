"""Figures of one golden case: estimate, write the result files, read every figure back.

A case's figures are two flat maps:

- ``scalars``: every numeric field of summary.json (nested dicts flattened with ``.``,
  list items as ``[i]``; strings are not figures), every numeric column of layers.csv per
  layer (``layers[<layer>].<column>``), and breakdown.csv summed per (layer, category,
  metric) (``breakdown.by_category[<layer>/<category>/<metric>]``);
- ``multisets`` (sorted lists, compared as bags): breakdown.csv summed per (layer, level,
  metric), one value per level without its name (``breakdown.level_sums[<layer>/<metric>]``),
  and every value of breakdown.csv per (layer, metric) (``breakdown.values[...]``).

Breakdown values are converted to the report's field units (mm2, ns, pJ, uW) and summed
with math.fsum, so the sums do not depend on row order, and nothing depends on component or
level names: renaming a node of the cost tree or a level changes no recorded figure;
changing a value, or moving a node to another category or level, does.
"""
from __future__ import annotations

import csv
import gzip
import io
import json
import math
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from tests.golden import api
from tests.golden.cases import NEUROSIM, SEED, Case

RECORDED_DIR = Path(__file__).resolve().parent / "recorded"
SHARED_DIR = api.REPO_ROOT.parent / "shared"
NEUROSIM_TRACE = SHARED_DIR / "neurosim-vgg8" / "layer_record_VGG8.tar.xz"
RTOL = 1e-9
ATOL = 1e-15       # in field units (mm2, ns, pJ, uW, ...): only exact zeros rely on it
# breakdown.csv unit (SI) -> (field unit, factor)
FIELD_UNITS = {"m2": ("mm2", 1e6), "s": ("ns", 1e9), "J": ("pJ", 1e12), "W": ("uW", 1e6)}


# --- traces --------------------------------------------------------------------------------
class TraceCache:
    """Traces read once per session: synthetic ones written to a temporary folder and read
    back (the path Chip.py takes), NeuroSim's VGG-8 from its shipped archive."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="golden-traces-")
        self._traces: dict[tuple[str, int], Any] = {}

    def get(self, source: str, seed: int = SEED):
        key = (source, seed)
        if key not in self._traces:
            if source == NEUROSIM:
                self._traces[key] = api.read_neurosim(str(NEUROSIM_TRACE))
            else:
                folder = Path(self._tmp.name) / f"layer_record_{source}_seed{seed}"
                api.write_synthetic_trace(folder, source, images=1, input_sparsity=0.5,
                                          seed=seed)
                self._traces[key] = api.read_trace(folder)
        return self._traces[key]

    def close(self) -> None:
        self._traces.clear()
        self._tmp.cleanup()


# --- figures of the result files -----------------------------------------------------------
def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


#: what the summary records about where its config came from: provenance, not estimates
_PROVENANCE = ("summary.changed_from_trace", "summary.trace_accuracy")


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    """Numeric leaves (and booleans/None, compared exactly) of a JSON value."""
    if prefix in _PROVENANCE:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}", v, out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _flatten(f"{prefix}[{i}]", v, out)
    elif value is None or isinstance(value, bool) or _is_number(value):
        out[prefix] = value


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _layer_figures(rows: list[dict[str, str]], out: dict[str, Any]) -> None:
    for row in rows:
        for column, text in row.items():
            value = _number(text) if column != "layer" else None
            if value is not None:
                out[f"layers[{row['layer']}].{column}"] = value


def _breakdown_figures(rows: list[dict[str, str]], scalars: dict[str, Any],
                       multisets: dict[str, list[float]]) -> None:
    by_category: dict[str, list[float]] = {}
    by_level: dict[str, list[float]] = {}
    values: dict[str, list[float]] = {}
    for row in rows:
        unit, factor = FIELD_UNITS[row["unit"]]
        metric = f"{row['metric']}_{unit}"
        value = float(row["value"]) * factor
        layer = row["layer"]
        by_category.setdefault(f"{layer}/{row['category']}/{metric}", []).append(value)
        by_level.setdefault(f"{layer}/{row['level']}/{metric}", []).append(value)
        values.setdefault(f"{layer}/{metric}", []).append(value)
    for key, vals in by_category.items():
        scalars[f"breakdown.by_category[{key}]"] = math.fsum(vals)
    level_sums: dict[str, list[float]] = {}
    for key, vals in by_level.items():     # the level's name is not kept: it may be renamed
        layer, _, metric = key.rsplit("/", 2)
        level_sums.setdefault(f"{layer}/{metric}", []).append(math.fsum(vals))
    for kind, groups in (("level_sums", level_sums), ("values", values)):
        for key, vals in groups.items():
            multisets[f"breakdown.{kind}[{key}]"] = sorted(vals)


def figures_of_results(folder: Path) -> dict[str, dict]:
    """Figures of summary.json, layers.csv and breakdown.csv in ``folder``."""
    scalars: dict[str, Any] = {}
    multisets: dict[str, list[float]] = {}
    _flatten("summary", json.loads((folder / "summary.json").read_text()), scalars)
    _layer_figures(_read_csv(folder / "layers.csv"), scalars)
    _breakdown_figures(_read_csv(folder / "breakdown.csv"), scalars, multisets)
    return {"scalars": scalars, "multisets": multisets}


def run_case(case: Case, traces: TraceCache) -> dict[str, dict]:
    """Estimate ``case``, write its result files as Chip.py does, return their figures."""
    trace = traces.get(case.source)
    updated = traces.get(case.source, case.updated_seed) if case.updated_seed is not None \
        else None
    with warnings.catch_warnings():      # a case prices the trace on another config on purpose
        warnings.simplefilter("ignore", api.ProvenanceWarning)
        report = api.estimate(trace, case.config(), updated_trace=updated)
    with tempfile.TemporaryDirectory(prefix="golden-results-") as tmp:
        folder, _ = api.write_results(report, Path(tmp) / "results", plot=False)
        return figures_of_results(folder)


# --- recordings ----------------------------------------------------------------------------
def recording_path(case: Case, directory: Path = RECORDED_DIR) -> Path:
    return directory / f"{case.file_stem}.json.gz"


def save(case: Case, figures: dict[str, dict], directory: Path = RECORDED_DIR) -> Path:
    """Write the recording (gzip without a timestamp: identical figures, identical bytes)."""
    payload = {"case": case.spec(), "scalars": figures["scalars"],
               "multisets": figures["multisets"]}
    text = json.dumps(payload, indent=0, sort_keys=True) + "\n"
    path = recording_path(case, directory)
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as gz:
        gz.write(text.encode())
    path.write_bytes(buffer.getvalue())
    return path


def load(path: Path) -> dict[str, dict]:
    with gzip.open(path, "rt") as fh:
        return json.load(fh)


# --- comparison ----------------------------------------------------------------------------
class _Missing:
    """Marks a figure absent on one side (None is a figure: a non-finite summary value)."""

    def __repr__(self) -> str:
        return "missing"


MISSING = _Missing()


@dataclass(frozen=True)
class Mismatch:
    """One figure that differs: ``old`` is MISSING when it is new, ``new`` when it is gone."""

    figure: str
    old: Any
    new: Any

    @property
    def relative(self) -> float:
        if not (_is_number(self.old) and _is_number(self.new)):
            return math.inf
        if self.old == 0:
            return 0.0 if self.new == 0 else math.inf
        return (self.new - self.old) / abs(self.old)

    def line(self) -> str:
        if self.old is MISSING:
            return f"{self.figure}: not in the recording, now {self.new!r}"
        if self.new is MISSING:
            return f"{self.figure}: recorded {self.old!r}, now missing"
        rel = self.relative
        change = f"{rel:+.3e}" if math.isfinite(rel) else "from zero"
        return f"{self.figure}: {self.old!r} -> {self.new!r} (relative {change})"


def close(old: Any, new: Any) -> bool:
    if _is_number(old) and _is_number(new):
        if old == new or (math.isnan(old) and math.isnan(new)):
            return True            # also equal infinities
        diff = abs(new - old)
        return diff <= RTOL * max(abs(old), abs(new)) or diff <= ATOL
    return type(old) is type(new) and old == new


def _multiset_mismatches(name: str, old: list[float], new: list[float]) -> list[Mismatch]:
    """Values of one sorted multiset without a match in the other, paired in order."""
    only_old, only_new = [], []
    i = j = 0
    while i < len(old) and j < len(new):
        if close(old[i], new[j]):
            i, j = i + 1, j + 1
        elif old[i] < new[j]:
            only_old.append(old[i])
            i += 1
        else:
            only_new.append(new[j])
            j += 1
    only_old += old[i:]
    only_new += new[j:]
    out = [Mismatch(f"{name} value", o, n) for o, n in zip(only_old, only_new)]
    out += [Mismatch(f"{name} value", o, MISSING) for o in only_old[len(only_new):]]
    out += [Mismatch(f"{name} value", MISSING, n) for n in only_new[len(only_old):]]
    return out


def compare(old: dict[str, dict], new: dict[str, dict]) -> list[Mismatch]:
    """Every figure of ``new`` that differs from ``old`` (relative RTOL, absolute ATOL)."""
    out: list[Mismatch] = []
    a, b = old["scalars"], new["scalars"]
    for key in ordered(set(a) | set(b)):
        if key not in b or key not in a or not close(a[key], b[key]):
            out.append(Mismatch(key, a.get(key, MISSING), b.get(key, MISSING)))
    a, b = old["multisets"], new["multisets"]
    for key in ordered(set(a) | set(b)):
        out += _multiset_mismatches(key, a.get(key, []), b.get(key, []))
    return out


def ordered(keys: Iterable[str]) -> list[str]:
    """summary first, then layers, then breakdown; alphabetical within each."""
    rank = {"summary": 0, "layers": 1, "breakdown": 2}
    return sorted(keys, key=lambda k: (rank.get(k.split(".")[0].split("[")[0], 3), k))


def format_mismatches(case_name: str, mismatches: list[Mismatch]) -> str:
    head = (f"{case_name}: {len(mismatches)} figure(s) differ from the recording "
            f"(relative tolerance {RTOL:g}); if the change is intended, re-record with "
            f"`python tests/golden/record.py --only '{case_name}'` and list the changed "
            f"figures in the commit message")
    return "\n".join([head] + [f"  {m.line()}" for m in mismatches])
