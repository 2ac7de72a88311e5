"""Device non-idealities (cim/devices): statistics, laws, seeds, identity, bad input."""
from __future__ import annotations

import math

import pytest
import torch

from contracts.config import HardwareConfig
from cim import devices as dv
from cim.bitslice import slice_weights
from cim.devices import adc_nonideal, drift, faults, programming, variation

N = 200_000          # large sample: relative standard error of a sigma estimate ~ 0.16 %


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def mid_targets(config: HardwareConfig, n: int = N) -> torch.Tensor:
    g_min, g_max = dv.conductance_range(config)
    return torch.full((n,), 0.5 * (g_min + g_max), dtype=torch.float64)


def within_sampling_error(estimate: float, expected: float, n: int, k: float = 4.0) -> bool:
    """sigma estimate of n normal samples has standard error ~ sigma / sqrt(2 n)."""
    return abs(estimate - expected) <= k * expected / math.sqrt(2 * n)


# --- identity: everything off is the ideal path ---------------------------------------------
def test_everything_off_is_identity():
    cfg = HardwareConfig()
    assert dv.programming_is_ideal(cfg)
    g_min, g_max = dv.conductance_range(cfg)
    gt = dv.levels_to_conductance(torch.randint(0, 2, (64, 32), generator=gen()), g_min, g_max, 2)
    state = dv.program_conductances(gt, cfg, gen(1))
    assert torch.equal(state.g, gt) and state.n_faults == 0 and state.applied == ()
    assert torch.equal(dv.read_conductances(state, cfg, gen(2)), gt)
    x = torch.linspace(-3, 40, 1000, dtype=torch.float64)
    assert torch.equal(dv.adc_convert(x, 5, cfg, gen()), torch.clamp(torch.round(x), 0, 31))
    model = torch.nn.Sequential(torch.nn.Linear(8, 4))
    before = model[0].weight.detach().clone()
    assert dv.inject_faults(model, cfg, seed=0) == 0
    assert torch.equal(model[0].weight, before)


def test_drift_at_time_zero_is_identity():
    cfg = HardwareConfig(drift_model="power_law", drift_time_s=0.0, drift_compensation=True)
    gt = mid_targets(cfg, 100)
    assert torch.equal(dv.program_conductances(gt, cfg, gen()).g, gt)


# --- conductance mapping --------------------------------------------------------------------
@pytest.mark.parametrize("cell_bits", [1, 2, 3, 4])
def test_level_mapping_roundtrip(cell_bits):
    cfg = HardwareConfig(cell_bits=cell_bits)
    g_min, g_max = dv.conductance_range(cfg)
    assert g_min == pytest.approx(1 / cfg.r_off_ohm) and g_max == pytest.approx(1 / cfg.r_on_ohm)
    n = dv.num_levels(cell_bits)
    levels = torch.arange(n)
    g = dv.levels_to_conductance(levels, g_min, g_max, n)
    assert float(g[0]) == pytest.approx(g_min) and float(g[-1]) == pytest.approx(g_max)
    assert torch.allclose(torch.diff(g), torch.full((n - 1,), dv.level_step(g_min, g_max, n),
                                                    dtype=torch.float64))
    back = dv.conductance_to_levels(g * 1.001, g_min, g_max, n, rounded=True)
    assert torch.equal(back, levels.to(torch.float64))


