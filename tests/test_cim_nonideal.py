"""Device non-idealities wired into step 1 (cim.cells, cim.crossbar, cim.run, cim.cli)."""
import json

import pytest
import torch

from contracts.config import HardwareConfig
from cim import cells
from cim.cli import main, parse_duration, parse_durations
from cim.crossbar import Crossbar
from cim.repeat import accuracy_summary
from cim.run import run
from conftest import read_crossbar, weights_and_inputs

PARALLEL = dict(operation_mode="parallel", adc_range="full_scale")
#: every non-ideality field explicitly at its "off" value
ALL_OFF = dict(programming_error_sigma=0.0, relaxation_sigma=0.0, drift_model="none",
               drift_time_s=0.0, drift_compensation=False, d2d_variation_sigma=0.0,
               read_noise_sigma=0.0, stuck_at_fault_rate=0.0, wire_resistance_ohm=0.0,
               adc_offset_lsb=0.0, adc_gain_error=0.0, adc_inl_lsb=0.0, adc_dnl_lsb=0.0,
               adc_noise_lsb=0.0)


pytestmark = pytest.mark.usefixtures("cli_sandbox")      # tests/conftest.py


# -- everything off is the ideal path -----------------------------------------------------------
@pytest.mark.parametrize("extra", [dict(operation_mode="sequential"),
                                   dict(PARALLEL, adc_bits=8),
                                   dict(PARALLEL, adc_bits=5, weight_encoding="differential",
                                        cell_bits=2)])
def test_everything_off_equals_the_ideal_path_exactly(extra):
    w, x = weights_and_inputs()
    cfg = HardwareConfig(**extra, **ALL_OFF)
    xb, y = read_crossbar(cfg, w, x, seed=0)
    assert xb.ideal and xb.adc_ideal and xb.device_state is None
    assert torch.equal(xb.conductance, cells.nominal_conductance(xb.mapping.levels, cfg))
    # no generator (the pre-device path) and any seed give the same bits
    plain = Crossbar(w, cfg)
    if plain.parallel:
        plain.set_adc(8, False)
    assert torch.equal(y, plain.matmul(x, 8, False))
    assert torch.equal(y, read_crossbar(cfg, w, x, seed=99)[1])
    if extra.get("adc_bits") == 8 or not xb.parallel:   # lossless: the integer product
        assert torch.equal(y, x.double() @ w.double())


def test_everything_off_run_does_not_depend_on_the_seed():
    cfg = HardwareConfig(operation_mode="parallel", **ALL_OFF)
    a = run(cfg, eval_images=60, write_trace=False, seed=0)
    b = run(cfg, eval_images=60, write_trace=False, seed=7)
    assert a.accuracy == b.accuracy
    assert a.statistics["faults"] == 0


# -- seeds -------------------------------------------------------------------------------------
NOISY = dict(PARALLEL, adc_bits=6, d2d_variation_sigma=0.05, read_noise_sigma=0.02,
             stuck_at_fault_rate=0.02, programming_error_sigma=0.02, adc_noise_lsb=0.3,
             adc_inl_lsb=0.3, adc_dnl_lsb=0.2, adc_offset_lsb=0.1, adc_gain_error=0.01,
             wire_resistance_ohm=0.5)


@pytest.mark.parametrize("mode", ["parallel", "sequential"])
def test_same_seed_is_bit_identical_and_different_seeds_differ(mode):
    w, x = weights_and_inputs()
    cfg = HardwareConfig(**dict(NOISY, operation_mode=mode))
    a = read_crossbar(cfg, w, x, seed=5)[1]
    b = read_crossbar(cfg, w, x, seed=5)[1]
    c = read_crossbar(cfg, w, x, seed=6)[1]
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_read_noise_is_fresh_on_every_read():
    w, x = weights_and_inputs()
    cfg = HardwareConfig(**PARALLEL, adc_bits=8, read_noise_sigma=0.05)
    xb, first = read_crossbar(cfg, w, x)
    assert not xb.ideal and not torch.equal(first, xb.matmul(x, 8, False))


