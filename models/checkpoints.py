"""Saving and loading trained weights, with a clear error when they do not fit.

File format: ``torch.save`` of a plain dict
``{"format": "neuropysim-checkpoint", "version": 1, "state_dict": ..., "meta": ...}``.
``meta`` must be JSON-serialisable so files load with ``torch.load(weights_only=True)``
(no pickled code is ever executed). A bare ``state_dict`` saved by other tools also loads
(with empty meta).
"""
from __future__ import annotations

import json
import os
import re
import tempfile
import warnings
from pathlib import Path

import torch
from torch import nn

from . import registry

__all__ = ["CHECKPOINT_DIR", "default_checkpoint_path", "save_checkpoint", "load_checkpoint",
           "user_checkpoint_dir", "training_checkpoint_path", "check_training_target"]

FORMAT = "neuropysim-checkpoint"
VERSION = 1

#: Shipped checkpoints live beside this module: models/checkpoints/<name>-<dataset>.pt
CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"

_SAFE_TOKEN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def default_checkpoint_path(name: str, dataset: str) -> Path:
    """Return ``models/checkpoints/<name>-<dataset>.pt`` (the file may not exist).

    Raises:
        ValueError: ``name`` is not a registered network, or ``dataset`` is not a plain
            token (letters, digits, ``_ . -``).
    """
    registry.get_spec(name)  # unknown network -> ValueError listing the known ones
    if not isinstance(dataset, str) or not _SAFE_TOKEN.match(dataset):
        raise ValueError(f"dataset={dataset!r} is invalid; use a data set name such as 'mnist5k'")
    return CHECKPOINT_DIR / f"{name}-{dataset}.pt"


def user_checkpoint_dir() -> Path:
    """Where training writes by default: $NEUROPYSIM_HOME/checkpoints, else
    $XDG_DATA_HOME/neuropysim/checkpoints (~/.local/share/... when unset). Shipped
    checkpoints (CHECKPOINT_DIR) are never written."""
    home = os.environ.get("NEUROPYSIM_HOME")
    if home:
        return Path(home).expanduser() / "checkpoints"
    data = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data).expanduser() / "neuropysim" / "checkpoints"


def training_checkpoint_path(name: str, dataset: str) -> Path:
    """The default file a training run of ``name`` on ``dataset`` writes (in the user folder)."""
    return user_checkpoint_dir() / default_checkpoint_path(name, dataset).name


def _torch_load(path: Path):
    """torch.load of tensors only; torch's warnings about a file's pickle protocol are noise
    next to our one-line error when the file is not a checkpoint."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.load(path, map_location="cpu", weights_only=True)


def _is_ours(path: Path) -> bool:
    try:
        obj = _torch_load(path)
    except Exception:  # noqa: BLE001 - anything unreadable is not ours
        return False
    return isinstance(obj, dict) and obj.get("format") == FORMAT


def check_training_target(path: str | os.PathLike) -> Path:
    """Refuse a training output that is a shipped checkpoint, or an existing file that is not
    a checkpoint this tool wrote (a user's file is never overwritten)."""
    path = Path(path)
    if path.resolve().parent == CHECKPOINT_DIR.resolve():
        raise ValueError(f"checkpoint={str(path)!r} is a shipped checkpoint "
                         f"(models/checkpoints/); training never overwrites those - give "
                         f"another path, or none for {user_checkpoint_dir()}")
    if path.is_dir():
        raise ValueError(f"checkpoint={str(path)!r} is a folder; give a file path such as "
                         f"{path / 'model.pt'}")
    if path.exists() and not _is_ours(path):
        raise ValueError(f"checkpoint={str(path)!r} exists and is not a checkpoint this tool "
                         f"wrote, so it is not overwritten; give a new path")
    return path


def save_checkpoint(model: nn.Module, path: str | os.PathLike, meta: dict) -> Path:
    """Write ``model``'s state_dict and ``meta`` to ``path`` atomically.

    The file is written under a temporary name in the same folder and renamed, so an
    interrupted save never leaves a truncated checkpoint. Parent folders are created.

    Args:
        model: any module; its ``state_dict()`` is stored (moved to the CPU).
        path: destination file, conventionally ``default_checkpoint_path(...)``.
        meta: JSON-serialisable facts about the training (data set, accuracy, epochs, ...).

    Returns:
        The path written.

    Raises:
        ValueError: ``meta`` is not a dict or not JSON-serialisable.
    """
    if not isinstance(meta, dict):
        raise ValueError(f"meta={type(meta).__name__} is invalid; pass a dict of JSON-serialisable values")
    try:
        # round trip so what we store is plain str/int/float/bool/list/dict
        meta = json.loads(json.dumps(meta))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"meta is not JSON-serialisable ({exc}); store plain numbers, strings, lists, dicts") from None
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    payload = {"format": FORMAT, "version": VERSION, "state_dict": state, "meta": meta}
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(payload, fh)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; shipped files must be readable
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _read(path: Path) -> tuple[dict, dict]:
    """Return (state_dict, meta) from a checkpoint file, validating its structure."""
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        obj = _torch_load(path)
    except Exception as exc:  # corrupt file, not a torch file, or disallowed pickled objects
        # torch's own text advises weights_only=False, which would run the file's code
        raise ValueError(f"checkpoint {path} is not a checkpoint this tool can read: expected "
                         f"a state_dict of tensors saved with torch.save "
                         f"({type(exc).__name__})") from None
    if isinstance(obj, dict) and obj.get("format") == FORMAT:
        if obj.get("version") != VERSION:
            raise ValueError(f"checkpoint {path} has version {obj.get('version')!r}; this NeuroPySim reads {VERSION}")
        state, meta = obj.get("state_dict"), obj.get("meta", {})
    else:
        state, meta = obj, {}  # a bare state_dict from another tool
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"checkpoint {path} holds no state_dict of tensors")
    return state, meta


def load_checkpoint(model: nn.Module, path: str | os.PathLike) -> dict:
    """Load weights from ``path`` into ``model`` in place and return the stored meta.

    Every parameter and buffer must be present with the network's shape; nothing is
    loaded unless all of them fit.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file is not a readable checkpoint, or it does not fit ``model``;
            the message names the file and the first missing, unexpected or
            mis-shaped entry.
    """
    path = Path(path)
    state, meta = _read(path)
    own = model.state_dict()
    for key, tensor in own.items():
        if key not in state:
            raise ValueError(f"checkpoint {path} does not fit the network: {key!r} "
                             f"(shape {tuple(tensor.shape)}) is missing from the checkpoint")
        if tuple(state[key].shape) != tuple(tensor.shape):
            raise ValueError(f"checkpoint {path} does not fit the network: {key!r} has shape "
                             f"{tuple(state[key].shape)} in the checkpoint but {tuple(tensor.shape)} in the network")
    for key in state:
        if key not in own:
            raise ValueError(f"checkpoint {path} does not fit the network: it has {key!r} "
                             f"(shape {tuple(state[key].shape)}) which the network does not")
    model.load_state_dict(state, strict=True)
    return meta
