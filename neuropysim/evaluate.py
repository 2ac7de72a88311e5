"""What a worker runs: step 1 of a point's network (accuracy and trace) and step 2 of a point
(the chip's figures), each returning plain data, never raising for a bad point.

Step 1 writes its trace into the worker's trace cache (``<cache>/<network>-<step1 key>/``,
written atomically by cim.run; a worker that finds the folder reads it instead of running
step 1 again), else into a temporary folder it removes. The trace goes to the points that
need it as a result of the step-1 task (Dask moves it to their worker), so the workers need
no shared file system. A step-1 failure becomes an error row of each of its points.
"""
from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chip.sweep import SWEEP_METRICS, cached_trace, estimate_point
from contracts.config import HardwareConfig
from contracts.exits import one_line

__all__ = ["Step1Result", "run_step1", "run_step2", "error_row", "ACCURACY_COLUMNS"]

#: accuracy figures of a row (fractions in [0, 1]; empty when not measured)
ACCURACY_COLUMNS = ("accuracy", "accuracy_float", "accuracy_quantized")

#: one step-1 run at a time per process: torch.fx's tracing (cim.convert) patches torch's
#: module call while it runs, and the thread setting is process-wide, so workers that are
#: threads of one process (LocalCluster(processes=False)) take turns
_STEP1_LOCK = threading.Lock()


@dataclass
class Step1Result:
    """A step-1 run: its accuracy (None: cost-only data) and trace, or its error."""

    key: str
    accuracy: dict | None = None
    trace: Any = None
    seconds: float = 0.0
    reused: bool = False
    error: str | None = None


def _worker_name() -> str:
    try:
        from distributed import get_worker
        return get_worker().address
    except (ImportError, ValueError):
        return f"{socket.gethostname()}:{os.getpid()}"


def _accuracy_of(manifest_accuracy: dict | None) -> dict | None:
    if not manifest_accuracy or manifest_accuracy.get("hardware") is None:
        return None
    return {k: manifest_accuracy.get(k) for k in ("hardware", "float", "quantized")}


def run_step1(task: dict) -> Step1Result:
    """Step 1 of a point's network at its config (see module docstring)."""
    t0 = time.perf_counter()
    key = task["key"]
    folder = Path(task["cache"]) / f"{task['network']}-{key}" if task.get("cache") else None
    scratch = None
    try:
        from contracts.trace import read_trace
        if folder is not None and (folder / "manifest.json").is_file():
            trace = read_trace(folder)
            return Step1Result(key, _accuracy_of(trace.manifest.get("accuracy")), trace,
                               time.perf_counter() - t0, reused=True)
        if folder is None:
            scratch = Path(tempfile.mkdtemp(prefix="neuropysim-step1-"))
            folder = scratch / "trace"
        import torch
        from cim.run import run
        with _STEP1_LOCK:
            torch.set_num_threads(max(1, int(task.get("threads", 1))))
            result = run(HardwareConfig.from_dict(task["config"]), network=task["network"],
                         dataset=task["dataset"], eval_images=task["eval_images"],
                         images=task["images"], seed=task["seed"], trace_dir=folder)
        trace = read_trace(folder)
        accuracy = None if result.is_synthetic else {k: result.accuracy.get(k) for k in
                                                       ("hardware", "float", "quantized")}
        return Step1Result(key, accuracy, trace, time.perf_counter() - t0)
    except Exception as err:          # recorded in the rows of its points; the sweep goes on
        return Step1Result(key, seconds=time.perf_counter() - t0,
                           error=f"step 1: {type(err).__name__}: {one_line(err)}")
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _trace_accuracy(trace, config: HardwareConfig) -> dict | None:
    """A trace folder's recorded accuracy, when the point computes what the trace did."""
    from neuropysim.space import accuracy_signature
    recorded = trace.manifest.get("config") or {}
    try:
        theirs = accuracy_signature(HardwareConfig.from_dict(recorded))
    except (ValueError, TypeError):
        return None
    if theirs != accuracy_signature(config):
        return None
    return _accuracy_of(trace.manifest.get("accuracy"))


def error_row(task: dict, message: str, step1_s: float = 0.0) -> dict[str, Any]:
    """The row of a point that failed: its identity, ``status`` error and the message."""
    return {"point": task["key"], "network": task["network"], **task["values"],
            "status": "error", "error": message, "no_effect": task["no_effect"],
            "activity_model": task["activity"], "step1_key": task["step1_key"] or "",
            "config_hash": HardwareConfig.from_dict(task["config"]).config_hash(),
            "step1_s": step1_s, "worker": _worker_name()}


#: the row key run_step2 adds for the client: whether the point's step-1 trace was read from
#: the trace cache rather than computed (Runner.finished removes it before the row is stored)
STEP1_REUSED = "_step1_reused"


def run_step2(task: dict, step1: Step1Result | None) -> dict[str, Any]:
    """One point's row: its values, accuracy, SWEEP_METRICS and times (or an error row)."""
    t0 = time.perf_counter()
    step1_s = step1.seconds if step1 is not None else 0.0
    if step1 is not None:
        # for the client's count of step-1 runs (a trace read from the cache is not one);
        # not a column: Runner.finished takes it off the row
        reused = {STEP1_REUSED: bool(step1.reused)}
        if step1.error:
            return {**error_row(task, step1.error, step1_s), **reused}
        return {**_step2_row(task, step1, step1_s, t0), **reused}
    return _step2_row(task, None, step1_s, t0)


def _step2_row(task: dict, step1: Step1Result | None, step1_s: float, t0: float
               ) -> dict[str, Any]:
    try:
        config = HardwareConfig.from_dict(task["config"])
        if step1 is not None:
            trace, accuracy, source = step1.trace, step1.accuracy, "step1"
        else:
            trace = cached_trace(task["trace"])
            accuracy, source = _trace_accuracy(trace, config), "trace"
        figures = estimate_point(trace, config, task["activity"])
    except Exception as err:
        return error_row(task, f"step 2: {type(err).__name__}: {one_line(err)}", step1_s)
    step2_s = time.perf_counter() - t0
    accuracy = accuracy or {}
    return {"point": task["key"], "network": task["network"], **task["values"],
            "status": "ok", "error": "",
            "accuracy": accuracy.get("hardware"), "accuracy_float": accuracy.get("float"),
            "accuracy_quantized": accuracy.get("quantized"),
            "accuracy_from": source if accuracy else "",
            **{k: figures[k] for k in SWEEP_METRICS},
            "no_effect": task["no_effect"], "activity_model": task["activity"],
            "step1_key": task["step1_key"] or "", "step1_s": step1_s, "step2_s": step2_s,
            "wall_s": step1_s + step2_s, "worker": _worker_name()}
