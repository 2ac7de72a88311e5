"""The results folder of an exploration: one CSV row per point, appended as points finish, so
that a re-run resumes where a crash or Ctrl-C left off.

    OUT/exploration.json   what was explored (format, columns, axes, objectives): marks the
                           folder as ours (a folder holding other files is refused) and makes
                           a re-run with other columns fail instead of mixing tables
    OUT/points.csv         header + one line per finished point (its key in ``point``)
    OUT/pareto.csv         the points on the Pareto front, per network   (written at the end)
    OUT/points.png         the plot                                       (written at the end)
    OUT/traces/            step-1 traces the workers kept (neuropysim.evaluate)

Safety: exploration.json and points.csv's header are written atomically
(contracts.staging.write_text_atomic); each row is one ``write`` of a whole line to the file
opened for appending, flushed and fsync'ed before the next point is taken. A crash can leave
at most a partial last line; opening the store drops it (that point runs again, once). So a
finished point is never lost and never run twice; a point that failed is kept with its error
and not retried unless asked (``retry_failed``): its new row then replaces the old one.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path
from typing import Any, Iterable, Sequence

from contracts.staging import FolderNotOursError, json_kind, read_json, check_replaceable
from contracts.staging import write_text_atomic

__all__ = ["ResultStore", "EXPLORATION_FORMAT", "EXPLORATION_KIND", "row_columns"]

EXPLORATION_FORMAT = "neuropysim-exploration"
_FILES = ("exploration.json", "points.csv", "pareto.csv", "points.png", "traces")
EXPLORATION_KIND = json_kind("exploration", "exploration.json", "format", EXPLORATION_FORMAT,
                             files=lambda meta: _FILES)


def row_columns(axes: Sequence[str]) -> list[str]:
    """The columns of points.csv for these swept fields (fixed, so rows can be appended)."""
    from chip.sweep import SWEEP_METRICS
    from neuropysim.evaluate import ACCURACY_COLUMNS
    return ["point", "network", *axes, "status", "error", *ACCURACY_COLUMNS, "accuracy_from",
            *SWEEP_METRICS, "no_effect", "activity_model", "step1_key", "step1_s",
            "step2_s", "wall_s", "worker"]


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


class ResultStore:
    """points.csv of ``folder`` for ``columns``; ``meta``: what exploration.json records."""

    def __init__(self, folder: str | os.PathLike, columns: Sequence[str],
                 meta: dict[str, Any] | None = None):
        self.folder = Path(folder)
        self.columns = list(columns)
        self.path = self.folder / "points.csv"
        check_replaceable(self.folder, EXPLORATION_KIND, what="out")
        self._open_marker(meta or {})
        self.rows: dict[str, dict[str, str]] = {}
        self._load()

    def _open_marker(self, meta: dict[str, Any]) -> None:
        marker = self.folder / "exploration.json"
        old = read_json(marker)
        if isinstance(old, dict) and old.get("format") == EXPLORATION_FORMAT:
            if old.get("columns") != self.columns:
                raise FolderNotOursError(
                    f"out={str(self.folder)!r} holds the results of an exploration with other "
                    f"columns ({', '.join(old.get('columns') or [])}); to resume it, sweep the "
                    f"same fields; else choose a new --out")
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        write_text_atomic(marker, json.dumps({"format": EXPLORATION_FORMAT,
                                              "columns": self.columns, **meta}, indent=2) + "\n")

    def _load(self) -> None:
        """Read the rows written so far (a partial last line, left by a crash, is dropped)."""
        if not self.path.exists():
            write_text_atomic(self.path, self._line(dict(zip(self.columns, self.columns))))
            return
        text = self.path.read_text()
        if text and not text.endswith("\n"):
            text = text[:text.rfind("\n") + 1]
            write_text_atomic(self.path, text)
        reader = csv.DictReader(io.StringIO(text))
        if reader.fieldnames != self.columns:
            raise FolderNotOursError(f"{str(self.path)!r} has the columns "
                                     f"{reader.fieldnames}, not {self.columns}; choose a new --out")
        for row in reader:
            self.rows[row["point"]] = row        # a later row of a point replaces an earlier

    def _line(self, row: dict[str, Any]) -> str:
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerow([_text(row.get(c)) for c in self.columns])
        return out.getvalue()

    def done(self, retry_failed: bool = False) -> set[str]:
        """Keys of the points that need no run (with ``retry_failed``: the failed ones do)."""
        return {key for key, row in self.rows.items()
                if not (retry_failed and row.get("status") != "ok")}

    def append(self, row: dict[str, Any]) -> None:
        """Add one finished point's row to points.csv, durably, before returning."""
        unknown = sorted(set(row) - set(self.columns))
        if unknown:
            raise ValueError(f"row has columns not in points.csv: {', '.join(unknown)}")
        line = self._line(row).encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, line)              # one write of the whole line
            os.fsync(fd)
        finally:
            os.close(fd)
        self.rows[str(row["point"])] = {c: _text(row.get(c)) for c in self.columns}

    def table(self, keys: Iterable[str] | None = None):
        """The rows (of ``keys``, default all) as a pandas DataFrame, figures as numbers."""
        import pandas as pd
        rows = list(self.rows.values()) if keys is None else \
            [self.rows[k] for k in keys if k in self.rows]
        frame = pd.DataFrame(rows, columns=self.columns)
        for column in frame.columns:
            converted = pd.to_numeric(frame[column], errors="coerce")
            blank = frame[column].isin(["", None])
            if converted[~blank].notna().all():
                frame[column] = converted
        return frame
