"""``nn.MultiheadAttention`` rewritten into the form a CIM chip computes.

torch's MultiheadAttention keeps its Q/K/V projections in one packed parameter and runs the
whole attention in one fused call, which hides the parts a chip computes differently. We
replace it (cim.convert, on the converted copy) by :class:`ExplicitAttention`: four
``nn.Linear`` (q, k, v, out: static weights, crossbar layers) and the two activation x
activation products per head written as ``@`` (dynamic-matmul layers), with the softmax,
scale and masks between them (digital). Its outputs equal the module's (tests).

Supported: ``batch_first`` True and False, separate ``kdim``/``vdim``, biases or none,
``attn_mask`` (bool: True = not allowed; or additive float, 2-D or 3-D), ``key_padding_mask``
(bool or additive), ``is_causal`` with a mask. Not supported (UnsupportedLayerError):
``add_bias_kv`` and ``add_zero_attn``. The second output (the attention weights) is None.
"""
from __future__ import annotations

import math

import torch
import torch.fx
from torch import nn

__all__ = ["ExplicitAttention", "apply_attention_mask", "rewrite_attention",
           "unsupported_attention"]


@torch.fx.wrap
def apply_attention_mask(scores: torch.Tensor, attn_mask, key_padding_mask) -> torch.Tensor:
    """Scores (N, H, L, S) with the masks of nn.MultiheadAttention applied: a bool mask sets
    the positions it marks True to -inf, a float mask is added. One fx leaf (the dtype
    decides at run time), part of the digital softmax step (cim.convert)."""
    n, h, length, source = scores.shape
    if attn_mask is not None:
        mask = attn_mask if attn_mask.dim() == 2 else attn_mask.view(n, h, length, source)
        scores = _masked(scores, mask)
    if key_padding_mask is not None:
        scores = _masked(scores, key_padding_mask.view(n, 1, 1, source))
    return scores


def _masked(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    if mask.dtype == torch.bool:
        return scores.masked_fill(mask, float("-inf"))
    return scores + mask


class ExplicitAttention(nn.Module):
    """Multi-head attention with explicit projections and products (module docstring)."""

    def __init__(self, embed_dim: int, num_heads: int, kdim: int, vdim: int, bias: bool,
                 batch_first: bool):
        super().__init__()
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.head_dim = embed_dim // num_heads
        self.batch_first = batch_first
        self.q_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.k_proj = nn.Linear(kdim, embed_dim, bias=bias)
        self.v_proj = nn.Linear(vdim, embed_dim, bias=bias)
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias)

    @classmethod
    def from_module(cls, mha: nn.MultiheadAttention) -> "ExplicitAttention":
        """The same attention with the module's weights (copied, not shared)."""
        bias = mha.in_proj_bias is not None
        new = cls(mha.embed_dim, mha.num_heads, mha.kdim, mha.vdim, bias, mha.batch_first)
        e = mha.embed_dim
        with torch.no_grad():
            if mha._qkv_same_embed_dim:
                weights = mha.in_proj_weight.split(e, dim=0)
            else:
                weights = (mha.q_proj_weight, mha.k_proj_weight, mha.v_proj_weight)
            biases = mha.in_proj_bias.split(e) if bias else (None, None, None)
            for proj, w, b in zip((new.q_proj, new.k_proj, new.v_proj), weights, biases):
                proj.weight.copy_(w)
                if b is not None:
                    proj.bias.copy_(b)
            new.out_proj.weight.copy_(mha.out_proj.weight)
            if bias:
                new.out_proj.bias.copy_(mha.out_proj.bias)
        return new.train(mha.training)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        """(N, L, E) -> (N, H, L, E/H)."""
        return x.reshape(x.shape[0], x.shape[1], self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        if not self.batch_first:                       # (L, N, E) -> (N, L, E)
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        q = self._heads(self.q_proj(query))
        k = self._heads(self.k_proj(key))
        v = self._heads(self.v_proj(value))
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.head_dim))
        if attn_mask is not None or key_padding_mask is not None:
            scores = apply_attention_mask(scores, attn_mask, key_padding_mask)
        probs = scores.softmax(dim=-1)
        out = (probs @ v).transpose(1, 2)
        out = self.out_proj(out.reshape(out.shape[0], out.shape[1], self.embed_dim))
        if not self.batch_first:
            out = out.transpose(0, 1)
        return out, None


def unsupported_attention(mha: nn.MultiheadAttention) -> str:
    """Why ``mha`` cannot be rewritten ("" when it can)."""
    if mha.bias_k is not None:
        return "(add_bias_kv=True)"
    if mha.add_zero_attn:
        return "(add_zero_attn=True)"
    return ""


def rewrite_attention(model: nn.Module) -> nn.Module:
    """Replace every nn.MultiheadAttention of ``model`` (in place) by ExplicitAttention."""
    for name, module in list(model.named_modules()):
        if isinstance(module, nn.MultiheadAttention):
            parent_name, _, attr = name.rpartition(".")
            parent = model.get_submodule(parent_name) if parent_name else model
            setattr(parent, attr, ExplicitAttention.from_module(module))
    return model
