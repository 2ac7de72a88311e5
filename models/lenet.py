"""LeNet-5 for 28x28 digits (the common variant: padding 2 on the first conv)."""
from __future__ import annotations

from torch import nn

from .registry import NetworkSpec, register


class LeNet5(nn.Module):
    """conv5x5 1->6 (pad 2), pool, conv5x5 6->16, pool, fc 400-120-84-classes.

    ReLU and max pooling replace LeCun's tanh and subsampling, as in NeuroSim's
    WAGE-style models; every compute layer is bias-free.
    """

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5, padding=2, bias=False),   # 28x28 -> 28x28
            nn.ReLU(),
            nn.MaxPool2d(2),                                         # -> 14x14
            nn.Conv2d(6, 16, kernel_size=5, bias=False),             # -> 10x10
            nn.ReLU(),
            nn.MaxPool2d(2),                                         # -> 5x5
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120, bias=False),
            nn.ReLU(),
            nn.Linear(120, 84, bias=False),
            nn.ReLU(),
            nn.Linear(84, num_classes, bias=False),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


@register(NetworkSpec(
    name="lenet5",
    input_shape=(1, 28, 28),
    num_classes=10,
    default_dataset="mnist5k",
    description="LeNet-5 (conv 6, conv 16, fc 120-84), bias-free, ReLU, max pooling",
))
def lenet5(num_classes: int) -> nn.Module:
    return LeNet5(num_classes)
