"""Hugging Face ``transformers`` BERT models, accepted when that package is installed
(``pip install 'neuropysim[huggingface]'``).

Their forward passes hold Python control flow (mask building, cache handling) that torch.fx
cannot follow, so the attention products would stay invisible. Instead, a ``BertModel`` or
``BertForSequenceClassification`` (any config of model type ``bert`` with GELU, absolute
positions, not a decoder; built from its config, since no weights can be downloaded here) is
rebuilt from the blocks of models/_transformer.py with its own weights copied in: the same
post-LN encoder, written with explicit products (docs/transformers.md).

The rebuilt network takes the *embedded* tokens ``(N, T, width)`` - the sum of the word,
position and token-type embeddings, a table lookup the chip does not compute - and applies
BERT's embedding LayerNorm first; it returns the classifier's logits
(``BertForSequenceClassification``), else the pooled [CLS] output (or the last hidden state
when the model has no pooler). Its outputs equal the original's on the same embedded inputs
(tests/test_huggingface.py). Default input shape: 128 tokens (``--input-shape T,width``).
"""
from __future__ import annotations

import torch
from torch import nn

from models._transformer import EncoderBlock

from .convert import UnsupportedLayerError

__all__ = ["DEFAULT_TOKENS", "HuggingFaceBert", "from_huggingface", "is_huggingface"]

DEFAULT_TOKENS = 128
SUPPORTED = ("BertModel", "BertForSequenceClassification")


def is_huggingface(module) -> bool:
    """True for a model object of the transformers package."""
    return type(module).__module__.startswith("transformers.")


class HuggingFaceBert(nn.Module):
    """BERT's encoder in explicit form: embedding LayerNorm, post-LN blocks, pooler, head."""

    def __init__(self, config, pooler: bool, labels: int | None):
        super().__init__()
        width, eps = config.hidden_size, config.layer_norm_eps
        self.embed_norm = nn.LayerNorm(width, eps=eps)
        self.blocks = nn.Sequential(*[
            EncoderBlock(width, config.num_attention_heads, config.intermediate_size,
                         pre_norm=False) for _ in range(config.num_hidden_layers)])
        for block in self.blocks:
            block.norm1.eps = block.norm2.eps = eps
        self.pooler = nn.Linear(width, width) if pooler else None
        self.pool_act = nn.Tanh()
        self.classifier = nn.Linear(width, labels) if labels else None

    def forward(self, x):                          # x: (N, tokens, width), embedded
        x = self.blocks(self.embed_norm(x))
        if self.pooler is None:
            return x
        pooled = self.pool_act(self.pooler(x[:, 0]))
        return pooled if self.classifier is None else self.classifier(pooled)


def _check(module) -> None:
    name, config = type(module).__name__, module.config
    why = ("" if name in SUPPORTED and config.model_type == "bert" else
           f"{name} (model type {config.model_type!r}) is not a BERT model of "
           f"{', '.join(SUPPORTED)}")
    if not why and config.hidden_act != "gelu":
        why = f"hidden_act={config.hidden_act!r} (only 'gelu')"
    if not why and getattr(config, "is_decoder", False):
        why = "is_decoder=True (a BERT decoder's cross-attention is not rebuilt)"
    if not why and getattr(config, "position_embedding_type", "absolute") not in (None,
                                                                                 "absolute"):
        why = f"position_embedding_type={config.position_embedding_type!r} (only 'absolute')"
    if why:
        raise UnsupportedLayerError(f"Hugging Face model not supported: {why}")


def _copy_linear(ours: nn.Linear, theirs: nn.Linear) -> None:
    ours.weight.copy_(theirs.weight)
    ours.bias.copy_(theirs.bias)


def _copy_norm(ours: nn.LayerNorm, theirs: nn.LayerNorm) -> None:
    ours.weight.copy_(theirs.weight)
    ours.bias.copy_(theirs.bias)


@torch.no_grad()
def _copy_weights(ours: HuggingFaceBert, bert, classifier) -> None:
    _copy_norm(ours.embed_norm, bert.embeddings.LayerNorm)
    for block, layer in zip(ours.blocks, bert.encoder.layer):
        attn = layer.attention
        for mine, theirs in ((block.attn.q, attn.self.query), (block.attn.k, attn.self.key),
                             (block.attn.v, attn.self.value), (block.attn.out, attn.output.dense),
                             (block.fc1, layer.intermediate.dense), (block.fc2, layer.output.dense)):
            _copy_linear(mine, theirs)
        _copy_norm(block.norm1, attn.output.LayerNorm)
        _copy_norm(block.norm2, layer.output.LayerNorm)
    if ours.pooler is not None:
        _copy_linear(ours.pooler, bert.pooler.dense)
    if ours.classifier is not None:
        _copy_linear(ours.classifier, classifier)


def from_huggingface(module: nn.Module) -> tuple[HuggingFaceBert, tuple[int, int]]:
    """The explicit form of a transformers BERT model and its default input shape
    (DEFAULT_TOKENS, width). UnsupportedLayerError (one line) for any other model."""
    _check(module)
    classify = type(module).__name__ == "BertForSequenceClassification"
    bert = module.bert if classify else module
    ours = HuggingFaceBert(module.config, bert.pooler is not None,
                           module.config.num_labels if classify else None)
    _copy_weights(ours, bert, module.classifier if classify else None)
    return ours.eval(), (DEFAULT_TOKENS, module.config.hidden_size)
