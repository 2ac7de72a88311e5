"""Write folders and files so that readers never see them half-written, and never lose a file
of the user's.

A writer describes the folders it writes with a :class:`FolderKind`: how to recognise one it
wrote, which files in it are its own, and which names it may create. Replacing a folder then
follows three rules:

- a folder that is neither missing, empty nor of this kind is refused with
  :class:`FolderNotOursError` and left untouched (``--trace-dir ~/Documents`` wipes nothing);
- in a folder of this kind, every entry the tool did not write (a user's ``notes.txt``) is
  carried over into the new folder; should the new folder hold a file of the same name, the
  swap is refused, naming the file, and the old folder stays as it was;
- the new folder is built in a hidden sibling (``.<name>.staging-<pid>-<hex>``) and swapped in
  with renames. An interrupted run removes its sibling on the way out (SIGTERM included, see
  :func:`exit_cleanly_on_sigterm`); a sibling left by a killed process is removed by the next
  run that writes the same target.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

__all__ = ["FolderKind", "FolderNotOursError", "Terminated", "staged_folder",
           "check_replaceable", "json_kind", "write_text_atomic", "exit_cleanly_on_sigterm",
           "remove_stale_siblings"]


class FolderNotOursError(ValueError):
    """A folder would be replaced, but holds files this tool did not write and cannot keep."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every cleanup on the way out runs."""


@dataclass(frozen=True)
class FolderKind:
    """A kind of folder a writer creates: ``owned(folder)`` gives the names of the files this
    tool wrote in ``folder``, or None when the folder is not one of this kind."""

    label: str
    owned: Callable[[Path], frozenset[str] | None]


def json_kind(label: str, marker: str, key: str, value,
              files: Callable[[dict], Iterable[str]]) -> FolderKind:
    """A kind recognised by ``folder/marker`` being a JSON object with ``key == value``;
    ``files(marker_data)`` lists what it wrote (the marker included)."""
    def owned(folder: Path) -> frozenset[str] | None:
        data = read_json(folder / marker)
        if not (isinstance(data, dict) and data.get(key) == value):
            return None
        try:
            return frozenset({marker, *files(data)})
        except (TypeError, KeyError, AttributeError):   # a damaged marker: only itself
            return frozenset({marker})
    return FolderKind(label, owned)