def test_encodings_through_the_level_map_cancel_the_off_state():
    """cim.bitslice's encodings on physical conductances: a differential pair keeps one side
    at Gmin and cancels it; the offset code's level-0 reference column removes the off-state
    current exactly."""
    g_min, g_max, n = 1e-6, 1e-4, 4
    w = torch.tensor([[-3], [-1], [0], [2], [3], [1]])
    pair = slice_weights(w, 3, 2, "differential")              # columns: 2 slices of +, of -
    g = dv.levels_to_conductance(pair.levels, g_min, g_max, n)
    gp, gn = g[:, :2], g[:, 2:]
    assert torch.all((gp == g_min) | (gn == g_min))            # one side always at Gmin
    # G+ - G- per slice, back to levels: Gmin cancels, the slices recombine to w
    assert torch.allclose(pair.place @ ((gp - gn) / dv.level_step(g_min, g_max, n)).T,
                          w[:, 0].double())
    offset = slice_weights(w, 3, 2, "offset")                  # u = w + 4 in 2 slices
    g = dv.levels_to_conductance(offset.levels, g_min, g_max, n)
    x = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.5, 1.0], dtype=torch.float64)
    column_sums = (x @ (g - g[:, offset.reference_column:]) ) / dv.level_step(g_min, g_max, n)
    sums = offset.combine(column_sums) - offset.offset * float(x.sum())
    assert float(sums) == pytest.approx(float(x @ w[:, 0].double()))


def test_sram_has_zero_gmin():
    cfg = HardwareConfig(memory_cell="sram", technology_node_nm=22)
    assert dv.conductance_range(cfg)[0] == 0.0


@pytest.mark.parametrize("call, field", [
    (lambda: dv.num_levels(1, levels=4), "levels"),
    (lambda: dv.num_levels(5), "cell_bits"),
    (lambda: dv.num_levels(4, levels=17), "levels"),
    (lambda: dv.level_step(1e-4, 1e-4, 2), "g_max"),
    (lambda: dv.level_step(2e-4, 1e-4, 2), "g_max"),
    (lambda: dv.level_step(-1e-6, 1e-4, 2), "g_min"),
    (lambda: dv.levels_to_conductance(torch.tensor([0, 4]), 1e-6, 1e-4, 4), "levels"),
    (lambda: programming.apply_programming_error(torch.ones(3), -0.1, "state_proportional",
                                                 1.0, gen()), "programming_error_sigma"),
    (lambda: programming.apply_programming_error(torch.ones(3), 0.1, "bogus", 1.0, gen()),
     "programming_error_mode"),
    (lambda: variation.apply_d2d_variation(torch.ones(3), -1, gen()), "d2d_variation_sigma"),
    (lambda: variation.apply_read_noise(torch.ones(3), float("nan"), gen()), "read_noise_sigma"),
    (lambda: drift.apply_relaxation(torch.ones(3), -0.2, gen()), "relaxation_sigma"),
    (lambda: drift.power_law_factor(10.0, 0.05, 0.0), "drift_t0_s"),
    (lambda: drift.power_law_factor(-1.0, 0.05, 1.0), "drift_time_s"),
    (lambda: drift.apply_drift(torch.ones(3), torch.ones(3), "linear", 1.0), "drift_model"),
    (lambda: faults.sample_fault_mask((4,), 1.5, 0.5, gen()), "stuck_at_fault_rate"),
    (lambda: faults.sample_fault_mask((4,), 0.1, -0.1, gen()), "stuck_at_lrs_fraction"),
    (lambda: faults.apply_stuck_at(torch.ones(3), torch.zeros(4, dtype=torch.int8), 0, 1),
     "shape"),
    (lambda: dv.adc_convert(torch.ones(3), 17, HardwareConfig(), gen()), "adc_bits"),
    (lambda: adc_nonideal.make_transfer_curve(4, -0.5, 0.0, gen()), "adc_inl_lsb"),
    (lambda: dv.program_conductances(-torch.ones(3, dtype=torch.float64), HardwareConfig(),
                                     gen()), "g_target"),
    (lambda: dv.program_conductances(torch.ones(3), HardwareConfig(), gen(),
                                     g_range=(1.0, 0.5)), "g_range"),
])
def test_bad_input_names_the_field(call, field):
    with pytest.raises(ValueError, match=field):
        call()


# --- statistics -----------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["state_independent", "state_proportional"])
def test_programming_error_sigma(mode):
    cfg = HardwareConfig(programming_error_sigma=0.05, programming_error_mode=mode)
    gt = mid_targets(cfg)
    g = dv.program_conductances(gt, cfg, gen()).g
    g_max = dv.conductance_range(cfg)[1]
    expected = 0.05 * (g_max if mode == "state_independent" else float(gt[0]))
    assert within_sampling_error(float(g.std()), expected, N)
    assert abs(float(g.mean() - gt[0])) < 4 * expected / math.sqrt(N)


