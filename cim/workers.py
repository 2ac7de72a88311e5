"""Chunk-level threads for the hardware reads, instead of torch's per-operation threads.

A hardware read is many small tensor operations (one set per row group and chunk of input
vectors, each on about 1 MiB, cim.parallel_read / cim.sequential_read). With torch's
intra-op threads (OpenMP) every one of them forks and joins the threads; on a machine whose
cores other processes also use, a join waits until a descheduled thread runs again. Measured
on the project's shared 2-core machine (docs/performance.md, "Step-1 hardware pass"): LeNet-5
on 1,000 images in parallel mode took 37-48 s of wall and CPU time with 2 intra-op threads
and 2.5 s with one.

So the reads run their operations with one intra-op thread and share the chunks out to
``workers`` Python threads (torch releases the GIL inside an operation): a descheduled worker
delays only the chunk it holds, and an idle machine still uses its cores. ``workers`` is the
number of intra-op threads the caller had (``torch.get_num_threads()``), so a user's thread
setting keeps its meaning. Chunks write disjoint rows of one output tensor, and every random
draw of a chunk comes from its own stream (cim.devices._common.child_generator), so results
do not depend on the number of workers or their timing.
"""
from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator

import torch

__all__ = ["one_op_thread", "run_chunks"]


_state = threading.local()


@contextlib.contextmanager
def one_op_thread() -> Iterator[int]:
    """Run torch operations with one intra-op thread inside the block (restored after).

    Yields the number of intra-op threads the caller had - the workers the block may use;
    a nested block yields the outermost caller's number.
    """
    outer = getattr(_state, "threads", None)
    if outer is not None:
        yield outer
        return
    before = torch.get_num_threads()
    _state.threads = before
    if before > 1:
        torch.set_num_threads(1)
    try:
        yield before
    finally:
        _state.threads = None
        if before > 1:
            torch.set_num_threads(before)


def run_chunks(work: Callable[[int], None], count: int, workers: int) -> None:
    """Call ``work(i)`` for every chunk ``i`` in ``range(count)``: in this thread with one
    worker (or one chunk), else on a pool of ``workers`` threads (first error re-raised)."""
    workers = max(1, min(int(workers), int(count)))
    if workers == 1:
        for i in range(count):
            work(i)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cim-read") as pool:
        for future in [pool.submit(work, i) for i in range(count)]:
            future.result()
