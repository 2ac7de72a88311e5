"""The fast read engines of step 1: chunk workers instead of per-operation threads (same
results for any thread count), integer im2col and bit planes, the current-domain read noise
of the parallel read, and the exact sampler of sequential read noise (differing reads only)."""
import math

import pytest
import torch
import torch.nn.functional as F

from contracts.config import HardwareConfig
from cim import cells
from cim.bitslice import input_planes, plane_weights
from cim.crossbar import Crossbar, row_groups
from cim.layers import unfold_codes
from cim.parallel_read import input_codes, plane_levels, read_current
from cim.read_groups import GroupConductances
from cim.sequential_read import (UNLISTED_BITS, bernoulli_positions, driven_reads)
from cim.workers import one_op_thread, run_chunks
from conftest import weights_and_inputs

PARALLEL = dict(operation_mode="parallel", adc_range="full_scale")


# -- cim.workers ---------------------------------------------------------------------------------
def test_one_op_thread_sets_one_thread_and_restores():
    torch.set_num_threads(2)
    with one_op_thread() as workers:
        assert workers == 2 and torch.get_num_threads() == 1
        with one_op_thread() as inner:                 # nested: the outer caller's count
            assert inner == 2 and torch.get_num_threads() == 1
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2


def test_run_chunks_runs_every_chunk_and_reraises():
    for workers in (1, 2, 5):
        seen = []
        run_chunks(seen.append, 7, workers)
        assert sorted(seen) == list(range(7))

    def fail(i):
        if i == 3:
            raise ValueError("chunk 3")
    with pytest.raises(ValueError, match="chunk 3"):
        run_chunks(fail, 6, 2)


def _read_with_threads(threads: int, cfg, w, x, bits=8, signed=False):
    torch.set_num_threads(threads)
    xb = Crossbar(w, cfg, torch.Generator().manual_seed(4))
    if xb.parallel:
        xb.set_adc(bits, signed)
    return xb.matmul(x, bits, signed)


@pytest.mark.parametrize("cfg", [
    dict(PARALLEL, adc_bits=5),                                          # integer engine
    dict(PARALLEL, adc_bits=6, programming_error_sigma=0.05, wire_resistance_ohm=1.0,
         adc_inl_lsb=0.4),                                               # float engine, no draws
    dict(PARALLEL, adc_bits=6, read_noise_sigma=0.03, adc_noise_lsb=0.4),  # per-read draws
    dict(cell_bits=4, read_noise_sigma=0.03),                            # sequential draws
], ids=["ideal", "static", "noisy", "sequential"])
def test_two_workers_give_the_one_worker_result_bit_for_bit(cfg, monkeypatch):
    """Chunks are shared out to threads; each chunk's draws come from its own stream, so
    the result does not depend on the thread count (many small chunks to spread)."""
    monkeypatch.setattr("cim.parallel_read.ELEMENT_BUDGET", 1 << 12)
    monkeypatch.setattr("cim.sequential_read.SLOT_BUDGET", 1 << 12)
    w, x = weights_and_inputs(rows=200, outs=6, vectors=60)
    one = _read_with_threads(1, HardwareConfig(**cfg), w, x)
    two = _read_with_threads(2, HardwareConfig(**cfg), w, x)
    assert torch.equal(one, two)


# -- integer im2col and bit planes ------------------------------------------------------------
@pytest.mark.parametrize("kernel,dilation,padding,stride", [
    ((3, 3), (1, 1), (1, 1), (1, 1)), ((5, 3), (1, 2), (2, 0), (2, 1)), ((1, 1), (1, 1), (0, 0),
                                                                          (3, 2))])
def test_unfold_codes_is_f_unfold(kernel, dilation, padding, stride):
    codes = torch.randint(-128, 128, (3, 4, 11, 9), generator=torch.Generator().manual_seed(0),
                          dtype=torch.int32)
    ref = F.unfold(codes.double(), kernel, dilation, padding, stride)           # n x R x L
    ref = ref.transpose(1, 2).reshape(-1, ref.shape[1])
    got = unfold_codes(codes, kernel, dilation, padding, stride)
    assert got.dtype == torch.int32 and torch.equal(got.double(), ref)


@pytest.mark.parametrize("bits,signed,encoding", [(8, False, "bit_serial"), (8, True, "bit_serial"),
                                                  (10, True, "bit_serial"), (4, False, "dac"),
                                                  (6, True, "dac")])
