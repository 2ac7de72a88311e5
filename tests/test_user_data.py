"""The user's own data for --dataset (models.user_data): image folders and .npz files."""
import numpy as np
import pytest
import torch
from PIL import Image

from models.datasets import load_dataset
from models.user_data import MissingSplitError


def _image(path, value, size=(4, 3), mode="L"):
    path.parent.mkdir(parents=True, exist_ok=True)
    color = value if mode == "L" else (value, 0, 255 - value)
    Image.new(mode, size, color).save(path)


def test_folder_with_integer_class_names_uses_them_as_labels(tmp_path):
    for label, value in ((0, 0), (2, 51), (10, 255)):
        _image(tmp_path / "digits" / str(label) / "a.png", value)
    data = load_dataset(str(tmp_path / "digits"))
    assert data.images.shape == (3, 1, 3, 4) and data.labels.tolist() == [0, 10, 2]
    assert data.num_classes == 11 and data.split == "test"
    # pixel 51 -> 0.2 exactly as the built-in sets scale: k / 255
    assert torch.equal(data.images[2], torch.full((1, 3, 4), 51 / 255.0))
    with pytest.raises(MissingSplitError, match="has no train split"):
        load_dataset(str(tmp_path / "digits"), "train")


def test_folder_with_named_classes_and_splits_in_rgb(tmp_path):
    root = tmp_path / "pets"
    for split in ("train", "test"):
        _image(root / split / "dog" / "1.png", 10, mode="RGB")
        _image(root / split / "cat" / "1.jpg", 200, mode="L")      # mixed: read as RGB
    test = load_dataset(str(root), "test")
    assert test.images.shape == (2, 3, 3, 4) and test.labels.tolist() == [0, 1]  # cat, dog
    assert torch.equal(test.images[1, 2], torch.full((3, 4), 245 / 255.0))      # blue of dog
    assert len(load_dataset(str(root), "train", limit=1)) == 1


def test_npz_with_both_splits(tmp_path):
    x = np.arange(2 * 1 * 2 * 2, dtype=np.uint8).reshape(2, 1, 2, 2)
    np.savez(tmp_path / "d.npz", x=x, y=np.array([1, 0]), x_train=x[:1] / 255.0,
             y_train=np.array([3]))
    test = load_dataset(str(tmp_path / "d.npz"))
    assert torch.equal(test.images, torch.from_numpy(x / np.float32(255.0)).float())
    assert test.labels.tolist() == [1, 0] and test.num_classes == 2
    assert load_dataset(str(tmp_path / "d.npz"), "train").labels.tolist() == [3]


@pytest.mark.parametrize("arrays, message", [
    (dict(y=np.zeros(2, int)), r"lacks array\(s\) x; an .npz data set holds x"),
    (dict(x=np.zeros(3, np.uint8), y=np.zeros(3, int)), r"d.npz:x has shape \(3,\); expected"),
    (dict(x=np.zeros((2, 4), np.uint8), y=np.zeros(3, int)), r"d.npz:y has shape \(3,\)"),
    (dict(x=np.zeros((2, 4), np.uint8), y=np.array([0.0, 1.0])), r"non-negative integer"),
    (dict(x=np.full((2, 4), 2.0), y=np.zeros(2, int)), r"holds values in \[2, 2\]; inputs "
                                                         r"must lie in \[0, 1\]"),
    (dict(x=np.zeros((2, 4), np.int32), y=np.zeros(2, int)), r"dtype int32; use uint8"),
])
def test_bad_npz_files(tmp_path, arrays, message):
    np.savez(tmp_path / "d.npz", **arrays)
    with pytest.raises(ValueError, match=message):
        load_dataset(str(tmp_path / "d.npz"))


def test_bad_folders(tmp_path):
    with pytest.raises(ValueError, match=r"does not exist; give a built-in name, a folder"):
        load_dataset(str(tmp_path / "nowhere/"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"has no class sub-folders; expected one sub-folder"):
        load_dataset(str(tmp_path / "empty"))
    _image(tmp_path / "sizes" / "a" / "1.png", 0, size=(4, 3))
    _image(tmp_path / "sizes" / "b" / "2.png", 0, size=(5, 3))
    with pytest.raises(ValueError, match=r"2.png' is 5x3 but 1.png is 4x3; all images must"):
        load_dataset(str(tmp_path / "sizes"))
    _image(tmp_path / "half" / "train" / "a" / "1.png", 0)
    with pytest.raises(ValueError, match=r"has only one of train/ and test/"):
        load_dataset(str(tmp_path / "half"))
    (tmp_path / "junk" / "a").mkdir(parents=True)
    (tmp_path / "junk" / "a" / "x.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match=r"x.png' cannot be read"):
        load_dataset(str(tmp_path / "junk"))


def test_registered_network_on_a_digit_folder_keeps_its_checkpoint(tmp_path, monkeypatch,
                                                                   capsys):
    from cim.cli import main
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)
    from models.datasets import load_dataset as load
    digits = load("mnist5k", "test", limit=6)
    for i, (image, label) in enumerate(zip(digits.images, digits.labels)):
        if int(label) < 3:
            folder = tmp_path / "mine" / str(int(label))
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray((image[0].numpy() * 255).round().astype(np.uint8)).save(
                folder / f"{i}.png")
    assert main(["--model", "LeNet5", "--dataset", "mine", "--json"]) == 0
    captured = capsys.readouterr()
    assert "has no train split; activation and ADC ranges are calibrated on the first 3" \
        in captured.err
    import json
    result = json.loads(captured.out)
    assert result["checkpoint"].endswith("lenet5-mnist5k.pt") and result["eval_images"] == 3
    assert result["accuracy"]["float"] == 1.0          # the shipped LeNet-5 reads them right