def test_each_effect_switches_the_path():
    w, x = weights_and_inputs()
    ideal = read_crossbar(HardwareConfig(**PARALLEL, adc_bits=8), w, x)[1]
    for kw in (dict(d2d_variation_sigma=0.05), dict(stuck_at_fault_rate=0.05),
               dict(wire_resistance_ohm=1.0), dict(adc_gain_error=0.05),
               dict(drift_model="power_law", drift_time_s=1e4),
               dict(drift_model="relative", drift_time_s=1.0)):
        y = read_crossbar(HardwareConfig(**PARALLEL, adc_bits=8, **kw), w, x)[1]
        assert not torch.equal(y, ideal), kw


def test_ir_drop_lowers_the_read_conductances():
    w, _ = weights_and_inputs()
    xb = Crossbar(w, HardwareConfig(**PARALLEL, wire_resistance_ohm=1.0),
                  torch.Generator().manual_seed(0))
    ref = Crossbar(w, HardwareConfig(**PARALLEL)).conductance
    grouped_ref = torch.cat([ref, torch.zeros(1, ref.shape[1])])[xb.groups]
    on = grouped_ref > 0
    # the data columns; the offset reference column (last bit line) is read apart
    assert xb.physical_reference and xb.reference_conductances.base.shape[-1] == 2
    for activity in (0.1, 0.5, 0.9):
        ratio = xb.conductances.at_activity(activity)[on] / grouped_ref[on]
        assert float(ratio.max()) <= 1.0 and float(ratio.min()) < 0.999
    # a denser read draws more bit-line current: every cell sees less voltage
    assert torch.all(xb.conductances.at_activity(0.9) <= xb.conductances.at_activity(0.1))


# -- faults: error grows with the rate ------------------------------------------------------------
def test_output_error_grows_with_the_fault_rate():
    w, x = weights_and_inputs(rows=256, outs=16, vectors=32)
    exact = x.double() @ w.double()
    errors = []
    for rate in (0.0, 0.01, 0.05, 0.2):
        cfg = HardwareConfig(operation_mode="sequential", stuck_at_fault_rate=rate)
        err = [float((read_crossbar(cfg, w, x, seed=s)[1] - exact).abs().mean()) for s in range(3)]
        errors.append(sum(err) / len(err))
    assert errors[0] == 0.0
    assert all(a < b for a, b in zip(errors, errors[1:])), errors


def test_faults_counted_in_the_statistics():
    cfg = HardwareConfig(operation_mode="sequential", stuck_at_fault_rate=0.05)
    result = run(cfg, eval_images=20, write_trace=False, seed=0)
    st = result.statistics
    assert st["writes"] == st["cells_used"] > 0
    assert 0 < st["utilization"] <= 1 and st["reads"] > 0
    assert abs(st["faults"] / st["cells_used"] - 0.05) < 0.005
    assert st["faults"] == st["stuck_hrs"] + st["stuck_lrs"]
    assert sum(layer["faults"] for layer in st["layers"]) == st["faults"]


def test_accuracy_summary():
    s = accuracy_summary([0.5, 0.7, 0.9])
    assert s["mean"] == pytest.approx(0.7) and s["std"] == pytest.approx(0.2)
    assert (s["min"], s["max"]) == (0.5, 0.9)
    assert accuracy_summary([0.3])["std"] == 0.0


# -- command line ---------------------------------------------------------------------------------
def test_parse_durations():
    assert parse_duration("1s") == 1.0 and parse_duration("2m") == 120.0
    assert parse_duration("1.5h") == 5400.0 and parse_duration("1d") == 86400.0
    assert parse_duration("1y") == 365.25 * 86400.0
    assert [s for _, s in parse_durations("1s, 1h")] == [1.0, 3600.0]
    for bad in ("1", "1x", "-1s", "h", "1s,,2s", "", "inf s"):
        with pytest.raises(ValueError):
            parse_durations(bad)


