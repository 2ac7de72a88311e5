"""Hugging Face transformers BERT models (cim/huggingface.py): rebuilt in explicit form with
their weights, equal outputs on the same embedded tokens, through both steps; other models
refused in one line. Needs the optional package (the test extra installs it)."""
from __future__ import annotations

import warnings

import pytest
import torch

from chip.estimator import estimate
from cim.convert import UnsupportedLayerError
from cim.huggingface import from_huggingface
from cim.run import run
from contracts.config import HardwareConfig
from contracts.trace import read_trace
from tests.conftest import cannot_run

try:
    import transformers
except ImportError:
    transformers = None


@pytest.fixture(autouse=True)
def _needs_transformers():
    if transformers is None:
        cannot_run("module", "transformers is not installed (pip install "
                             "'neuropysim[huggingface]')")


def _tiny_bert(cls_name="BertForSequenceClassification", **extra):
    torch.manual_seed(0)
    config = transformers.BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                     intermediate_size=64, num_labels=3, **extra)
    return getattr(transformers, cls_name)(config).eval()


def test_rebuilt_bert_gives_the_same_outputs():
    hf = _tiny_bert()
    ours, shape = from_huggingface(hf)
    assert shape == (128, 32)
    ids = torch.randint(0, hf.config.vocab_size, (3, 10))
    emb = hf.bert.embeddings
    embedded = (emb.word_embeddings(ids) + emb.position_embeddings(torch.arange(10))
                + emb.token_type_embeddings(torch.zeros_like(ids)))
    with torch.no_grad():
        expected = hf(input_ids=ids).logits
        got = ours(embedded)
    assert torch.allclose(got, expected, atol=1e-5), (got - expected).abs().max()


def test_a_bert_runs_through_both_steps(tmp_path):
    hf = _tiny_bert()
    result = run(HardwareConfig(), network=hf, dataset="synthetic", input_shape=(8, 32),
                 trace_dir=tmp_path / "t")
    trace = read_trace(tmp_path / "t")
    kinds = [layer.geometry.kind for layer in trace.layers]
    assert kinds.count("dynamic_matmul") == 4                 # Q.K^T and A.V in 2 layers
    assert kinds.count("linear") == 2 * 6 + 2                 # q k v out fc1 fc2, pooler, head
    assert result.network == "bertforsequenceclassification"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = estimate(trace, HardwareConfig()).summary
    assert summary["dynamic_matmul_layers"] == 4 and summary["area_mm2"] > 0


@pytest.mark.parametrize("change, message", [
    (dict(hidden_act="relu"), "hidden_act='relu' \\(only 'gelu'\\)"),
    (dict(is_decoder=True), "is_decoder=True"),
])
def test_other_berts_are_refused_in_one_line(change, message):
    with pytest.raises(UnsupportedLayerError, match=message):
        from_huggingface(_tiny_bert(**change))


def test_other_model_types_are_refused_in_one_line():
    torch.manual_seed(0)
    gpt = transformers.GPT2Model(transformers.GPT2Config(n_embd=32, n_layer=1, n_head=4))
    with pytest.raises(UnsupportedLayerError, match="GPT2Model \\(model type 'gpt2'\\) is not"):
        from_huggingface(gpt)