@pytest.mark.parametrize("key", ["d2d_variation_sigma", "relaxation_sigma"])
def test_relative_sigma_at_programming(key):
    cfg = HardwareConfig(**{key: 0.08})
    gt = mid_targets(cfg)
    g = dv.program_conductances(gt, cfg, gen()).g
    assert within_sampling_error(float((g / gt).std()), 0.08, N)


def test_read_noise_fresh_every_read_and_state_untouched():
    cfg = HardwareConfig(read_noise_sigma=0.05, d2d_variation_sigma=0.02)
    gt = mid_targets(cfg)
    state = dv.program_conductances(gt, cfg, gen())
    g_fixed = state.g.clone()
    g_gen = gen(7)
    r1 = dv.read_conductances(state, cfg, g_gen)
    r2 = dv.read_conductances(state, cfg, g_gen)
    assert not torch.equal(r1, r2)
    assert torch.equal(state.g, g_fixed)                       # d2d part is fixed per cell
    assert within_sampling_error(float((r1 / state.g).std()), 0.05, N)
    # d2d + read noise add in quadrature (independent) around the target
    total = float((r1 / gt).std())
    assert total == pytest.approx(math.hypot(0.05, 0.02), rel=0.02)


def test_relative_drift_sigma_is_k_times_target_at_the_reference_time():
    cfg = HardwareConfig(drift_model="relative", drift_time_s=86400.0, drift_relative_k=0.15,
                         drift_relative_t_ref_s=86400.0)
    gt = mid_targets(cfg)
    g = dv.program_conductances(gt, cfg, gen()).g
    assert within_sampling_error(float((g - gt).std()), 0.15 * float(gt[0]), N)


@pytest.mark.parametrize("t", [0.01, 1.0, 60.0, 3600.0, 86400.0, 3.15e7])
def test_relative_drift_spread_grows_with_log_time(t):
    """sigma(t) = k * G_target * (1 + s * ln(t / t_ref)) (aihwkit ReRamCMONoiseModel law)."""
    cfg = HardwareConfig(drift_model="relative", drift_time_s=t, drift_relative_k=0.05,
                         drift_relative_t_ref_s=1.0, drift_relative_log_slope=0.102)
    gt = mid_targets(cfg)
    g = dv.program_conductances(gt, cfg, gen()).g
    expected = 0.05 * (1.0 + 0.102 * math.log(t))
    assert within_sampling_error(float((g - gt).std()), expected * float(gt[0]), N)
    assert drift.relative_drift_sigma(0.05, t, 1.0, 0.102) == pytest.approx(expected, rel=1e-12)


def test_relative_drift_law_edges():
    assert drift.relative_drift_sigma(0.1, 0.0, 1.0, 0.102) == 0.0          # t = 0: nothing
    assert drift.relative_drift_sigma(0.1, 1e-9, 1.0, 0.102) == 0.0         # clipped at 0
    assert drift.relative_drift_sigma(0.1, 1e6, 1.0, 0.0) == 0.1            # no time law
    with pytest.raises(ValueError, match="drift_relative_t_ref_s"):
        drift.relative_drift_sigma(0.1, 1.0, 0.0, 0.1)
    with pytest.raises(ValueError, match="drift_relative_log_slope"):
        drift.relative_drift_sigma(0.1, 1.0, 1.0, -0.1)


@pytest.mark.parametrize("t", [0.5, 1.0, 10.0, 3600.0, 86400.0, 3.15e7])
def test_power_law_drift_follows_its_law(t):
    cfg = HardwareConfig(drift_model="power_law", drift_time_s=t, drift_nu=0.06, drift_t0_s=1.0)
    gt = mid_targets(cfg, 1000)
    g = dv.program_conductances(gt, cfg, gen()).g
    expected = (max(t, 1.0) / 1.0) ** -0.06
    assert torch.allclose(g / gt, torch.full_like(gt, expected), rtol=1e-12)


