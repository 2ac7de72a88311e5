"""Transformer blocks shared by the registered transformers (models/vit.py, models/bert.py).

Written with explicit products (``q @ k^T``, ``a @ v``) so that every part is visible to
cim.convert: the Linears are crossbar layers, the two products per head dynamic-matmul
layers, LayerNorm / softmax / GELU / residual adds digital steps (docs/transformers.md).
Not a registered network itself (a leading underscore: models/__init__ skips it).
"""
from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["SelfAttention", "EncoderBlock"]


class SelfAttention(nn.Module):
    """Multi-head self-attention: q/k/v/out Linears, scaled dot products per head; with
    ``causal``, position i attends to positions <= i only (a decoder block built for
    sequences of exactly ``tokens``: its mask is a constant, which torch.fx can follow)."""

    def __init__(self, width: int, heads: int, causal: bool = False, tokens: int = 1):
        super().__init__()
        if width % heads:
            raise ValueError(f"width={width} must be a multiple of heads={heads}")
        if causal and tokens < 2:   # a 1 x 1 mask would broadcast to "see everything"
            raise ValueError(f"causal=True needs tokens= the sequence length (>= 2), got "
                             f"tokens={tokens}")
        self.heads, self.head_dim = heads, width // heads
        self.q = nn.Linear(width, width)
        self.k = nn.Linear(width, width)
        self.v = nn.Linear(width, width)
        self.out = nn.Linear(width, width)
        self.causal = causal
        if causal:   # True above the diagonal: the future a token must not see
            self.register_buffer("future", torch.ones(tokens, tokens, dtype=torch.bool)
                                 .triu(1), persistent=False)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        n, t, _ = x.shape
        return x.reshape(n, t, self.heads, self.head_dim).transpose(1, 2)    # N, H, T, d

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, width = x.shape
        q, k, v = self._split(self.q(x)), self._split(self.k(x)), self._split(self.v(x))
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.head_dim))
        if self.causal:
            scores = scores.masked_fill(self.future, float("-inf"))
        mixed = (scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(n, t, width)
        return self.out(mixed)


class EncoderBlock(nn.Module):
    """Transformer block: pre-LN (x + attn(LN x), x + mlp(LN x); ViT) or post-LN
    (LN(x + attn x), LN(x + mlp x); BERT)."""

    def __init__(self, width: int, heads: int, hidden: int, pre_norm: bool = True,
                 causal: bool = False, tokens: int = 1):
        super().__init__()
        self.pre_norm = pre_norm
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.attn = SelfAttention(width, heads, causal, tokens)
        self.fc1, self.act, self.fc2 = nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden,
                                                                                    width)

    def _mlp(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pre_norm:
            x = x + self.attn(self.norm1(x))
            return x + self._mlp(self.norm2(x))
        x = self.norm1(x + self.attn(x))
        return self.norm2(x + self._mlp(x))
