"""The Dask back end: a client on a local cluster (default) or on a running scheduler, and the
evaluation of points on it, step 1 once per step-1 key and step 2 per point.

    with open_client(scheduler=None, workers=2) as client:
        runner = Runner(client, trace_cache="results/explore/traces")
        for point in points:
            runner.submit(point)
        for point, row in runner.finished():
            ...

The same code runs on a `LocalCluster` and on a cluster whose scheduler address is given
(docs/exploration.md says how to start one): tasks are module-level functions of
neuropysim.evaluate with plain-data arguments, so every worker only needs NeuroPySim
installed. A step-1 result (its trace) is released once all its points are finished.
"""
from __future__ import annotations

import contextlib
import itertools
import logging
from typing import Iterator

from neuropysim.evaluate import STEP1_REUSED, error_row, run_step1, run_step2
from neuropysim.space import Point

__all__ = ["open_client", "Runner"]

_COUNTER = itertools.count()


@contextlib.contextmanager
def open_client(scheduler: str | None = None, workers: int = 2, threads_per_worker: int = 1,
                processes: bool = True) -> Iterator["distributed.Client"]:  # noqa: F821
    """A dask.distributed Client on ``scheduler`` (``"tcp://host:8786"``), else on a new
    LocalCluster of ``workers`` workers (processes, or threads of this process with
    ``processes=False``), closed on exit."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise ImportError("exploring on Dask needs dask.distributed: pip install "
                          "'neuropysim[cluster]'") from None
    if scheduler:
        client = Client(scheduler, timeout="30s")
        try:
            yield client
        finally:
            client.close()
        return
    for name, value in (("workers", workers), ("threads_per_worker", threads_per_worker)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}={value!r} must be a positive integer")
    cluster = LocalCluster(n_workers=workers, threads_per_worker=threads_per_worker,
                           processes=processes, dashboard_address=None,
                           silence_logs=logging.ERROR)
    try:
        client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


class Runner:
    """Points submitted to a client; ``finished()`` yields (point, row) as they end."""

    def __init__(self, client, trace_cache: str | None = None, step1_threads: int = 1):
        from dask.distributed import as_completed
        self.client = client
        self.trace_cache = trace_cache
        self.step1_threads = step1_threads
        self._step1: dict[str, object] = {}           # step-1 key -> future
        self._users: dict[str, int] = {}              # step-1 key -> points still running
        self._points: dict[object, Point] = {}        # step-2 future -> point
        self._done = as_completed()
        self.step1_runs = 0                           # computed, not read from the cache
        self._counted: set[str] = set()               # step-1 tasks seen finished
        self._task_of: dict[object, str] = {}         # step-2 future -> its step-1 task

    def submit(self, point: Point) -> None:
        dependency = None
        if point.step1_key is not None:
            dependency = self._step1.get(point.step1_key)
            if dependency is None:
                dependency = self.client.submit(
                    run_step1, point.step1_task(self.trace_cache, self.step1_threads),
                    key=f"step1-{point.step1_key}-{next(_COUNTER)}", pure=False, priority=10)
                self._step1[point.step1_key] = dependency
            self._users[point.step1_key] = self._users.get(point.step1_key, 0) + 1
        future = self.client.submit(run_step2, point.task(), dependency,
                                    key=f"point-{point.key}-{next(_COUNTER)}", pure=False)
        self._points[future] = point
        if dependency is not None:
            self._task_of[future] = dependency.key
        self._done.add(future)

    @property
    def running(self) -> int:
        return len(self._points)

    def finished(self) -> Iterator[tuple[Point, dict]]:
        """(point, row) of each point as it finishes, until none is running (points
        submitted meanwhile are waited for too). A task that raised (a worker lost, say)
        gives the point an error row."""
        for future in self._done:
            point = self._points.pop(future)
            try:
                row = future.result()
            except Exception as err:
                row = error_row(point.task(), f"worker: {type(err).__name__}: {err}")
            self._count_step1(self._task_of.pop(future, None), row.pop(STEP1_REUSED, None))
            self._release(point)
            yield point, row

    def _count_step1(self, task: str | None, reused: bool | None) -> None:
        """One step-1 run per step-1 task whose first finished point says its trace was
        computed (run or failed), not read from the trace cache (None: unknown, e.g. a
        worker lost)."""
        if task is None or reused is None or task in self._counted:
            return
        self._counted.add(task)
        self.step1_runs += not reused

    def _release(self, point: Point) -> None:
        key = point.step1_key
        if key is None:
            return
        self._users[key] -= 1
        if self._users[key] == 0:              # its trace is no longer needed
            del self._users[key]
            self._step1.pop(key).release()

    def cancel(self) -> None:
        """Cancel everything still running (Ctrl-C)."""
        futures = list(self._points) + list(self._step1.values())
        if futures:
            self.client.cancel(futures)
        self._points.clear()
        self._step1.clear()
        self._users.clear()
        self._task_of.clear()
