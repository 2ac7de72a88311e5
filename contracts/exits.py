"""The exit codes and one-line messages both command lines give when they stop early.

2: bad input (the message names what and what is allowed); 130: interrupted (Ctrl-C);
143: terminated (SIGTERM); 1: an installation problem. Nothing is written in any of them
(outputs are staged and moved into place only at the end, contracts.staging).
"""
from __future__ import annotations

import signal
import sys
from contextlib import contextmanager
from typing import Iterator

from contracts.staging import Terminated

__all__ = ["BAD_INPUT", "INTERRUPTED", "TERMINATED", "one_line", "stop", "imports_whole"]

BAD_INPUT, INTERRUPTED, TERMINATED, INSTALLATION = 2, 130, 143, 1


def one_line(err: BaseException) -> str:
    """The first line of an error's message (its type when it has none)."""
    text = str(err)
    return text.splitlines()[0] if text else type(err).__name__


def stop(prefix: str, err: BaseException, nothing: str) -> int | None:
    """Print the one line for ``err`` after ``prefix`` and return its exit code; None for an
    error that is not an early stop (a bug: let it raise). ``nothing``: what was not written
    ("no results written")."""
    if isinstance(err, Terminated):
        code, line = TERMINATED, f"terminated (SIGTERM); {nothing}"
    elif isinstance(err, KeyboardInterrupt):
        code, line = INTERRUPTED, f"interrupted (Ctrl-C); {nothing}"
    elif isinstance(err, (ValueError, OSError, ImportError, MemoryError)):
        code, line = BAD_INPUT, f"error: {one_line(err)}"
    else:
        return None
    print(f"{prefix}{line}", file=sys.stderr)
    return code


@contextmanager
def imports_whole() -> Iterator[None]:
    """Hold Ctrl-C until the imports inside are done, then raise it: an import interrupted
    half-way can leave a module half-initialised that a C extension's error handling then
    swallows (numpy, torch), and the run fails later with a confusing traceback."""
    pending: list[int] = []
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: pending.append(signum))
    except ValueError:              # not the main thread: nothing to hold
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pending:
        raise KeyboardInterrupt
