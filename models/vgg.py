"""VGG-8 for CIFAR-10, layer for layer as DNN+NeuroSim V1.4's NetWork_VGG8.csv."""
from __future__ import annotations

from torch import nn

from .registry import NetworkSpec, register

# (in, out, followed by 2x2 max pool) for the six 3x3 convs; the geometry must match
# NeuroSim's NetWork_VGG8.csv so our chip estimates are comparable with its numbers.
_VGG8_CONVS = [
    (3, 128, False),
    (128, 128, True),
    (128, 256, False),
    (256, 256, True),
    (256, 512, False),
    (512, 512, True),
]


class VGG8(nn.Module):
    """Six bias-free 3x3 convs (pad 1) with ReLU, a 2x2 max pool after every second,
    then fc 8192->1024, ReLU, fc 1024->num_classes (bias-free)."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        layers: list[nn.Module] = []
        for cin, cout, pool in _VGG8_CONVS:
            layers += [nn.Conv2d(cin, cout, kernel_size=3, padding=1, bias=False), nn.ReLU()]
            if pool:
                layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(512 * 4 * 4, 1024, bias=False),
            nn.ReLU(),
            nn.Linear(1024, num_classes, bias=False),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


@register(NetworkSpec(
    name="vgg8",
    input_shape=(3, 32, 32),
    num_classes=10,
    default_dataset="cifar10",
    description="VGG-8 as in DNN+NeuroSim (6 conv 128-128-256-256-512-512, fc 8192-1024-10)",
))
def vgg8(num_classes: int) -> nn.Module:
    return VGG8(num_classes)