def test_global_drift_compensation_restores_the_scale():
    cfg = HardwareConfig(drift_model="power_law", drift_time_s=3.15e7, drift_nu=0.08,
                         drift_compensation=True)
    gt = mid_targets(cfg, 1000)
    state = dv.program_conductances(gt, cfg, gen())
    assert state.drift_compensation == pytest.approx((3.15e7) ** 0.08, rel=1e-12)
    assert torch.allclose(dv.read_conductances(state, cfg, gen()), gt, rtol=1e-12)


def test_faults_hit_the_configured_fraction():
    cfg = HardwareConfig(stuck_at_fault_rate=0.05, stuck_at_lrs_fraction=0.3,
                         programming_error_sigma=0.1, drift_model="power_law",
                         drift_time_s=1e4)
    g_min, g_max = dv.conductance_range(cfg)
    gt = mid_targets(cfg)
    state = dv.program_conductances(gt, cfg, gen())
    p = 0.05
    assert abs(state.n_faults / N - p) < 4 * math.sqrt(p * (1 - p) / N)
    q = state.n_stuck_lrs / state.n_faults
    assert abs(q - 0.3) < 4 * math.sqrt(0.3 * 0.7 / state.n_faults)
    # stuck cells sit exactly at Gmin / Gmax: programming error and drift cannot move them
    assert torch.all(state.g[state.fault_mask == dv.STUCK_HRS] == g_min)
    assert torch.all(state.g[state.fault_mask == dv.STUCK_LRS] == g_max)
    assert state.summary()["faults"] == state.n_faults


def test_same_seed_bit_identical_and_effects_use_separate_streams():
    cfg = HardwareConfig(stuck_at_fault_rate=0.02, programming_error_sigma=0.05,
                         d2d_variation_sigma=0.03, relaxation_sigma=0.02,
                         drift_model="relative", drift_time_s=100.0, read_noise_sigma=0.02)
    gt = mid_targets(cfg, 10_000)
    a = dv.program_conductances(gt, cfg, gen(42))
    b = dv.program_conductances(gt, cfg, gen(42))
    assert torch.equal(a.g, b.g) and torch.equal(a.fault_mask, b.fault_mask)
    assert torch.equal(dv.read_conductances(a, cfg, gen(3)), dv.read_conductances(b, cfg, gen(3)))
    c = dv.program_conductances(gt, cfg, gen(43))
    assert not torch.equal(a.g, c.g)
    # switching programming error off leaves the fault placement where it was
    d = dv.program_conductances(gt, cfg.replace(programming_error_sigma=0.0), gen(42))
    assert torch.equal(a.fault_mask, d.fault_mask)


# --- fault injection into a model ------------------------------------------------------------
class _Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 16, 3)
        self.fc = torch.nn.Linear(256, 10)


@pytest.mark.parametrize("encoding, cell_bits", [("offset", 1), ("offset", 2),
                                                 ("differential", 4)])
def test_inject_faults_counts_cells(encoding, cell_bits):
    cfg = HardwareConfig(stuck_at_fault_rate=0.05, weight_encoding=encoding, cell_bits=cell_bits)
    net = _Net()
    weights = net.conv.weight.numel() + net.fc.weight.numel()
    cells = weights * cfg.cells_per_weight
    before = [p.detach().clone() for p in (net.conv.weight, net.fc.weight)]
    hit = dv.inject_faults(net, cfg, seed=1)
    assert isinstance(hit, int)
    assert abs(hit / cells - 0.05) < 4 * math.sqrt(0.05 * 0.95 / cells)
    changed = sum(int((p != b).sum()) for p, b in zip((net.conv.weight, net.fc.weight), before))
    assert 0 < changed <= hit
    net2 = _Net()
    assert dv.inject_faults(net2, cfg, seed=1) == hit
    assert torch.equal(net2.fc.weight, net.fc.weight)


