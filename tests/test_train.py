"""QAT training (cim.train): one seeded epoch of LeNet-5 on the offline digits trains,
saves a checkpoint with its recipe, and the checkpoint reloads the reported accuracy."""
from __future__ import annotations

import torch

import models
from cim.train import train
from models.checkpoints import load_checkpoint


def test_one_epoch_trains_saves_its_recipe_and_reloads(tmp_path):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)                       # fast on shared cores (CI sets it too)
    try:
        path, meta = train("lenet5", "mnist5k", epochs=1, seed=0, checkpoint=tmp_path / "l.pt")
    finally:
        torch.set_num_threads(threads)
    assert path == tmp_path / "l.pt" and path.is_file()
    assert meta["train_images"] == 4000 and meta["epochs"] == 1 and meta["batch_size"] == 64
    acc = meta["test_accuracy"]
    assert acc["images"] == 1000
    assert 0.5 < acc["quantized"] <= 1.0 and abs(acc["float"] - acc["quantized"]) < 0.05
    assert set(meta["activation_clip"]) == {"features.0", "features.3", "classifier.1",
                                            "classifier.3", "classifier.5"}
    model = models.build("lenet5")
    loaded = load_checkpoint(model, path)
    assert loaded["epochs"] == 1 and loaded["seed"] == 0
