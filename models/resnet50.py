"""ResNet-50 as torchvision defines it (``torchvision.models.resnet50``, ResNet v1.5: the stride
of a downsampling bottleneck sits on its 3x3 conv), for cost-only runs at 224x224.

Layer table (He et al. 2016, Table 1; torchvision's Bottleneck): 7x7/2 conv 64 + BN + ReLU,
3x3/2 max pool; four stages of [1x1, 3x3, 1x1] bottlenecks with 64/128/256/512 middle
channels, expansion 4, repeated 3, 4, 6, 3 times, stride 2 at the start of stages 2-4 (on the
3x3 conv), a 1x1 conv + BN shortcut where the shape changes; global average pool; fc 2048 ->
classes with bias. Convolutions have no bias. Initialisation as torchvision: convs Kaiming
normal (fan out, ReLU gain), batch norm weight 1 and bias 0, fc torch's default.
ReLUs are separate modules (torchvision reuses one in-place ReLU; the function is the same).
"""
from __future__ import annotations

from torch import nn

from .registry import NetworkSpec, register

__all__ = ["Bottleneck", "ResNet50"]

#: (middle channels, blocks, stride of the first block) per stage
STAGES = ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2))
EXPANSION = 4


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (carrying the stride), 1x1 expand x4, each with BN; ReLU after the
    first two and after the residual sum."""

    def __init__(self, cin: int, mid: int, stride: int):
        super().__init__()
        cout = mid * EXPANSION
        self.conv1 = nn.Conv2d(cin, mid, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(mid, mid, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.relu2 = nn.ReLU()
        self.conv3 = nn.Conv2d(mid, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.relu3 = nn.ReLU()
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        shortcut = x if self.downsample is None else self.downsample(x)
        y = self.relu1(self.bn1(self.conv1(x)))
        y = self.relu2(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return self.relu3(y + shortcut)


class ResNet50(nn.Module):
    """torchvision's ResNet-50 (module docstring)."""

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        cin, stages = 64, []
        for mid, blocks, stride in STAGES:
            layers = []
            for b in range(blocks):
                layers.append(Bottleneck(cin, mid, stride if b == 0 else 1))
                cin = mid * EXPANSION
            stages.append(nn.Sequential(*layers))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(cin, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.flatten(self.avgpool(x)))


@register(NetworkSpec(
    name="resnet50",
    input_shape=(3, 224, 224),
    num_classes=1000,
    default_dataset="synthetic",
    description="ResNet-50 (torchvision's definition, v1.5 bottlenecks), 224x224, random "
                "init unless a checkpoint is given",
))
def resnet50(num_classes: int) -> nn.Module:
    return ResNet50(num_classes)
