"""A user's own labelled data for ``--dataset``: a folder of images or an ``.npz`` file.

Folder of images (Pillow reads PNG, JPEG, BMP, GIF, TIFF, WebP, PPM/PGM):

    data/                          data/
      cat/  a.png b.png ...   or     train/ cat/ ... dog/ ...
      dog/  ...                      test/  cat/ ... dog/ ...

One sub-folder per class. Labels: when every class folder is a non-negative integer
(``0/ 1/ ... 9/``) the label is that integer; otherwise the classes are numbered in
alphabetical order of their folder names. A folder without ``train/``/``test/`` is the test
split only. All images must have one size; they are read as 1 channel when every one is
grayscale, else as RGB (3 channels); pixels 0..255 become [0, 1].

``.npz`` file: ``x`` (test inputs) and ``y`` (their labels), optionally ``x_train`` and
``y_train``. ``x`` holds N inputs of exactly the network's input shape: N x C x H x W
(images), N x C x L (sequences) or N x F (vectors), as uint8 (0..255, scaled to [0, 1]) or
floats in [0, 1]; ``y`` holds N non-negative integer labels.

Calibration uses the train split; without one, cim.run calibrates on the first test images
and says so in a warning.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .datasets import _to_float_images

__all__ = ["is_user_data", "load_user_data", "MissingSplitError", "IMAGE_SUFFIXES"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm",
                  ".pgm", ".pbm")
_GRAY_MODES = ("1", "L", "I", "I;16", "F")


class MissingSplitError(ValueError):
    """The user data has no such split (e.g. no train split for calibration)."""


def is_user_data(name) -> bool:
    """True when a data set argument names a file or folder rather than a built-in set."""
    text = str(name)
    from .datasets import dataset_names
    if text in dataset_names():
        return False
    return text.lower().endswith(".npz") or "/" in text or "\\" in text or Path(text).is_dir()


def load_user_data(name, split: str, limit: int | None = None):
    """A models.datasets.Dataset of one split of a user folder or ``.npz`` (module docstring).

    Raises:
        ValueError: missing file, bad layout, shape, dtype or range (one line naming it).
        MissingSplitError: the requested split is not in the data.
    """
    path = Path(str(name)).expanduser()
    if not path.exists():
        raise ValueError(f"dataset={str(name)!r} does not exist; give a built-in name, a folder "
                         f"of labelled images or an .npz file with x and y")
    if path.is_dir():
        x, y, classes, source = _read_folder(path, split)
        what = f"image folder {path.name}"
    elif path.suffix.lower() == ".npz":
        x, y, source = _read_npz(path, split)
        classes, what = int(y.max()) + 1 if y.size else 0, f"npz file {path.name}"
    else:
        raise ValueError(f"dataset={str(name)!r} is neither a folder of images nor an .npz file")
    if limit is not None:
        x, y = x[:limit], y[:limit]
    from .datasets import Dataset
    shape = "x".join(map(str, x.shape[1:]))
    return Dataset(images=x, labels=torch.from_numpy(y), name=str(name), num_classes=classes,
                   is_synthetic=False, split=split, source=str(source),
                   description=f"{what}, {split} split: {len(y)} inputs {shape}, "
                               f"{classes} classes")


# --------------------------------------------------------------------------- folder

def _split_folder(root: Path, split: str) -> Path:
    subdirs = {p.name for p in root.iterdir() if p.is_dir()}
    if {"train", "test"} <= subdirs:
        return root / split
    if "train" in subdirs or "test" in subdirs:
        raise ValueError(f"dataset={str(root)!r} has only one of train/ and test/; give both, "
                         f"or put the class folders directly in {root.name}/ (test split only)")
    if split == "train":
        raise MissingSplitError(f"dataset={str(root)!r} has no train split (no train/ and test/ "
                                f"sub-folders)")
    return root


def _class_labels(folder: Path) -> dict[str, int]:
    names = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if not names:
        raise ValueError(f"dataset folder {str(folder)!r} has no class sub-folders; expected "
                         f"one sub-folder of images per class (e.g. {folder.name}/cat/*.png)")
    if all(n.isdigit() for n in names):
        return {n: int(n) for n in names}
    return {n: i for i, n in enumerate(names)}


def _read_folder(root: Path, split: str):
    from PIL import Image, UnidentifiedImageError
    folder = _split_folder(root, split)
    labels = _class_labels(folder)
    files = [(f, label) for name, label in labels.items()
             for f in sorted((folder / name).iterdir())
             if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES]
    if not files:
        raise ValueError(f"dataset folder {str(folder)!r} holds no images "
                         f"({', '.join(IMAGE_SUFFIXES)}) in its class folders")
    images = []
    for f, _ in files:
        try:
            with Image.open(f) as img:
                img.load()
                images.append(img.copy())
        except (UnidentifiedImageError, OSError) as err:
            raise ValueError(f"dataset image {str(f)!r} cannot be read ({err})") from None
    size = images[0].size
    for (f, _), img in zip(files, images):
        if img.size != size:
            raise ValueError(f"dataset image {str(f)!r} is {img.size[0]}x{img.size[1]} but "
                             f"{files[0][0].name} is {size[0]}x{size[1]}; all images must have "
                             f"one size (resize them first)")
    gray = all(img.mode in _GRAY_MODES for img in images)
    arrays = [np.asarray(img.convert("L" if gray else "RGB"), dtype=np.uint8) for img in images]
    x = np.stack(arrays)
    x = x[:, None] if gray else x.transpose(0, 3, 1, 2)
    y = np.array([label for _, label in files], dtype=np.int64)
    classes = max(labels.values()) + 1
    return _to_float_images(x), y, classes, folder


# --------------------------------------------------------------------------- npz

def _read_npz(path: Path, split: str):
    keys = ("x", "y") if split == "test" else ("x_train", "y_train")
    try:
        with np.load(path, allow_pickle=False) as z:
            present = set(z.files)
            if split == "train" and not set(keys) <= present:
                raise MissingSplitError(f"dataset={str(path)!r} has no train split (arrays "
                                        f"x_train and y_train)")
            missing = [k for k in keys if k not in present]
            if missing:
                raise ValueError(f"dataset={str(path)!r} lacks array(s) {', '.join(missing)}; "
                                 f"an .npz data set holds x (inputs) and y (labels)")
            x, y = z[keys[0]], z[keys[1]]
    except (OSError, EOFError) as err:
        raise ValueError(f"dataset={str(path)!r} is not a readable .npz file ({err})") from None
    name = f"{path.name}:{keys[0]}"
    if x.ndim not in (2, 3, 4) or x.shape[0] == 0:
        raise ValueError(f"dataset {name} has shape {x.shape}; expected N x C x H x W, "
                         f"N x C x L or N x F with N >= 1 (grayscale N x H x W: store x[:, None])")
    if y.shape != (x.shape[0],) or not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
        raise ValueError(f"dataset {path.name}:{keys[1]} has shape {y.shape} and dtype {y.dtype}; "
                         f"expected {x.shape[0]} non-negative integer labels")
    if x.dtype == np.uint8:
        return _to_float_images(x), y.astype(np.int64), path
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"dataset {name} has dtype {x.dtype}; use uint8 (0..255) or floats in "
                         f"[0, 1]")
    lo, hi = float(x.min()), float(x.max())
    if not (np.isfinite(lo) and np.isfinite(hi) and lo >= 0.0 and hi <= 1.0):
        raise ValueError(f"dataset {name} holds values in [{lo:g}, {hi:g}]; inputs must lie in "
                         f"[0, 1] (the first layer's input is unsigned) or be uint8 0..255")
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), y.astype(np.int64), path

