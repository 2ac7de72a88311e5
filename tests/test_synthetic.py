"""chip.synthetic: seeded synthetic traces that follow the trace contract."""
import numpy as np
import pytest

from contracts.config import HardwareConfig
from chip.synthetic import (geometries, geometries_from_network_csv, lenet5_mnist_geometries,
                            resnet18_imagenet_geometries, synthetic_layers, vgg8_cifar_geometries,
                            write_synthetic_trace)
from contracts.trace import read_trace
from conftest import importorskip


def test_vgg8_geometry_matches_neurosim_table():
    from contracts.trace import network_csv_rows
    rows = network_csv_rows(vgg8_cifar_geometries())
    assert rows[0] == [32, 32, 3, 3, 3, 128, 0, 1]
    assert rows[5] == [8, 8, 512, 3, 3, 512, 1, 1]
    assert rows[6] == [1, 1, 8192, 1, 1, 1024, 0, 1]
    assert len(rows) == 8


def test_resnet18_geometry():
    g = resnet18_imagenet_geometries()
    assert g[0].output_hw == (112, 112) and g[0].kernel_size == (7, 7)
    assert g[-1].kind == "linear" and g[-1].out_channels == 1000
    assert sum(1 for x in g if "downsample" in x.name) == 3
    assert g[-2].output_hw == (7, 7)
    # consecutive shapes agree (skip the parallel shortcut convs)
    assert sum(x.macs for x in g) == pytest.approx(1.81e9, rel=0.02)


def test_lenet5_geometry_matches_the_model():
    """The data in chip.synthetic agrees with models/lenet.py as step 1 would trace it."""
    torch = importorskip("torch")
    from cim.recorder import followed_by
    from models.lenet import LeNet5

    model = LeNet5()
    seen = {}
    for name, module in model.named_modules():
        if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
            module.register_forward_hook(
                lambda m, inp, out, name=name: seen.__setitem__(name, (m, inp[0].shape,
                                                                      out.shape)))
    model(torch.zeros(1, 1, 28, 28))
    after = followed_by(model)
    geoms = lenet5_mnist_geometries()
    assert [g.name for g in geoms] == list(seen)
    for g in geoms:
        module, x, y = seen[g.name]
        assert g.followed_by == after[g.name]
        if g.kind == "linear":
            assert (g.in_channels, g.out_channels) == (module.in_features, module.out_features)
            continue
        assert (g.in_channels, g.out_channels) == (module.in_channels, module.out_channels)
        assert (g.kernel_size, g.stride, g.padding) == (module.kernel_size, module.stride,
                                                        module.padding)
        assert (g.input_hw, g.output_hw) == (tuple(x[2:]), tuple(y[2:]))
    assert sum(g.macs for g in geoms) == 28 * 28 * 6 * 25 + 10 * 10 * 16 * 6 * 25 + \
        400 * 120 + 120 * 84 + 84 * 10


def test_network_csv_roundtrip(tmp_path):
    from contracts.trace import network_csv_rows
    rows = network_csv_rows(vgg8_cifar_geometries())
    path = tmp_path / "NetWork.csv"
    path.write_text("".join(",".join(map(str, r)) + "\n" for r in rows))
    assert network_csv_rows(geometries_from_network_csv(path)) == rows


def test_seeded_and_sparsity():
    g = vgg8_cifar_geometries()[:2]
    a = synthetic_layers(g, seed=3, input_sparsity=0.7)
    b = synthetic_layers(g, seed=3, input_sparsity=0.7)
    c = synthetic_layers(g, seed=4, input_sparsity=0.7)
    assert np.array_equal(a[1].input_codes, b[1].input_codes)
    assert not np.array_equal(a[1].input_codes, c[1].input_codes)
    zero = np.mean(a[1].input_codes == 0)
    assert zero == pytest.approx(0.7, abs=0.01)
    assert a[1].weight_codes.min() >= -128 and a[1].weight_codes.max() <= 127


def test_write_and_read_back(tmp_path):
    folder = write_synthetic_trace(tmp_path / "layer_record_VGG8", "vgg8", images=1, seed=0)
    trace = read_trace(folder)
    assert trace.network == "VGG8"
    assert len(trace.layers) == 8
    assert trace.manifest["config"] == HardwareConfig().to_dict()
    assert (folder / "NetWork.csv").is_file()


def test_unknown_network():
    with pytest.raises(ValueError, match="no built-in geometry"):
        geometries("alexnet")
