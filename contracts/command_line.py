"""What the command lines share: an argparse parser whose errors are one line and exit 2, and
the one-line ending of a run that stops early (contracts.exits' codes).

    parser = OneLineParser(prog="Chip.py", ...)
    args = parse(parser, argv)            # None: the one line is printed; exit with BAD_INPUT
    ...
    return run(lambda: work(args), "no results written", installation=(RuntimeError,))
"""
from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from contracts.exits import INSTALLATION, one_line, stop

__all__ = ["UsageError", "OneLineParser", "parse", "run"]


class UsageError(ValueError):
    """A command-line usage error (argparse's message)."""


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:          # one line, exit 2 (argparse's own code)
        raise UsageError(message)


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None):
    """The parsed arguments, or None after printing the usage error's one line."""
    try:
        return parser.parse_args(argv)
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return None


def run(work: Callable[[], int], nothing: str,
        installation: tuple[type[BaseException], ...] = ()) -> int:
    """``work()``'s exit code; an early stop prints one line and gives its code (``nothing``:
    what was not written), an ``installation`` error gives 1. Other errors (bugs) raise."""
    try:
        return work()
    except installation as err:
        print(f"error: {one_line(err)}", file=sys.stderr)
        return INSTALLATION
    except (Exception, KeyboardInterrupt) as err:
        code = stop("", err, nothing)
        if code is None:
            raise
        return code

