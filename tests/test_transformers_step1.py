"""Transformers in step 1: attention's dynamic products, Linears over tokens, the MHA rewrite
(cim.dynamic, cim.attention, cim.convert)."""
import numpy as np
import pytest
import torch
from torch import nn

from cim import recorder
from cim.attention import ExplicitAttention
from cim.convert import UnsupportedLayerError, analyse, convert, set_mode
from cim.dynamic import DynamicMatmul
from cim.passes import calibrate_activations, evaluate, ordered_layers, program
from cim.quantize import QuantSpec, quantize
from cim.run import run
from contracts.config import HardwareConfig
from contracts.trace import read_trace
from models._transformer import EncoderBlock


class ToyEncoder(nn.Module):
    """One pre-LN block over T tokens of width 16 (4 heads), a Linear head on token 0."""

    def __init__(self, causal=False, tokens=6):
        super().__init__()
        self.embed = nn.Linear(8, 16)
        self.block = EncoderBlock(16, 4, 32, causal=causal, tokens=tokens)
        self.head = nn.Linear(16, 3)

    def forward(self, x):                         # x: (N, T, 8)
        return self.head(self.block(self.embed(x))[:, 0])


class MHAModel(nn.Module):
    def __init__(self, batch_first, **kw):
        super().__init__()
        self.batch_first = batch_first
        self.mha = nn.MultiheadAttention(16, 4, batch_first=batch_first, **kw)

    def forward(self, x, mask=None, padding=None):
        y, _ = self.mha(x, x, x, attn_mask=mask, key_padding_mask=padding)
        return y