def test_inject_faults_all_lrs_moves_weights_to_the_top_code():
    cfg = HardwareConfig(stuck_at_fault_rate=1.0, stuck_at_lrs_fraction=1.0, weight_bits=4,
                         cell_bits=2)
    net = torch.nn.Sequential(torch.nn.Linear(4, 3))
    w0 = net[0].weight.detach().clone()
    scale = float(w0.abs().max()) / 7
    assert dv.inject_faults(net, cfg, seed=0) == 12 * 2
    # u = 15 for every weight: code 15 - 8 = 7, the top code; the sub-LSB residual stays
    w1 = net[0].weight.detach()
    assert torch.equal(torch.round(w1 / scale), torch.full((3, 4), 7.0))
    assert torch.allclose(w1 - w0, (7 - torch.round(w0 / scale)) * scale, atol=1e-6)


# --- ADC --------------------------------------------------------------------------------------
def test_adc_offset_and_gain():
    x = torch.arange(0, 20, dtype=torch.float64)
    codes = dv.adc_convert(x, 5, HardwareConfig(adc_offset_lsb=1.0), None)
    assert torch.equal(codes, torch.clamp(x + 1, 0, 31))
    codes = dv.adc_convert(x, 5, HardwareConfig(adc_gain_error=0.5), None)
    assert torch.equal(codes, torch.clamp(torch.round(1.5 * x), 0, 31))


@pytest.mark.parametrize("inl, dnl", [(0.5, 0.5), (1.0, 0.25), (0.3, 0.0), (0.0, 0.4)])
def test_adc_transfer_curve_bounds_and_seed(inl, dnl):
    curve = dv.make_transfer_curve(8, inl, dnl, gen(5))
    if inl > 0:
        assert curve.max_inl <= inl + 1e-12
    if dnl > 0:
        assert curve.max_dnl <= dnl + 1e-12
    assert curve.max_inl > 0.1 * max(inl, dnl / 2)              # it does perturb
    again = dv.make_transfer_curve(8, inl, dnl, gen(5))
    assert torch.equal(curve.thresholds, again.thresholds)
    cfg = HardwareConfig(adc_inl_lsb=inl, adc_dnl_lsb=dnl, adc_bits=8)
    x = torch.linspace(-1, 257, 5000, dtype=torch.float64)
    codes = dv.adc_convert(x, 8, cfg, None, curve=curve)
    assert torch.all(torch.diff(codes) >= 0) and codes.min() == 0 and codes.max() == 255
    assert float((codes - torch.clamp(torch.round(x), 0, 255)).abs().max()) <= 1.0 + inl + dnl


@pytest.mark.parametrize("temperature", [300.0, 400.0])
def test_adc_thermal_noise_scales_with_sqrt_temperature(temperature):
    cfg = HardwareConfig(adc_noise_lsb=2.0, adc_bits=10, temperature_K=temperature)
    x = torch.full((N,), 500.0, dtype=torch.float64)
    codes = dv.adc_convert(x, 10, cfg, gen())
    sigma = 2.0 * math.sqrt(temperature / 300.0)
    # rounding adds 1/12 LSB^2 of variance on top of the Gaussian
    assert within_sampling_error(float(codes.std()), math.sqrt(sigma ** 2 + 1 / 12), N, k=6)


def test_adc_requires_curve_and_generator():
    with pytest.raises(ValueError, match="curve"):
        dv.adc_convert(torch.ones(3), 4, HardwareConfig(adc_inl_lsb=0.5), None)
    with pytest.raises(ValueError, match="generator"):
        dv.adc_convert(torch.ones(3), 4, HardwareConfig(adc_noise_lsb=0.5), None)
    curve = dv.make_transfer_curve(4, 0.5, 0.5, gen())
    with pytest.raises(ValueError, match="adc_bits"):
        dv.adc_convert(torch.ones(3), 5, HardwareConfig(adc_inl_lsb=0.5), None, curve=curve)
