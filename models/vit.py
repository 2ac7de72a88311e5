"""A small Vision Transformer for 28x28 digits (blocks: models/_transformer.py)."""
from __future__ import annotations

import torch
from torch import nn

from ._transformer import EncoderBlock
from .registry import NetworkSpec, register

__all__ = ["ViT"]


class ViT(nn.Module):
    """Patch embedding (a Conv2d with stride = kernel), class token, learned positions,
    pre-LN encoder blocks, LayerNorm and a Linear head on the class token."""

    def __init__(self, num_classes: int = 10, image: int = 28, patch: int = 7,
                 channels: int = 1, width: int = 64, depth: int = 4, heads: int = 4,
                 hidden: int = 128):
        super().__init__()
        tokens = (image // patch) ** 2 + 1
        self.patch = nn.Conv2d(channels, width, kernel_size=patch, stride=patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, width))
        self.pos = nn.Parameter(torch.randn(1, tokens, width) * 0.02)
        self.blocks = nn.Sequential(*[EncoderBlock(width, heads, hidden)
                                      for _ in range(depth)])
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch(x).flatten(2).transpose(1, 2)                    # N, patches, width
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
        x = self.norm(self.blocks(x))
        return self.head(x[:, 0])


@register(NetworkSpec(
    name="vit",
    input_shape=(1, 28, 28),
    num_classes=10,
    default_dataset="mnist5k",
    description="ViT: 7x7 patches (16 + class token), 4 pre-LN blocks, width 64, 4 heads, "
                "MLP 128, GELU",
))
def vit(num_classes: int) -> nn.Module:
    return ViT(num_classes)