def _inputs(n=5, t=6, f=8, seed=0):
    return torch.rand(n, t, f, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def _prepared(model, cfg, x, seed=0):
    """A converted model, calibrated and programmed on ``x``."""
    torch.manual_seed(seed)
    cim_model, analysis = convert(model)
    layers = ordered_layers(cim_model, analysis)
    calibrate_activations(cim_model, layers, x, cfg, None)
    program(cim_model, layers, cfg, seed, x, len(x))
    return cim_model, layers, analysis


@pytest.mark.parametrize("batch_first", [True, False])
def test_mha_rewrite_gives_identical_outputs(batch_first):
    torch.manual_seed(1)
    model = MHAModel(batch_first).eval()
    x = torch.randn(3, 5, 16)                       # N=3, L=5
    if not batch_first:
        x = x.transpose(0, 1).contiguous()
    mask = torch.ones(5, 5, dtype=torch.bool).triu(1)
    padding = torch.zeros(3, 5, dtype=torch.bool)
    padding[1, 3:] = True                           # image 1 has 3 real tokens
    with torch.no_grad():
        want = model(x, mask, padding)
        cim_model, analysis = convert(model)
        got = cim_model(x, mask, padding)
    assert len(analysis.dynamic) == 2
    assert analysis.compute == ["mha.q_proj", "mha.k_proj", "mha.v_proj", "mha.matmul0",
                                "mha.matmul1", "mha.out_proj"]
    assert torch.allclose(got, want, atol=1e-6)


def test_mha_with_separate_kv_dims_and_float_mask():
    torch.manual_seed(2)
    mha = nn.MultiheadAttention(16, 2, kdim=6, vdim=10, batch_first=True).eval()
    q, k, v = torch.randn(2, 4, 16), torch.randn(2, 7, 6), torch.randn(2, 7, 10)
    mask = torch.randn(4, 7)
    explicit = ExplicitAttention.from_module(mha)
    with torch.no_grad():
        assert torch.allclose(explicit(q, k, v, attn_mask=mask)[0],
                              mha(q, k, v, attn_mask=mask)[0], atol=1e-6)


def test_toy_encoder_analysis_names_every_part():
    analysis = analyse(ToyEncoder())
    assert analysis.dynamic == ["block.attn.matmul0", "block.attn.matmul1"]
    assert analysis.compute == ["embed", "block.attn.q", "block.attn.k", "block.attn.v",
                                "block.attn.matmul0", "block.attn.matmul1", "block.attn.out",
                                "block.fc1", "block.fc2", "head"]
    follows = analysis.followed_by
    assert follows["block.attn.matmul0"] == ("softmax",)
    assert follows["block.attn.out"] == ("add", "layernorm")
    assert follows["block.fc1"] == ("gelu",)


def test_toy_encoder_trace_follows_the_contract(tmp_path):
    model = ToyEncoder().eval()
    cfg = HardwareConfig()
    result = run(cfg, network=model, dataset="synthetic", input_shape=(6, 8), images=2,
                 trace_dir=tmp_path / "trace", write_trace=True)
    trace = read_trace(result.trace_dir)
    kinds = {layer.geometry.name: layer for layer in trace.layers}
    qk, av = kinds["block.attn.matmul0"], kinds["block.attn.matmul1"]
    for layer in (qk, av):
        g = layer.geometry
        assert g.kind == "dynamic_matmul" and g.groups == 4
        assert g.input_hw == g.output_hw == (6, 1)
        assert g.in_channels == 4 * (4 if layer is qk else 6)
        assert g.out_channels == 4 * (6 if layer is qk else 4)
        assert layer.weight_codes.shape == g.weight_codes_shape(2)
        assert layer.input_codes.shape == g.input_shape(2)
        assert np.ndim(layer.weight_scale) == 0
    assert qk.geometry.input_signed and not av.geometry.input_signed
    assert qk.geometry.followed_by == ("softmax",)
    assert av.input_codes.min() >= 0 and qk.input_codes.min() < 0
    q = kinds["block.attn.q"]
    assert q.geometry.kind == "linear" and q.geometry.input_hw == (6, 1)
    assert q.input_codes.shape == (2, 6, 16)
    assert kinds["head"].geometry.input_hw == (1, 1) and kinds["head"].input_codes.shape == (2, 16)


def test_digital_policy_is_the_exact_integer_product():
    layer = DynamicMatmul("p")
    layer.config = HardwareConfig()
    gen = torch.Generator().manual_seed(3)
    x, w = torch.randn(2, 3, 5, 4, generator=gen), torch.randn(2, 3, 4, 7, generator=gen)
    layer.mode = "calibrate"
    layer(x, w)
    layer.program(layer.config, torch.Generator().manual_seed(0))
    layer.mode = "hw"
    got = layer(x, w).double()
    xs, ws = layer.act_spec(), layer.weight_spec()
    assert xs.signed and ws.scale == pytest.approx(float(w.abs().max()) / 127)
    exact = quantize(x, xs).long() @ quantize(w, ws).long()          # int64 products
    assert torch.allclose(got / (xs.scale * ws.scale), exact.double(), rtol=1e-6, atol=1e-3)


def _policy_outputs(policy, **fields):
    cfg = HardwareConfig(dynamic_matmul_policy=policy, **fields)
    x = _inputs()
    torch.manual_seed(0)
    model = ToyEncoder().eval()
    cim_model, layers, _ = _prepared(model, cfg, x)
    set_mode(cim_model, "hw")
    with torch.no_grad():
        return cim_model(x), layers


@pytest.mark.parametrize("mode", ["sequential", "parallel"])
def test_crossbar_policy_without_errors_matches_digital(mode):
    ideal = dict(operation_mode=mode, adc_bits=12, adc_range="full_scale", rows_in_parallel=4) \
        if mode == "parallel" else dict(operation_mode=mode)
    digital, _ = _policy_outputs("digital", **ideal)
    crossbar, _ = _policy_outputs("crossbar", **ideal)
    assert torch.allclose(digital, crossbar, atol=1e-5)


@pytest.mark.parametrize("mode", ["sequential", "parallel"])
def test_crossbar_policy_write_error_changes_outputs(mode):
    fields = dict(operation_mode=mode, programming_error_sigma=0.3,
                  programming_error_mode="state_independent")
    digital, _ = _policy_outputs("digital", **fields)
    crossbar, layers = _policy_outputs("crossbar", **fields)
    # the static layers are identical in both runs: only the written cells differ
    assert not torch.allclose(digital, crossbar, atol=1e-3)
    again, _ = _policy_outputs("crossbar", **fields)
    assert torch.equal(crossbar, again)                               # seeded


@pytest.mark.parametrize("causal", [True, False])
def test_causal_decoder_block_masks_the_future(causal):
    """The head reads token 0: behind a causal mask, later tokens cannot change it."""
    torch.manual_seed(0)
    model = ToyEncoder(causal=causal).eval()
    assert analyse(model).followed_by["block.attn.matmul0"] == ("softmax",)
    x = _inputs(n=2)
    cim_model, layers, _ = _prepared(model, HardwareConfig(), x)
    changed = x.clone()
    changed[:, 3:] = -changed[:, 3:]
    set_mode(cim_model, "hw")
    with torch.no_grad():
        same = torch.allclose(cim_model(x), cim_model(changed), atol=1e-6)
    assert same == causal


def test_unsupported_operations_are_named():
    class Gated(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(4, 4), nn.Linear(4, 4)

        def forward(self, x):
            return self.a(x) * self.b(x)

    with pytest.raises(UnsupportedLayerError, match=r"mul of two activations \(mul\)"):
        analyse(Gated())

    class SDPA(nn.Module):
        def __init__(self):
            super().__init__()
            self.q = nn.Linear(4, 4)

        def forward(self, x):
            q = self.q(x)
            return nn.functional.scaled_dot_product_attention(q, q, q)

    with pytest.raises(UnsupportedLayerError, match="scaled_dot_product_attention"):
        analyse(SDPA())

    class ConstantProduct(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin, self.w = nn.Linear(4, 4), nn.Parameter(torch.ones(4, 4))

        def forward(self, x):
            return self.lin(x) @ self.w

    with pytest.raises(UnsupportedLayerError, match="constant tensor; write static weights "
                                                     "as nn.Linear"):
        analyse(ConstantProduct())
    with pytest.raises(UnsupportedLayerError, match=r"MultiheadAttention\(add_bias_kv=True\)"):
        analyse(MHAModel(True, add_bias_kv=True))
    with pytest.raises(UnsupportedLayerError, match="TransformerEncoderLayer"):
        analyse(nn.Sequential(nn.Linear(16, 16), nn.TransformerEncoderLayer(16, 4)))


def test_shipped_vit_keeps_its_accuracy():
    """The shipped checkpoint on the first 100 test digits: float, quantized and hardware
    (default config, digital products) all above 90 % (96.7 % on all 1,000 in its meta)."""
    result = run(network="vit", eval_images=100, write_trace=False)
    assert result.checkpoint.endswith("vit-mnist5k.pt")
    assert min(result.accuracy.values()) >= 0.9


def test_a_causal_block_without_its_length_is_refused():
    """tokens=1 (the default) would make a 1 x 1 mask that broadcasts to 'see everything'."""
    with pytest.raises(ValueError, match="causal=True needs tokens= the sequence length"):
        EncoderBlock(16, 4, 32, causal=True)