def test_cli_monte_carlo(capsys):
    args = ["--eval-images", "40", "--set", "operation_mode=parallel",
            "--set", "d2d_variation_sigma=0.2", "--monte-carlo", "3", "--json"]
    assert main(args) == 0
    mc = json.loads(capsys.readouterr().out)["monte_carlo"]
    assert mc["n"] == 3 and mc["seeds"] == [0, 1, 2] and len(mc["values"]) == 3
    assert mc["min"] <= mc["mean"] <= mc["max"] and mc["std"] >= 0
    assert main(args[:-1]) == 0
    out = capsys.readouterr().out
    assert "over 3 seeds" in out and "mean" in out and "std" in out and "max" in out


def test_cli_sweep_drift(capsys):
    base = ["--eval-images", "40", "--set", "operation_mode=parallel", "--sweep-drift",
            "1s,1h,1y"]
    assert main(base + ["--json"]) == 0
    sw = json.loads(capsys.readouterr().out)["sweep_drift"]
    assert sw["drift_model"] == "power_law"
    assert [p["drift_time_s"] for p in sw["points"]] == [1.0, 3600.0, 365.25 * 86400]
    assert main(base) == 0
    out = capsys.readouterr().out
    assert "time after programming" in out and "1y" in out


def test_cli_sweep_drift_relative_follows_the_log_time_law(capsys):
    args = ["--eval-images", "40", "--set", "operation_mode=parallel", "--set",
            "drift_model=relative", "--set", "drift_relative_k=0.05", "--sweep-drift", "1s,1y"]
    assert main(args + ["--json"]) == 0
    sw = json.loads(capsys.readouterr().out)["sweep_drift"]
    assert sw["drift_model"] == "relative"
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "log slope=0.102" in captured.out and "flat" not in captured.err
    assert main(args + ["--set", "drift_relative_log_slope=0"]) == 0
    assert "flat" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["--sweep-drift", "1x"], ["--sweep-drift", "1h,,1d"],
                                  ["--sweep-drift", "-1s"], ["--monte-carlo", "0"],
                                  ["--monte-carlo", "two"]])
