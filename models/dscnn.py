"""A small depthwise-separable CNN for 28x28 digits (the shipped example of grouped layers).

This file is all it takes to register a network: ``models/__init__.py`` imports every file
of this folder, and the decorator below puts the factory in the registry (docs/models.md).
"""
from __future__ import annotations

from torch import nn

from .registry import NetworkSpec, register


def _separable(cin: int, cout: int) -> list[nn.Module]:
    """Depthwise 3x3 (one filter per channel, groups = channels), then pointwise 1x1, each
    with batch normalisation (digital periphery) and ReLU."""
    return [nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False), nn.BatchNorm2d(cin),
            nn.ReLU(), nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


@register(NetworkSpec(
    name="dscnn",
    input_shape=(1, 28, 28),
    num_classes=10,
    default_dataset="mnist5k",
    description="depthwise-separable CNN (conv 16, dw+pw 32, dw+pw 64, global average "
                "pool, fc), bias-free, batch norm, ReLU",
))
def dscnn(num_classes: int) -> nn.Module:
    """conv3x3 1->16, pool, [dw3x3 + pw1x1] 16->32, pool, [dw3x3 + pw1x1] 32->64,
    global 7x7 average pool, fc 64->classes (3.8k weights; batch norm after every conv)."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
        nn.MaxPool2d(2),                                                            # 14x14
        *_separable(16, 32), nn.MaxPool2d(2),                                       # 7x7
        *_separable(32, 64),
        nn.AvgPool2d(7), nn.Flatten(),
        nn.Linear(64, num_classes, bias=False),
    )
