"""ResNet-18 in its CIFAR (3x3 stem) and ImageNet (7x7 stem + max pool) forms."""
from __future__ import annotations

from torch import nn

from .registry import NetworkSpec, register


class BasicBlock(nn.Module):
    """Two 3x3 convs with BatchNorm; identity shortcut, or a 1x1 conv + BN when the
    stride or channel count changes. ReLU modules are separate and not in-place so
    forward hooks (trace writers) see every tensor unmodified."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu2 = nn.ReLU()
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                nn.BatchNorm2d(cout),
            )
        else:
            self.downsample = None

    def forward(self, x):
        shortcut = x if self.downsample is None else self.downsample(x)
        y = self.relu1(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu2(y + shortcut)


class ResNet18(nn.Module):
    """ResNet-18: stem, four stages of two BasicBlocks (64, 128, 256, 512 channels;
    stride 2 at the start of stages 2-4), global average pool, bias-free fc."""

    def __init__(self, num_classes: int, imagenet_stem: bool):
        super().__init__()
        if imagenet_stem:
            self.stem = nn.Sequential(
                nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False),
                nn.BatchNorm2d(64),
                nn.ReLU(),
                nn.MaxPool2d(3, stride=2, padding=1),
            )
        else:
            # 32x32 inputs are too small to shrink 4x before the first block
            self.stem = nn.Sequential(
                nn.Conv2d(3, 64, 3, stride=1, padding=1, bias=False),
                nn.BatchNorm2d(64),
                nn.ReLU(),
            )
        stages = []
        cin = 64
        for i, cout in enumerate((64, 128, 256, 512)):
            stride = 1 if i == 0 else 2
            stages.append(nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)))
            cin = cout
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(512, num_classes, bias=False)

    def forward(self, x):
        x = self.stem(x)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.flatten(self.pool(x)))


@register(NetworkSpec(
    name="resnet18-cifar",
    input_shape=(3, 32, 32),
    num_classes=10,
    default_dataset="cifar10",
    description="ResNet-18, 3x3 stem without max pool (CIFAR 32x32), BatchNorm, bias-free convs/fc",
))
def resnet18_cifar(num_classes: int) -> nn.Module:
    return ResNet18(num_classes, imagenet_stem=False)


@register(NetworkSpec(
    name="resnet18-imagenet",
    input_shape=(3, 224, 224),
    num_classes=1000,
    default_dataset="synthetic",
    description="ResNet-18, 7x7 stride-2 stem + max pool (ImageNet 224x224), BatchNorm, bias-free convs/fc",
))
def resnet18_imagenet(num_classes: int) -> nn.Module:
    return ResNet18(num_classes, imagenet_stem=True)
