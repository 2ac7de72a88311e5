"""Walking user networks (cim/convert.py): supported layers, followed_by, unsupported list."""
import pytest
import torch
from torch import nn

import models
from contracts.config import HardwareConfig
from cim.convert import UnsupportedLayerError, analyse, convert
from cim.run import run


class Residual(nn.Module):
    """A tiny ResNet-style block: conv-BN-ReLU, conv-BN, shortcut add, ReLU, pool, fc."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 4, 3, padding=1, bias=False)
        self.c1 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.c2 = nn.Conv2d(4, 4, 3, padding=1, bias=True)
        self.bn2 = nn.BatchNorm2d(4)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        y = torch.relu(self.bn1(self.c1(x)))
        y = self.bn2(self.c2(y))
        return self.fc(torch.flatten(self.pool(torch.relu(x + y)), 1))


def test_lenet_layers_and_what_follows_them():
    a = analyse(models.build("lenet5"))
    assert a.compute == ["features.0", "features.3", "classifier.1", "classifier.3",
                         "classifier.5"]
    assert a.followed_by["features.0"] == ("relu", "maxpool2x2")
    assert a.followed_by["classifier.1"] == ("relu",)
    assert a.followed_by["classifier.5"] == ()
    assert a.image_inputs == {"features.0"}


class OverlappingPools(nn.Module):
    """ResNet's stem pool (3x3, stride 2) as a module and as a function call."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(1, 4, 3, padding=1)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.b = nn.Conv2d(4, 4, 3, padding=1)

    def forward(self, x):
        x = self.pool(torch.relu(self.a(x)))
        return nn.functional.max_pool2d(self.b(x), 3, 2)


def test_pool_steps_name_a_stride_that_is_not_the_window():
    a = analyse(OverlappingPools())
    assert a.followed_by["a"] == ("relu", "maxpool3x3s2x2")
    assert a.followed_by["b"] == ("maxpool3x3s2x2",)


def test_residual_network_is_accepted():
    a = analyse(Residual())
    assert a.compute == ["stem", "c1", "c2", "fc"]
    assert a.followed_by["c2"] == ("batchnorm", "add", "relu", "globalavgpool")
    assert a.followed_by["c1"] == ("batchnorm", "relu")
    assert a.image_inputs == {"stem"}


def test_all_registered_networks_convert():
    for name in ("mlp", "lenet5", "vgg8", "resnet18-cifar"):
        model = models.build(name)
        cim, a = convert(model)
        assert len(a.compute) == len(models.compute_layers(model))


class Unsupported(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.act = nn.LeakyReLU()
        self.gate = nn.ELU()
        self.act2 = nn.LeakyReLU()
        self.fc = nn.Linear(2, 2)

    def forward(self, x):
        return self.fc(self.act2(self.gate(self.act(self.conv(x)))).mean((2, 3)))


def test_unsupported_layers_are_listed_by_name_in_one_error():
    with pytest.raises(UnsupportedLayerError) as err:
        analyse(Unsupported())
    text = str(err.value)
    assert "LeakyReLU (act, act2)" in text and "ELU (gate)" in text
    assert isinstance(err.value, ValueError)


def test_unsupported_functions_are_listed_too():
    class F(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            return torch.exp(self.fc(x.flatten(1)))

    with pytest.raises(UnsupportedLayerError, match="exp"):
        analyse(F())


def test_user_module_runs_through_the_python_api(tmp_path):
    cfg = HardwareConfig(operation_mode="parallel", adc_bits=6)
    result = run(cfg, network=Residual(), dataset="synthetic", input_shape=(1, 8, 8),
                 images=2, trace_dir=tmp_path / "trace")
    assert result.is_synthetic and result.accuracy["hardware"] is None
    names = [layer["name"] for layer in result.layers]
    assert names == ["stem", "c1", "c2", "fc"]
    # the residual's input to c1 is post-ReLU, so unsigned codes are used
    assert not any(layer["input_signed"] for layer in result.layers)
