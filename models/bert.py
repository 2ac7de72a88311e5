"""A BERT-base-shaped encoder for cost-only runs (no trained weights: none are shipped).

Shape of BERT-base (Devlin et al., 2019): 12 post-LN encoder blocks, width 768, 12 heads,
feed-forward 3072 with GELU, here over sequences of 128 tokens. The input is the already
embedded sequence (N, 128, 768) - the sum of word, position and segment embeddings, a table
lookup the chip does not compute - followed by BERT's embedding LayerNorm; the output is the
pooled first token ([CLS]: Linear + tanh) and a Linear classifier.

Run it cost-only (synthetic inputs: the data sets shipped here are images):
``python inference_sim.py --model bert-base --dataset synthetic``.
"""
from __future__ import annotations

from torch import nn

from .registry import NetworkSpec, register
from ._transformer import EncoderBlock

__all__ = ["BertEncoder"]


class BertEncoder(nn.Module):
    """Embedding LayerNorm, ``depth`` post-LN encoder blocks, [CLS] pooler and classifier."""

    def __init__(self, num_classes: int = 2, width: int = 768, depth: int = 12,
                 heads: int = 12, hidden: int = 3072):
        super().__init__()
        self.embed_norm = nn.LayerNorm(width)
        self.blocks = nn.Sequential(*[EncoderBlock(width, heads, hidden, pre_norm=False)
                                      for _ in range(depth)])
        self.pooler = nn.Linear(width, width)
        self.pool_act = nn.Tanh()
        self.classifier = nn.Linear(width, num_classes)

    def forward(self, x):                                  # x: (N, tokens, width), embedded
        x = self.blocks(self.embed_norm(x))
        return self.classifier(self.pool_act(self.pooler(x[:, 0])))


@register(NetworkSpec(
    name="bert-base",
    input_shape=(128, 768),
    num_classes=2,
    default_dataset="synthetic",
    description="BERT-base-shaped encoder: 12 post-LN blocks, width 768, 12 heads, FFN 3072, "
                "128 embedded tokens in (cost only)",
))
def bert_base(num_classes: int) -> nn.Module:
    return BertEncoder(num_classes)