def test_cli_bad_repeat_input_is_one_line_exit_2(args, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "error" in err


# -- the offset code's reference column is made of the array's own cells ------------------------
def test_offset_reference_cancels_common_mode_drift():
    """Power-law drift scales every cell alike: the offset reference column, programmed and
    read like the data columns, scales the bias with it, so the output is ~ f * exact; the
    old digital constant would leave (1 - f) * 2^(b-1) * sum(x), larger than the signal."""
    w, x = weights_and_inputs(rows=256, outs=12, vectors=64)
    exact = x.double() @ w.double()
    cfg = HardwareConfig(**PARALLEL, adc_bits=8, drift_model="power_law", drift_time_s=60.0)
    xb, y = read_crossbar(cfg, w, x)
    f = 60.0 ** -0.05
    assert xb.physical_reference and xb.reference_gain == pytest.approx(f, rel=0.02)
    err = float((y - f * exact).norm() / (f * exact).norm())
    constant = y + (xb.reference_gain - 1.0) * 128 * x.double().sum(1, keepdim=True)
    err_constant = float((constant - f * exact).norm() / (f * exact).norm())
    assert err < 0.2 and err_constant > 5 * err


def test_offset_reference_has_its_own_draws_and_statistics():
    w, x = weights_and_inputs()
    seq = Crossbar(w, HardwareConfig(d2d_variation_sigma=0.1), torch.Generator().manual_seed(5))
    par = Crossbar(w, HardwareConfig(**PARALLEL, d2d_variation_sigma=0.1),
                   torch.Generator().manual_seed(5))
    # the data cells draw the same numbers with or without the reference column; the
    # level-0 reference column is not part of a sequential array (nominal, untouched)
    ref = seq.mapping.reference_column
    assert torch.equal(seq.conductance[:, :ref], par.conductance[:, :ref])
    assert torch.equal(seq.conductance[:, ref], cells.nominal_conductance(
        seq.mapping.levels[:, ref], seq.config))
    assert not seq.physical_reference
    digit = int(par.reference.levels[0, 0])
    assert digit == 1 and par.reference.conductance.shape == (w.shape[0], 1)
    nominal = cells.nominal_conductance(par.reference.levels, par.config)
    spread = float((par.reference.conductance / nominal - 1).std())
    assert 0.05 < spread < 0.15
    par.set_adc(8, False)
    par.matmul(x, 8, False)
    st = par.statistics()
    assert st["offset_reference_cells"] == w.shape[0]
    # the reference column is converted only when the gain is calibrated, not per read
    assert st["adc_conversions"] == st["reads"] * par.mapping.columns
    assert par.reference.reads_used > 0
    # differential pairs need no reference; the ideal offset array keeps the digital constant
    assert not Crossbar(w, HardwareConfig(**PARALLEL, weight_encoding="differential",
                                          d2d_variation_sigma=0.1),
                        torch.Generator().manual_seed(5)).physical_reference
    assert not Crossbar(w, HardwareConfig(**PARALLEL)).physical_reference


def test_parallel_read_noise_is_fresh_per_input_vector():
    """The same input vector read twice in one batch sees two read-noise draws, centred on
    the noise-free read (current-domain draw, s * sqrt(sum x^2 G^2) per read)."""
    w, x = weights_and_inputs(rows=128, outs=8, vectors=1)
    xs = x.repeat(400, 1)
    quiet = read_crossbar(HardwareConfig(**PARALLEL, adc_bits=8, weight_encoding="differential"),
                  w, xs)[1]
    xb, y = read_crossbar(HardwareConfig(**PARALLEL, adc_bits=8, weight_encoding="differential",
                                 read_noise_sigma=0.05), w, xs)
    assert not xb.ideal
    assert not torch.equal(y[0], y[1])
    spread = y.std(0)
    assert float(spread.min()) > 0
    # unbiased: the batch mean sits on the noise-free read within a few standard errors
    assert torch.all((y.mean(0) - quiet[0]).abs() < 5 * spread / 20 + 1.0)


def test_sequential_faults_spare_the_unused_reference_column():
    """Sequential reads resolve each cell alone; the offset code's level-0 reference column
    is not read, so no fault may land there (issue 14: a reference cell stuck at LRS shifted
    every weight of its row)."""
    gen = torch.Generator().manual_seed(0)
    w = torch.randint(-128, 128, (64, 10), generator=gen)
    xb = Crossbar(w, HardwareConfig(stuck_at_fault_rate=0.2), torch.Generator().manual_seed(1))
    ref, mask = xb.mapping.reference_column, xb.device_state.fault_mask
    assert int((mask[:, ref] != 0).sum()) == 0
    assert xb.statistics()["faults"] == int((mask != 0).sum()) > 0
    # the amplifiers read the data cells with their faults; the offset is a digital constant
    levels = torch.where(mask == 1, torch.zeros_like(xb.mapping.levels), xb.mapping.levels)
    levels = torch.where(mask == 2, torch.ones_like(levels), levels)
    assert torch.equal(levels[:, ref], torch.zeros_like(levels[:, ref]))
    assert torch.equal(xb.effective_codes, xb.mapping.decode(levels))
    # the data cells keep the draws they had (common random numbers with parallel mode)
    par = Crossbar(w, HardwareConfig(stuck_at_fault_rate=0.2, operation_mode="parallel"),
                   torch.Generator().manual_seed(1))
    assert torch.equal(par.device_state.fault_mask[:, :ref], mask[:, :ref])
