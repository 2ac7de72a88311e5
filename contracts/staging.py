"""Write folders and files so that readers never see them half-written, and never replace a
folder that is not ours.

A writer names what it may replace with an ``is_ours(folder) -> bool`` predicate (e.g. "holds
a manifest.json of our trace format"); an existing folder that is neither empty nor ours is
refused with :class:`FolderNotOursError` and left untouched, so ``--trace-dir ~/Documents``
cannot wipe a user's files.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator, Union

__all__ = ["FolderNotOursError", "staged_folder", "check_replaceable", "json_marker",
           "write_text_atomic", "results_folder_is_ours", "ACCURACY_FORMAT", "ACCURACY_FILE"]

#: the accuracy report step 1 writes into results/<NET>/ (cim.run.write_accuracy_report)
ACCURACY_FILE = "accuracy.json"
ACCURACY_FORMAT = "neuropysim-accuracy"
#: keys every step-2 summary.json holds (chip.estimator); together they mark it as ours
_SUMMARY_KEYS = ("network", "area_mm2", "tops_per_w", "config_hash", "latency_per_image_ns")


#: what a writer may replace: a predicate, or (file name, JSON key, value) for json_marker
Ownership = Union[Callable[[Path], bool], tuple, None]


class FolderNotOursError(ValueError):
    """An existing folder would be replaced but holds files this tool did not write."""


def json_marker(file_name: str, key: str, value) -> Callable[[Path], bool]:
    """Predicate: ``folder/file_name`` is a JSON object whose ``key`` equals ``value``."""
    def is_ours(folder: Path) -> bool:
        data = _read_json(folder / file_name)
        return isinstance(data, dict) and data.get(key) == value
    return is_ours


def results_folder_is_ours(folder: Path) -> bool:
    """A results folder of ours: step 2's summary.json or step 1's accuracy.json."""
    summary = _read_json(folder / "summary.json")
    if isinstance(summary, dict) and all(k in summary for k in _SUMMARY_KEYS):
        return True
    return json_marker(ACCURACY_FILE, "format", ACCURACY_FORMAT)(folder)


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def _resolve(target: Path) -> Path:
    # a symlinked folder is written through (the link stays, its folder is replaced)
    target = Path(target)
    return target.resolve() if target.is_symlink() else target


def check_replaceable(target: str | os.PathLike, is_ours: Ownership,
                      what: str = "folder") -> None:
    """Raise FolderNotOursError unless ``target`` is missing, an empty folder or ours.

    ``is_ours``: a predicate, a ``(file_name, key, value)`` JSON marker, or None (accept only a
    missing or empty folder). Call it before long work so a refused target fails fast;
    :func:`staged_folder` checks again before it replaces.
    """
    if isinstance(is_ours, tuple):
        is_ours = json_marker(*is_ours)
    target = _resolve(Path(target))
    if not target.exists():
        return
    if not target.is_dir():
        raise FolderNotOursError(f"{what}={str(target)!r} is an existing file, not a folder; "
                                 f"choose a new or empty folder")
    if not any(target.iterdir()):
        return
    if is_ours is not None and is_ours(target):
        return
    raise FolderNotOursError(f"{what}={str(target)!r} exists and holds files this tool did "
                             f"not write, so it is left untouched; choose a new or empty "
                             f"folder (or one this tool wrote)")


@contextmanager
def staged_folder(target: Path, is_ours: Ownership = None, *,
                  what: str = "folder", keep: Iterable[str] = ()) -> Iterator[Path]:
    """Yield an empty staging folder beside ``target``; on success it replaces ``target``.

    ``target`` must be missing, an empty folder, or a folder ``is_ours`` recognises
    (:func:`check_replaceable`), checked on entry and again just before the swap. Files named
    in ``keep`` that the old folder has and the new one lacks are carried over (step 1's
    accuracy.json survives step 2 rewriting results/<NET>/). On any error the staging folder
    is removed and ``target`` is left as it was.
    """
    target = _resolve(Path(target))
    check_replaceable(target, is_ours, what)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    os.chmod(staging, 0o777 & ~_umask())                  # mkdtemp's 0700 is too private
    try:
        yield staging
        check_replaceable(target, is_ours, what)          # it may have changed meanwhile
        if not target.exists():
            staging.rename(target)
            return
        for name in keep:
            old_file = target / name
            if old_file.is_file() and not (staging / name).exists():
                shutil.copy2(old_file, staging / name)
        # unique name: never collides with (or deletes) anything already beside target
        old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:12]}")
        target.rename(old)
        try:
            staging.rename(target)
        except BaseException:
            old.rename(target)                            # put the old folder back
            raise
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.chmod(tmp, 0o666 & ~_umask())                   # mkstemp's 0600 is too private
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
