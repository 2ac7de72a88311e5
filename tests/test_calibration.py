"""The calibration pipeline (issue 14, cim.calibration): each stage improves the hardware
accuracy of a tiny seeded network, the calibrated checkpoint reproduces it, the closed-form
fits by hand, and bad input fails with one clear line."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from cim.calibration import STAGES, parse_stages
from cim.calibration_fit import closed_form, fold_batchnorm
from cim.grouped import make_crossbar
from cim.finetune import FineTuneSettings
from cim.quantize import weight_scale
from cim.run import run
from contracts.config import HardwareConfig

#: a coarse 3-bit ADC with device-to-device variation: the programmed chip is near chance
HARD = dict(operation_mode="parallel", adc_bits=3, d2d_variation_sigma=0.1)
TINY_FINETUNE = {"steps": 30, "validate_every": 10, "validation_images": 128}


def _clusters(seed: int, n: int, centers: torch.Tensor, g: torch.Generator):
    y = torch.randint(0, len(centers), (n,), generator=g)
    x = (centers[y] + 1.2 * torch.randn(n, centers.shape[1], generator=g)) * 0.15 + 0.5
    return x.clamp(0, 1), y


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(trained float MLP with a BatchNorm, .npz data set with a train split)."""
    g = torch.Generator().manual_seed(0)
    centers = torch.randn(4, 16, generator=g)
    (xt, yt), (xs, ys) = _clusters(0, 1024, centers, g), _clusters(0, 400, centers, g)
    path = tmp_path_factory.mktemp("tiny") / "clusters.npz"
    np.savez(path, x=xs.numpy(), y=ys.numpy(), x_train=xt.numpy(), y_train=yt.numpy())
    threads = torch.get_num_threads()        # module scope: before conftest's one_thread
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 32),
                          nn.ReLU(), nn.Linear(32, 4))
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    for _ in range(300):
        idx = torch.randint(0, len(xt), (64,))
        loss = nn.functional.cross_entropy(model(xt[idx]), yt[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    torch.set_num_threads(threads)
    return model.eval(), str(path)


def test_each_stage_improves_hardware_accuracy_and_the_checkpoint_keeps_it(tiny, tmp_path):
    model, data = tiny
    ckpt = tmp_path / "calibrated.pt"
    result = run(dict(HARD), network=copy.deepcopy(model), dataset=data, calibrate="all",
                 write_trace=False, calibrated_checkpoint=ckpt, finetune=TINY_FINETUNE)
    table = result.calibration_pipeline["table"]
    assert [row["stage"] for row in table] == ["programmed", *STAGES]
    acc = [row["hardware"] for row in table]
    assert acc[0] < 0.4                                   # near chance (4 classes)
    assert all(b > a for a, b in zip(acc, acc[1:])), acc  # every stage gains
    assert acc[-1] == result.accuracy["hardware"] > 0.9
    assert result.calibration_pipeline["folded_batchnorm"] == ["0"]
    # the checkpoint loads through the usual argument, on the same chip, with no calibration
    again = run(dict(HARD), network=copy.deepcopy(model), dataset=data, checkpoint=ckpt,
                write_trace=False)
    assert again.accuracy["hardware"] == pytest.approx(acc[-1], abs=0.0051)
    assert again.calibration_pipeline == {}


def test_calibration_refuses_bad_input(tiny, tmp_path):
    model, data = tiny
    with pytest.raises(ValueError, match="unknown stage 'bias2'"):
        run(dict(HARD), network=model, dataset=data, calibrate="targets,bias2")
    with pytest.raises(ValueError, match="calibration_images= applies only with calibrate="):
        run(dict(HARD), network=model, dataset=data, calibration_images=10)
    with pytest.raises(ValueError, match="does not apply with no_accuracy"):
        run(dict(HARD), network=model, dataset=data, calibrate="all", no_accuracy=True)
    with pytest.raises(ValueError, match="finetune= applies only when the 'finetune' stage"):
        run(dict(HARD), network=model, dataset=data, calibrate="bias", finetune={"steps": 2})
    mine = tmp_path / "mine.pt"
    mine.write_text("a user's file")
    with pytest.raises(ValueError, match="is not a checkpoint this tool wrote"):
        run(dict(HARD), network=model, dataset=data, calibrate="bias",
            calibrated_checkpoint=mine)
    assert mine.read_text() == "a user's file"
    # a calibration never writes over the checkpoint it calibrates (review: it did)
    from models.checkpoints import save_checkpoint
    source = save_checkpoint(model, tmp_path / "source.pt", {"note": "trained"})
    before = source.read_bytes()
    with pytest.raises(ValueError, match="is the checkpoint being calibrated"):
        run(dict(HARD), network=model, dataset=data, checkpoint=source, calibrate="bias",
            calibrated_checkpoint=source)
    assert source.read_bytes() == before
    with pytest.raises(ValueError, match="attention products"):
        run(network="vit", calibrate="bias", write_trace=False,
            calibrated_checkpoint=tmp_path / "vit.pt")
    no_train = tmp_path / "test_only.npz"
    np.savez(no_train, x=np.full((8, 16), 0.5, np.float32), y=np.zeros(8, np.int64))
    with pytest.raises(ValueError, match="has no train split"):
        run(dict(HARD), network=model, dataset=str(no_train), calibrate="bias")


def test_parse_stages_orders_and_expands():
    assert parse_stages(None) == ()
    assert parse_stages("all") == STAGES
    assert parse_stages("finetune, targets") == ("targets", "finetune")
    assert parse_stages(["scaling"]) == ("scaling",)
    with pytest.raises(ValueError, match="choose 'all' or a comma-separated list"):
        parse_stages("everything")
    with pytest.raises(ValueError, match="calibrate=' , ' names no stage"):
        parse_stages(" , ")                     # was an IndexError traceback (review)


def test_closed_form_fits_by_hand():
    y = torch.tensor([[1.0], [2.0], [3.0]])               # linear layer: (samples, channels)
    t = torch.tensor([[2.0], [4.0], [6.0]])
    g, b = closed_form(y, t, linear=True, gain=True, bias=False)
    assert float(g) == pytest.approx(2.0) and b is None   # <y,t>/<y,y> = 28/14
    g, b = closed_form(y, t + 1, linear=True, gain=True, bias=True)
    assert (float(g), float(b)) == pytest.approx((2.0, 1.0))
    g, b = closed_form(y, t, linear=True, gain=False, bias=True)
    assert g is None and float(b) == pytest.approx(2.0)   # mean(t - y)


def test_batchnorm_folding_keeps_the_function():
    torch.manual_seed(1)
    conv, bn = nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3)
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
        bn.weight.uniform_(0.5, 2)
        bn.bias.uniform_(-1, 1)
    net = nn.Sequential(conv, bn).eval()
    x = torch.randn(2, 2, 6, 6)
    before = net(x)
    assert fold_batchnorm(net, {"0": "1"}) == ["0"]
    assert torch.allclose(net(x), before, atol=1e-5)
    assert torch.all(net[1].weight == 1) and torch.all(net[1].running_mean == 0)


def test_settings_and_switches_refuse_bad_values():
    with pytest.raises(ValueError, match="finetune steps=0 is invalid"):
        FineTuneSettings(steps=0)
    with pytest.raises(ValueError, match="finetune lr=-1"):
        FineTuneSettings(lr=-1)
    with pytest.raises(ValueError, match="weight clip=1.5 must lie in"):
        weight_scale(torch.ones(3), 8, clip=1.5)
    assert weight_scale(torch.tensor([-2.0, 1.0]), 8, clip=0.5) == pytest.approx(1.0 / 127)
    w = torch.tensor([[1, -2], [3, 0]], dtype=torch.int32)
    seq = make_crossbar(w, 1, HardwareConfig(), torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="applies to the offset weight encoding read in "
                                         "parallel mode"):
        seq.set_off_state("digital")
    par = make_crossbar(w, 1, HardwareConfig(operation_mode="parallel"),
                        torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="off-state mode='both' is not allowed"):
        par.set_off_state("both")
    par.set_off_state("digital")
    assert par.converted_columns == par.mapping.columns - 1


def test_cli_calibration_flags_need_calibrate():
    from cim.cli import _check_args, build_parser
    for argv, message in ((["--finetune-steps", "5"], "applies only with --calibrate"),
                          (["--calibrate", "all", "--calibration-images", "0"],
                           "must be a positive integer"),
                          (["--calibrate", "all", "--no-accuracy"], "does not apply with "
                                                                    "--no-accuracy"),
                          (["--calibrate", ""], "--calibrate '' names no stage")):
        with pytest.raises(ValueError, match=message):
            _check_args(build_parser().parse_args(argv))


def test_default_calibrated_name_names_its_source(monkeypatch, tmp_path):
    """Two source checkpoints with one config and seed give two files (review: the second
    replaced the first), and a calibrated checkpoint calibrated again gets a new name."""
    from cim.calibration import calibrated_checkpoint_path
    monkeypatch.setenv("NEUROPYSIM_HOME", str(tmp_path))
    cfg = HardwareConfig()
    shipped = calibrated_checkpoint_path("lenet5", "mnist5k", cfg, 0)
    mine = calibrated_checkpoint_path("lenet5", "mnist5k", cfg, 0, "/data/my-run.pt")
    again = calibrated_checkpoint_path("lenet5", "mnist5k", cfg, 0, mine)
    assert shipped.name == f"lenet5-mnist5k-calibrated-{cfg.config_hash()[:8]}-seed0.pt"
    assert mine.name == shipped.stem + "-from-my-run.pt"
    assert len({shipped, mine, again}) == 3
