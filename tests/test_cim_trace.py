"""Traces written by step 1 read back identically (cim.recorder + contracts.trace)."""
import dataclasses
import json

import numpy as np
import pytest
import torch

import models
from contracts.config import HardwareConfig
from cim import recorder
from cim.convert import convert, set_mode
from cim.quantize import quantize_weight
from cim.passes import calibrate_activations, evaluate, ordered_layers, program
from cim.run import run
from contracts.trace import read_trace, write_trace


def _record(network, shape, cfg, images=2):
    torch.manual_seed(0)
    model = models.build(network, seed=0)
    x = torch.rand(8, *shape, generator=torch.Generator().manual_seed(0))
    cim_model, analysis = convert(model)
    layers = ordered_layers(cim_model, analysis)
    set_mode(cim_model, "float")
    evaluate(cim_model, x, None, 8)
    calibrate_activations(cim_model, layers, x, cfg, None)
    program(cim_model, layers, cfg, 0, x, 8)
    set_mode(cim_model, "hw")
    recorder.start_recording(layers, images)
    evaluate(cim_model, x, None, 3)                  # batches of 3: recording spans batches
    recorder.stop_recording(layers)
    return recorder.collect(layers, analysis), model


@pytest.mark.parametrize("mode", ["sequential", "parallel"])
def test_trace_round_trip_is_identical(tmp_path, mode):
    cfg = HardwareConfig(operation_mode=mode, adc_bits=5)
    traces, model = _record("lenet5", (1, 28, 28), cfg, images=4)
    folder = write_trace(tmp_path / "layer_record_LENET5", "lenet5", traces, cfg.to_dict(),
                         cfg.config_hash(), dataset={"name": "synthetic"},
                         accuracy={"float": None})
    back = read_trace(folder)
    assert back.network == "lenet5" and back.config == cfg.to_dict()
    assert len(back.layers) == len(traces) == 5
    for wrote, read in zip(traces, back.layers):
        assert read.geometry == dataclasses.replace(wrote.geometry, file=read.geometry.file)
        assert np.array_equal(read.weight_codes, wrote.weight_codes)
        assert np.array_equal(read.input_codes, wrote.input_codes)
        assert read.weight_scale == wrote.weight_scale and read.input_scale == wrote.input_scale
        assert read.images == 4
    # codes are what the quantizer gives: weights of the model, images x 255
    first = back.layers[0]
    codes, scale = quantize_weight(model.features[0].weight, 8)
    assert np.array_equal(first.weight_codes, codes.numpy()) and first.weight_scale == scale
    assert first.input_codes.max() <= 255 and first.input_scale == pytest.approx(1 / 255)


def test_manifest_matches_the_layers(tmp_path):
    result = run(HardwareConfig(), network="lenet5", dataset="mnist5k", eval_images=20,
                 images=2, trace_dir=tmp_path / "t")
    manifest = json.loads((tmp_path / "t" / "manifest.json").read_text())
    assert manifest["config_hash"] == HardwareConfig().config_hash()
    assert manifest["dataset"]["name"] == "mnist5k"
    assert manifest["accuracy"]["hardware"] == result.accuracy["hardware"]
    assert manifest["images"] == 2
    conv1, conv2, fc1, fc2, fc3 = manifest["layers"]
    assert (conv1["kind"], conv1["in_channels"], conv1["out_channels"]) == ("conv2d", 1, 6)
    assert conv1["kernel_size"] == [5, 5] and conv1["padding"] == [2, 2]
    assert conv1["input_hw"] == [28, 28] and conv1["output_hw"] == [28, 28]
    assert conv1["followed_by"] == ["relu", "maxpool2x2"]
    assert conv2["input_hw"] == [14, 14] and conv2["output_hw"] == [10, 10]
    assert (fc1["kind"], fc1["in_channels"], fc1["out_channels"]) == ("linear", 400, 120)
    assert fc3["followed_by"] == []
    trace = read_trace(tmp_path / "t")
    for entry, layer in zip(manifest["layers"], trace.layers):
        assert layer.weight_codes.shape == layer.geometry.weight_shape
        assert layer.input_codes.shape == layer.geometry.input_shape(2)
        assert (tmp_path / "t" / entry["file"]).is_file()
    csv = (tmp_path / "t" / "NetWork.csv").read_text().splitlines()
    assert csv[0] == "28,28,1,5,5,6,1,1" and len(csv) == 5


def test_vgg8_trace_is_small(tmp_path):
    result = run(HardwareConfig(), network="vgg8", dataset="synthetic", images=1,
                 trace_dir=tmp_path / "vgg")
    # 13.0 M weights at 8 bits: the weight codes alone are ~12.5 MiB of near-incompressible
    # data for a random init; the traced input codes are small
    assert result.trace_bytes <= 14 * 2 ** 20
    assert len(read_trace(tmp_path / "vgg").layers) == 8