def test_plane_levels_are_the_input_planes(bits, signed, encoding):
    lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1)) if signed else (0, 2 ** bits)
    x = torch.randint(lo, hi, (7, 10), generator=torch.Generator().manual_seed(1))
    padded = input_codes(x, bits, signed, encoding)
    assert padded.dtype == (torch.uint8 if encoding == "bit_serial" and bits <= 8 else torch.int32)
    groups = row_groups(10, 8, 4)                                        # padded with row 10
    levels = plane_levels(padded[:, groups], bits, signed, encoding)    # groups x P x M x rows
    planes, spec = input_planes(x, bits, signed, encoding, torch.float64)     # M x P x R
    norm = round(1 / spec.resolution)
    padded_planes = torch.cat([planes, torch.zeros(7, spec.count, 1, dtype=torch.float64)], 2)
    want = padded_planes[:, :, groups].permute(2, 1, 0, 3) * norm
    assert torch.equal(levels.double(), want)
    # which reads drive a row: R x (M*P), read (m, p) at column m*P + p
    driven = driven_reads(x, bits, signed, encoding)
    assert torch.equal(driven, (planes != 0).permute(2, 0, 1).reshape(10, -1))


# -- parallel read noise (current domain) -------------------------------------------------------
@pytest.mark.parametrize("binary,wire", [(True, 0.0), (False, 0.0), (True, 2.0)])
def test_read_current_noise_has_the_per_cell_mean_and_spread(binary, wire):
    """s * sqrt(sum x^2 G^2) * z: the mean and spread of per-cell draws G (1 + s z_r)."""
    cfg = HardwareConfig(**PARALLEL, cell_bits=2, wire_resistance_ohm=wire)
    gen = torch.Generator().manual_seed(2)
    g = cells.nominal_conductance(torch.randint(0, 4, (32, 5), generator=gen), cfg)
    cond = GroupConductances(g, row_groups(32, 32, 32), cfg)
    x = torch.randint(0, 2 if binary else 4, (1, 32), generator=gen).float()
    planes = (x if binary else x / 3).repeat(20000, 1)
    sigma = 0.1
    noisy = read_current(cond, planes, 0, sigma, torch.Generator().manual_seed(3), binary)
    quiet = cond.current(planes[:1], 0)[0]
    mid = cond.at_activity(0.5)[0]
    spread = sigma * torch.sqrt(planes[0] ** 2 @ (mid * mid))
    assert torch.allclose(noisy.mean(0), quiet, atol=float(5 * spread.max() / math.sqrt(20000)))
    assert torch.allclose(noisy.std(0), spread, rtol=0.03)


# -- sequential read noise: the sampler -------------------------------------------------------
def test_bernoulli_positions_are_distinct_and_at_the_rate():
    gen = torch.Generator().manual_seed(0)
    assert bernoulli_positions(0, 0.5, gen).numel() == 0
    assert bernoulli_positions(100, 0.0, gen).numel() == 0
    assert torch.equal(bernoulli_positions(5, 1.0, gen), torch.arange(5))
    total, rate, runs = 400, 0.3, 2000
    hits = torch.zeros(total)
    counts = []
    for _ in range(runs):
        pos = bernoulli_positions(total, rate, gen)
        assert bool((pos[1:] > pos[:-1]).all()) and int(pos.min()) >= 0 and int(pos.max()) < total
        hits[pos] += 1
        counts.append(pos.numel())
    counts = torch.tensor(counts, dtype=torch.float64)
    sd = math.sqrt(total * rate * (1 - rate))
    assert abs(float(counts.mean()) - total * rate) < 5 * sd / math.sqrt(runs)
    assert abs(float(counts.std()) / sd - 1) < 0.1
    # every trial succeeds at the rate (no position favoured)
    per = math.sqrt(runs * rate * (1 - rate))
    assert float((hits - runs * rate).abs().max()) < 5 * per
    # a long run at a tiny rate costs nothing and finds (almost surely) nothing
    assert bernoulli_positions(10 ** 15, 1e-21, gen).numel() == 0


def _level_distribution(g: torch.Tensor, cfg) -> torch.Tensor:
    """P(read level = k), cells x levels, from the sense thresholds (closed form)."""
    top = 2 ** cfg.cell_bits - 1
    k = torch.arange(1, top + 1, dtype=torch.float64)
    t = cells.gmin(cfg) + (k - 0.5) * cells.level_step(cfg)
    gg = g.reshape(-1, 1).double()
    at_least = torch.special.ndtr((gg - t) / (cfg.read_noise_sigma * gg))
    cum = torch.cat([torch.ones_like(gg), at_least, torch.zeros_like(gg)], 1)
    return (cum[:, :-1] - cum[:, 1:]).clamp(min=0)