def read_json(path: Path):
    """The JSON value of a file, or None when it is missing or not JSON."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return None


# --- hidden siblings: names, and removal of those a dead process left behind ------------------

_SIBLING = re.compile(r"^\.(?P<name>.+)\.(?:staging|old|tmp)-(?P<pid>\d+)-[0-9a-f]{12}$")


def _sibling(target: Path, role: str) -> Path:
    return target.with_name(f".{target.name}.{role}-{os.getpid()}-{secrets.token_hex(6)}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:          # someone else's process
        return True
    return True


def remove_stale_siblings(target: str | os.PathLike) -> list[Path]:
    """Remove hidden staging / old / temporary siblings of ``target`` whose process is gone."""
    target = Path(target)
    removed = []
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _SIBLING.match(entry.name)
        if not match or match["name"] != target.name or _alive(int(match["pid"])):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


# --- what may be replaced ---------------------------------------------------------------------

def _resolve(target: Path) -> Path:
    # a symlinked folder is written through (the link stays, its folder is replaced)
    target = Path(target)
    return target.resolve() if target.is_symlink() else target


def check_replaceable(target: str | os.PathLike, kind: FolderKind | None,
                      what: str = "folder") -> list[str]:
    """The names of the user's entries that a rewrite of ``target`` would keep; raises
    FolderNotOursError when ``target`` may not be rewritten.

    ``target`` may be missing, an empty folder, or a folder of ``kind`` (None: only missing or
    empty). Call it before long work so a refused target fails fast; :func:`staged_folder`
    checks again before it swaps.
    """
    target = _resolve(Path(target))
    _check_writable(target, what)
    if not target.exists():
        return []
    if not target.is_dir():
        raise FolderNotOursError(f"{what}={str(target)!r} is an existing file, not a folder; "
                                 f"choose a new or empty folder")
    entries = sorted(p.name for p in target.iterdir())
    if not entries:
        return []
    owned = kind.owned(target) if kind is not None else None
    if owned is None:
        raise FolderNotOursError(f"{what}={str(target)!r} exists and holds files this tool did "
                                 f"not write, so it is left untouched; choose a new or empty "
                                 f"folder (or one this tool wrote)")
    return [name for name in entries if name not in owned]


def _check_writable(target: Path, what: str) -> None:
    """Fail now, not after the work, when the folder that will hold ``target`` cannot be
    written: create (and remove) a hidden folder where the staging folder will go, or in the
    nearest existing ancestor when the parents are still to be made."""
    parent = target.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise FolderNotOursError(f"{what}={str(target)!r} cannot be created: {str(parent)!r} is "
                                 f"a file, not a folder")
    probe = parent / f".{target.name}.tmp-{os.getpid()}-{secrets.token_hex(6)}"
    try:
        probe.mkdir()
        probe.rmdir()
    except OSError as err:
        raise FolderNotOursError(f"{what}={str(target)!r} cannot be written ({err.strerror} in "
                                 f"{str(parent)!r}); choose a folder you can write") from None


def _carry_over(old: Path, staging: Path, names: Iterable[str]) -> None:
    """Copy entries of ``old`` into ``staging`` (copies: the old folder stays whole until the
    swap, so an interruption loses nothing)."""
    for name in names:
        source, dest = old / name, staging / name
        if source.is_dir() and not source.is_symlink():
            shutil.copytree(source, dest, symlinks=True)
        else:
            shutil.copy2(source, dest, follow_symlinks=False)


@contextmanager
def staged_folder(target: str | os.PathLike, kind: FolderKind | None, *,
                  what: str = "folder", keep: Iterable[str] = ()) -> Iterator[Path]:
    """Yield an empty hidden staging folder beside ``target``; on success it replaces
    ``target``.

    ``target`` must be missing, empty or of ``kind`` (:func:`check_replaceable`), checked on
    entry and again just before the swap. The user's entries of the old folder are carried
    over; so are our files named in ``keep`` that the new folder lacks (step 1's
    accuracy.json survives step 2 rewriting results/<NET>/). On any error or interruption
    the staging folder is removed and ``target`` is left as it was.
    """
    target = _resolve(Path(target))
    check_replaceable(target, kind, what)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_siblings(target)
    staging = _sibling(target, "staging")
    staging.mkdir(mode=0o777)                             # the umask applies, as for any folder
    try:
        yield staging
        users = check_replaceable(target, kind, what)      # it may have changed meanwhile
        if not target.exists():
            staging.rename(target)
            return
        clash = [name for name in users if (staging / name).exists()]
        if clash:
            raise FolderNotOursError(f"{what}={str(target)!r} holds {clash[0]!r}, which this "
                                     f"tool did not write and would overwrite; move or rename "
                                     f"it (nothing was changed)")
        kept = [n for n in keep if (target / n).is_file() and not (staging / n).exists()]
        _carry_over(target, staging, users + kept)
        old = _sibling(target, "old")
        target.rename(old)
        try:
            staging.rename(target)
        except BaseException:
            old.rename(target)                             # put the old folder back
            raise
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` through a hidden temporary file in the same folder and a
    rename: a reader sees the old file or the new one, never a part."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_siblings(path)
    tmp = _sibling(path, "tmp")
    try:
        with open(tmp, "x") as fh:                         # mode 0666 less the umask
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def exit_cleanly_on_sigterm() -> None:
    """Turn SIGTERM into :class:`Terminated` (a KeyboardInterrupt) in the main thread, so an
    interrupted writer removes its staging folder as it does on Ctrl-C."""
    def handler(signum, frame):
        raise Terminated()
    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:               # not the main thread: leave the default
        pass
