"""MobileNetV2 as torchvision defines it (``torchvision.models.mobilenet_v2``; Sandler et al.
2018, Table 2), with its width multiplier.

Layer table: 3x3/2 conv to 32 channels + BN + ReLU6; inverted residual blocks (t, c, n, s) =
(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
(6, 320, 1, 1): a 1x1 expansion to t x the input channels + BN + ReLU6 (none when t = 1), a
3x3 depthwise conv (groups = channels, stride s on the first of n blocks) + BN + ReLU6, a
1x1 linear projection + BN, and the input added back when the stride is 1 and the channels
agree; a 1x1 conv to 1280 channels + BN + ReLU6; global average pool, dropout 0.2, fc with
bias. Channel counts are the width multiplier's, rounded to multiples of 8 (never below 90 %
of the exact value); the last conv keeps 1280 for multipliers below 1. Convolutions have no
bias. Initialisation as torchvision: convs Kaiming normal (fan out), batch norm 1 and 0, fc
normal(0, 0.01) with zero bias.
"""
from __future__ import annotations

from torch import nn

from .registry import NetworkSpec, register

__all__ = ["InvertedResidual", "MobileNetV2", "make_divisible"]

#: (expansion t, output channels c, repeats n, first stride s) per stage (paper Table 2)
SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
            (6, 160, 3, 2), (6, 320, 1, 1))


def make_divisible(value: float, divisor: int = 8) -> int:
    """``value`` rounded to the nearest multiple of ``divisor`` (at least ``divisor``), one
    multiple more when rounding down lost over 10 % (torchvision's channel rounding)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def _conv_bn(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1,
             act: bool = True) -> list[nn.Module]:
    layers = [nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups,
                        bias=False), nn.BatchNorm2d(cout)]
    return layers + [nn.ReLU6()] if act else layers


class InvertedResidual(nn.Module):
    """Expansion 1x1 (t > 1), depthwise 3x3 with the stride, linear projection 1x1."""

    def __init__(self, cin: int, cout: int, stride: int, expansion: int):
        super().__init__()
        hidden = int(round(cin * expansion))
        layers = _conv_bn(cin, hidden, 1) if expansion != 1 else []
        layers += _conv_bn(hidden, hidden, 3, stride, groups=hidden)
        layers += _conv_bn(hidden, cout, 1, act=False)
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


class MobileNetV2(nn.Module):
    """torchvision's MobileNetV2 (module docstring)."""

    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0):
        super().__init__()
        if not width_mult > 0:
            raise ValueError(f"width_mult={width_mult!r} must be > 0")
        cin = make_divisible(32 * width_mult)
        last = make_divisible(1280 * max(1.0, width_mult))
        layers: list[nn.Module] = [nn.Sequential(*_conv_bn(3, cin, 3, 2))]
        for t, c, n, s in SETTINGS:
            cout = make_divisible(c * width_mult)
            for i in range(n):
                layers.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                cin = cout
        layers.append(nn.Sequential(*_conv_bn(cin, last, 1)))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.classifier(self.flatten(self.pool(self.features(x))))


@register(NetworkSpec(
    name="mobilenetv2",
    input_shape=(3, 224, 224),
    num_classes=1000,
    default_dataset="synthetic",
    description="MobileNetV2 (torchvision's definition, width 1.0), 224x224, depthwise "
                "separable inverted residuals, random init unless a checkpoint is given",
))
def mobilenetv2(num_classes: int) -> nn.Module:
    return MobileNetV2(num_classes)