def test_sequential_noisy_levels_follow_the_closed_form():
    """One row, 4-bit cells holding 4-bit weights (one slice), 1-bit input 1: every output
    reads one cell; its level histogram must match P(level = k) (chi-square), including the
    levels two or more steps away from the noise-free one."""
    cfg = HardwareConfig(cell_bits=4, weight_bits=4, read_noise_sigma=0.12,
                         d2d_variation_sigma=0.05)
    w = torch.tensor([[-8, -3, 0, 2, 5, 7]])
    xb = Crossbar(w, cfg, torch.Generator().manual_seed(1))
    trials = 40000
    y = xb.sense(torch.ones(trials, 1, dtype=torch.int64), 1, False)
    # the Gmin reference column flips in < 1e-5 of the reads (< 0.4 expected here)
    assert float(1 - _level_distribution(xb.conductance[:, -1:], cfg)[0, 0]) < 1e-5
    levels = (y + 8).round().long().clamp(0, 15)  # offset code: w + 8 = level of the cell
    probs = _level_distribution(xb.conductance[0, :6], cfg)              # 6 x 16
    for j in range(6):
        observed = torch.bincount(levels[:, j], minlength=16).double()
        expected = probs[j] * trials
        use = expected > 5
        chi2 = float((((observed - expected) ** 2 / expected)[use]).sum())
        dof = int(use.sum()) - 1
        assert observed[~use].sum() <= max(10.0, 3 * float(expected[~use].sum()))
        assert chi2 < dof + 5 * math.sqrt(2 * max(dof, 1)), (j, chi2, dof)
        assert int((observed[use] > 0).sum()) >= 3 or dof < 2   # more than L0 +- 1 seen


@pytest.mark.parametrize("cfg,bits,signed", [
    (dict(cell_bits=2, d2d_variation_sigma=0.1, read_noise_sigma=0.1), 8, False),
    (dict(cell_bits=4, read_noise_sigma=0.03), 8, True),
    (dict(cell_bits=2, read_noise_sigma=0.08, input_encoding="dac",
          weight_encoding="differential"), 8, True),
    (dict(cell_bits=3, read_noise_sigma=0.05, drift_model="power_law", drift_time_s=1e4,
          drift_compensation=True), 4, False),
], ids=["2bit", "4bit-signed", "dac-differential", "3bit-drift"])
def test_sequential_noise_has_the_exact_mean_and_variance(cfg, bits, signed):
    """Cells and reads are independent: the output mean and variance follow from each
    cell's level distribution (closed form) - checked to a few standard errors."""
    cfg = HardwareConfig(**cfg)
    gen = torch.Generator().manual_seed(1)
    w = torch.randint(-128, 128, (10, 3), generator=gen)
    lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1)) if signed else (0, 2 ** bits)
    x = torch.randint(lo, hi, (1, 10), generator=gen)
    xb = Crossbar(w, cfg, torch.Generator().manual_seed(2))
    trials = 20000
    y = xb.sense(x.repeat(trials, 1), bits, signed)
    g = xb.sequential._g.view(xb.sequential.levels.shape)
    dist = _level_distribution(g, cfg)
    k = torch.arange(dist.shape[1], dtype=torch.float64)
    mean_l = (dist * k).sum(1).view(g.shape)
    var_l = (dist * k * k).sum(1).view(g.shape) - mean_l ** 2
    a = xb.mapping.combine(torch.eye(g.shape[1], dtype=torch.float64))    # columns -> outputs
    spec = plane_weights(bits, signed, cfg.input_encoding)
    planes = input_planes(x, bits, signed, cfg.input_encoding, torch.float64)[0][0]
    terms = planes * spec.weights.view(-1, 1)                            # P x R
    mean = terms.sum(0) @ (mean_l @ a) - xb.mapping.offset * float(x.sum())
    var = (terms ** 2).sum(0) @ (var_l @ a ** 2)
    assert float(var.min()) > 0
    z_mean = (y.mean(0) - mean) / torch.sqrt(var / trials)
    fourth = ((y - mean) ** 4).mean(0)
    z_var = (y.var(0) - var) / torch.sqrt((fourth - var ** 2) / trials)
    assert float(z_mean.abs().max()) < 4.5 and float(z_var.abs().max()) < 4.5, (z_mean, z_var)


def test_flip_classes_bound_their_cells():
    cfg = HardwareConfig(cell_bits=3, programming_error_sigma=0.05, read_noise_sigma=0.04)
    w, _ = weights_and_inputs(rows=40, outs=5)
    seq = Crossbar(w, cfg, torch.Generator().manual_seed(0)).sequential
    listed = torch.zeros_like(seq._base, dtype=torch.bool)
    for cls in seq._classes:
        assert bool((cls.q <= cls.bound).all()) and bool((cls.q >= cls.bound / 32).all())
        listed[cls.cells] = True
    low, high = seq.flip_probabilities(torch.arange(seq._g.numel()))
    q = low + high
    assert bool((q[~listed] < 2.0 ** -UNLISTED_BITS).all())
    assert abs(seq._q_sum - float(q.sum())) <= 1e-9 * float(q.sum())
    # 1-bit cells at 2 % noise: q ~ 1e-21, no cell listed, no read ever differs
    one = Crossbar(w, HardwareConfig(read_noise_sigma=0.02), torch.Generator().manual_seed(0))
    assert one.sequential._listed is None and not one.sequential._classes
    x = weights_and_inputs(rows=40, outs=5, vectors=50)[1]
    assert torch.equal(one.sense(x, 8, False), x.double() @ one.effective_codes)
