"""The crossbar read (cim/crossbar.py, cim/adc.py): exact when ideal, ADC error vs bits."""
import pytest
import torch

from contracts.config import HardwareConfig
from cim import cells
from cim.adc import ADC, adc_step
from cim.crossbar import Crossbar, row_groups
from cim.read_groups import GroupConductances
from conftest import weights_and_inputs


def _data(rows=150, outs=12, vectors=23, signed=False, seed=0):
    return weights_and_inputs(rows, outs, vectors, signed, seed)


def _force_float_engine(xb: Crossbar) -> None:
    """Read through the float engine (the one device effects use) instead of int8."""
    xb.ideal = False
    xb.conductances = GroupConductances(xb.conductance, xb.groups, xb.config)


def test_row_groups_stay_inside_subarrays():
    idx = row_groups(10, subarray_rows=4, rows_in_parallel=3)
    # subarrays {0-3}, {4-7}, {8, 9}; groups of 3 inside each, padded with 10
    assert idx.tolist() == [[0, 1, 2], [3, 10, 10], [4, 5, 6], [7, 10, 10], [8, 9, 10]]


@pytest.mark.parametrize("engine", ["int", "float"])
@pytest.mark.parametrize("weight_encoding", ["offset", "differential"])
@pytest.mark.parametrize("cell,cell_bits", [("sram", 1), ("rram", 1), ("rram", 2), ("rram", 4)])
@pytest.mark.parametrize("input_encoding,signed", [("bit_serial", False), ("bit_serial", True),
                                                   ("dac", False), ("dac", True)])
def test_parallel_read_is_exact_with_an_ideal_adc(engine, weight_encoding, cell, cell_bits,
                                                  input_encoding, signed):
    cfg = HardwareConfig(memory_cell=cell, cell_bits=cell_bits, weight_encoding=weight_encoding,
                         input_encoding=input_encoding, operation_mode="parallel",
                         subarray_rows=64, rows_in_parallel=16, adc_bits=16)
    w, x = _data(signed=signed)
    xb = Crossbar(w, cfg)
    if engine == "float":
        _force_float_engine(xb)
    adc = xb.set_adc(8, signed)
    assert adc.step == pytest.approx(xb.min_step(8, signed))   # enough codes: one per level
    assert torch.equal(xb.matmul(x, 8, signed), x.double() @ w.double())


def test_default_array_with_8bit_adc_is_exact():
    # 128 rows at once, 1-bit RRAM cells, bit-serial: 129 distinct partial sums < 255 codes
    cfg = HardwareConfig(operation_mode="parallel", adc_bits=8, adc_range="full_scale")
    w, x = _data(rows=300)
    xb = Crossbar(w, cfg)
    xb.set_adc(8, False)
    assert torch.equal(xb.matmul(x, 8, False), x.double() @ w.double())


@pytest.mark.parametrize("weight_encoding", ["offset", "differential"])
def test_sequential_read_is_exact(weight_encoding):
    cfg = HardwareConfig(cell_bits=2, weight_encoding=weight_encoding)
    w, x = _data(signed=True)
    xb = Crossbar(w, cfg)
    assert torch.equal(xb.effective_codes, w.double())
    assert torch.equal(xb.matmul(x, 8, True), x.double() @ w.double())


@pytest.mark.parametrize("adc_range", ["full_scale", "calibrated"])
def test_adc_error_shrinks_as_bits_grow(adc_range):
    w, x = _data(rows=256, outs=32, vectors=64)
    exact = x.double() @ w.double()
    errors = []
    for bits in (2, 3, 4, 5, 6, 7, 8):
        cfg = HardwareConfig(operation_mode="parallel", adc_bits=bits, adc_range=adc_range)
        xb = Crossbar(w, cfg)
        if adc_range == "calibrated":
            xb.matmul(x, 8, False, observe=True)
            xb.set_adc(8, False, xb.calibrated_range(8, False))
        else:
            xb.set_adc(8, False)
        errors.append(float((xb.matmul(x, 8, False) - exact).pow(2).mean().sqrt()))
    # strictly smaller with every added bit until the ADC resolves every level (error 0)
    assert all(a > b or a == b == 0 for a, b in zip(errors, errors[1:])), errors
    assert errors[0] > 0 and errors[-1] == 0


def test_offset_and_differential_agree_with_ideal_weights_through_adc():
    w, x = _data()
    exact = x.double() @ w.double()
    for enc in ("offset", "differential"):
        cfg = HardwareConfig(operation_mode="parallel", weight_encoding=enc, adc_bits=10,
                             rows_in_parallel=64)
        xb = Crossbar(w, cfg)
        xb.set_adc(8, False)
        assert torch.equal(xb.mapping.decode(), w.double())
        assert torch.equal(xb.matmul(x, 8, False), exact)


def test_off_state_current_takes_adc_range():
    # the full-scale range covers rows x Gmax; with a finite on/off ratio a row of level-0
    # cells still draws gmin, so the signal spans only (1 - gmin) of the codes
    cfg = HardwareConfig(operation_mode="parallel", rows_in_parallel=128, adc_bits=5,
                         adc_range="full_scale")
    assert cells.gmin(cfg) == pytest.approx(1 / 17)
    xb = Crossbar(torch.zeros(128, 1, dtype=torch.int64), cfg)
    xb.matmul(torch.full((1, 128), 255), 8, False, observe=True)
    # all rows on: the off-state current alone (plus the offset code's on-cells) shows up
    assert xb.observed_max >= 128 / 17


def test_adc_rounds_and_clips():
    adc = ADC(bits=2, step=1.0)
    assert adc.convert(torch.tensor([0.2, 0.5, 1.49, 2.6, 9.0, -1.0])).tolist() == \
        [0.0, 1.0, 1.0, 3.0, 3.0, 0.0]
    assert adc_step(62.0, 5, 1.0) == 2.0       # range / (2^5 - 1)
    assert adc_step(10.0, 5, 1.0) == 1.0       # never finer than one level
