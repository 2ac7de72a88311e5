"""Multi-layer perceptron for 28x28 digits (784-128-10)."""
from __future__ import annotations

from torch import nn

from .registry import NetworkSpec, register


@register(NetworkSpec(
    name="mlp",
    input_shape=(1, 28, 28),
    num_classes=10,
    default_dataset="mnist5k",
    description="MLP 784-128-10, bias-free, ReLU (28x28 digits)",
))
def mlp(num_classes: int) -> nn.Module:
    """Flatten -> Linear 784->128 -> ReLU -> Linear 128->num_classes, no biases."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 128, bias=False),
        nn.ReLU(),
        nn.Linear(128, num_classes, bias=False),
    )
