"""Leaf and chip-level circuit components: hand-checked figures, invariants, bad input."""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import numpy as np
import pytest

import chip.components
from chip.compat import QUIRKS
from contracts.config import HardwareConfig
from contracts.presets import preset
from chip.technology import TechContext
from chip.components.activation import Activation
from chip.components.adc import FlashADC, SarADC, mlsa_latency_s, sar_column_power_W
from chip.components.adder import Adder
from chip.components.adder_tree import AdderTree
from chip.components.array import Array
from chip.components.base import Component
from chip.components.buffer import Buffer
from chip.components.bus import Bus
from chip.components.decoder import RowDecoder
from chip.components.dff import DFF
from chip.components.digital_mac import DigitalMAC
from chip.components.htree import HTree
from chip.components.interconnect import Interconnect
from chip.components.level_shifter import LevelShifter
from chip.components.lut import LookupTable
from chip.components.multiplier import Divider, Multiplier
from chip.components.nonlinear import LayerNorm, NonlinearUnit, PerOperationUnit, Softmax
from chip.components.max_pool import MaxPool
from chip.components.mux import Mux
from chip.components.sense_amp import Precharger, SenseAmp, SRAMWriteDriver
from chip.components.shift_add import ShiftAdd
from chip.components.subarray import SubArray
from chip.components.switch_matrix import NewSwitchMatrix, SwitchMatrix
from chip.components.xybus import XYBus


@pytest.fixture(scope="module")
def sram():
    c = preset("neurosim-1.4-default")
    return TechContext(c), c


def test_sram_access_resistance_worked_point(sram):
    ctx, _ = sram
    # tables §6.1: R_acc = 1.77 * 0.85 / (791.9 A/m * 22 nm) = 86.36 kOhm
    assert ctx.access_resistance_ohm == pytest.approx(86.36e3, rel=1e-3)


def test_mlsa_latency_worked_points(sram):
    ctx, _ = sram
    # tables §6.1: R_ref,1 = 696.4 ohm -> 0.890 ns; R_ref,30 = 10.79 kOhm -> 0.938 ns
    assert mlsa_latency_s(ctx, 696.4, 10e-15) == pytest.approx(0.890e-9, rel=2e-3)
    assert mlsa_latency_s(ctx, 10.79e3, 10e-15) == pytest.approx(0.938e-9, rel=2e-3)


def test_flash_adc_reference_levels_and_count(sram):
    ctx, c = sram
    adc = FlashADC(ctx, c, 128, 8, 32, 10e-15, 28e-6, 79e-6, "parallel", 128)
    assert adc.num_adc == 16
    assert adc.r_ref[0] == pytest.approx(674.7, rel=1e-3)
    assert adc.r_ref[1] == pytest.approx(696.4, rel=1e-3)
    assert adc.comparator_latency_s == pytest.approx(0.938e-9, rel=5e-3)


def test_sar_energy_worked_point(sram):
    ctx, _ = sram
    # tables §6.2: 22 nm LSTP, 5 bits, R = 10 kOhm -> 15.0 uW x 6 ns = 90 fJ
    p = sar_column_power_W(ctx, 10e3, 5)[0]
    assert p == pytest.approx(15.0e-6, rel=5e-3)
    sar = SarADC(ctx, ctx.config, 128, 8, 5)
    assert sar.dynamic_energy_J(conductance_S=[1e-4], counts=[1]) == pytest.approx(90e-15,
                                                                                   rel=5e-3)


@pytest.mark.parametrize("kind", ["flash", "sar"])
def test_more_adc_bits_more_area_and_energy(sram, kind):
    ctx, c = sram
    g = np.array([0.0, 1e-5, 1e-4, 5e-4])
    n = np.ones_like(g)
    figs = []
    for bits in (3, 4, 5, 6):
        if kind == "flash":
            adc = FlashADC(ctx, c, 128, 8, 2 ** bits, 10e-15, 28e-6, 79e-6, "parallel", 128)
        else:
            adc = SarADC(ctx, c, 128, 8, bits)
        figs.append((adc.area_m2, adc.dynamic_energy_J(conductance_S=g, counts=n)))
    for a, b in zip(figs, figs[1:]):
        assert b[0] > a[0] and b[1] > a[1]


def test_adder_dff_shift_add_positive_and_monotonic(sram):
    ctx, c = sram
    a8, a16 = Adder(ctx, c, 8, 4), Adder(ctx, c, 16, 4)
    assert 0 < a8.area_m2 < a16.area_m2
    assert 0 < a8.add_latency_s < a16.add_latency_s
    assert a8.dynamic_energy_J(num_ops=10) == pytest.approx(10 * a8.add_energy_J * 0.15)
    d = DFF(ctx, c, 64)
    assert d.area_m2 > 0 and d.leakage_W > 0
    assert d.dynamic_energy_J(num_reads=2) == pytest.approx(2 * d.dynamic_energy_J(num_reads=1))
    s = ShiftAdd(ctx, c, 16, 12, 8)
    assert s.area_m2 > s.adder.area_m2
    assert s.latency_s(num_reads=4, clock_period_s=2e-9) == pytest.approx(8e-9)


def test_adder_tree_stages_and_compat(sram):
    ctx, c = sram
    tree = AdderTree(ctx, c, num_inputs=5, num_bits=8, num_units=2)
    assert [n for n, _ in tree.stages] == [2, 1, 1]        # ceil halving keeps the odd one
    compat = TechContext(c.replace(compat="neurosim-1.4"))
    tree_ns = AdderTree(compat, c, num_inputs=5, num_bits=8, num_units=2)
    assert [n for n, _ in tree_ns.stages] == [2, 1]        # NeuroSim's integer halving
    assert tree.cost(num_reads=3).category == "accumulation"
    assert tree.dynamic_energy_J(num_reads=2) == pytest.approx(2 * tree.dynamic_energy_J(
        num_reads=1))


def test_node_shrink_smaller_area():
    big = TechContext(preset("neurosim-1.4-default"))
    small_cfg = preset("neurosim-1.4-default").replace(technology_node_nm=7)
    small = TechContext(small_cfg)
    assert Adder(small, small_cfg, 8, 4).area_m2 < Adder(big, big.config, 8, 4).area_m2
    assert Array(small, small_cfg, 128, 128).area_m2 < Array(big, big.config, 128, 128).area_m2


def test_mux_and_decoder(sram):
    ctx, c = sram
    mux = Mux(ctx, c, 16, 8, 1349.0)
    dec = RowDecoder(ctx, c, 8, mux.select_cap_F, mux_decoder=True)
    assert mux.area_m2 > 0 and dec.area_m2 > 0
    assert 0 < dec.decode_latency_s < 1e-9
    assert mux.dynamic_energy_J(num_reads=8) == pytest.approx(8 * mux.select_energy_J)


@pytest.mark.parametrize("mux_decoder", [True, False])
def test_decoder_latency_never_falls_with_more_outputs(sram, mux_decoder):
    # same load per decoded line: a decoder with fewer outputs (2 or 4: no NOR stage) is never
    # slower than a bigger one (its predecoder used to drive the decoded line's load itself)
    ctx, c = sram
    load_F = Mux(ctx, c, 16, 8, 1349.0).select_cap_F
    delays = [RowDecoder(ctx, c, outputs, load_F, mux_decoder=mux_decoder).decode_latency_s
              for outputs in (2, 4, 8, 16, 64)]
    assert delays == sorted(delays), delays


def _rram_parallel_subarrays(node_nm, quirks="", cols=128):
    """Sub-arrays of a 128-row parallel RRAM design at every cols_per_adc dividing ``cols``."""
    from chip.components.subarray import SubArray
    out = {}
    m = 1
    while m <= cols:
        c = HardwareConfig(technology_node_nm=node_nm, operation_mode="parallel",
                           subarray_cols=cols, cols_per_adc=m, compat_quirks=quirks)
        out[m] = SubArray(TechContext(c), c)
        m *= 2
    return out


@pytest.mark.parametrize("node_nm", [130, 90, 65, 45, 32, 22])
def test_more_columns_per_adc_never_shorten_the_read_cycle(node_nm):
    # issue 17: at 130-32 nm a 2:1 mux made the cycle 8x longer than no mux and longer than an
    # 8:1 mux (a minimum driver on 64 TGs); selecting among more columns never reads faster
    cycles = [sa.read_cycle_s for sa in _rram_parallel_subarrays(node_nm).values()]
    assert cycles == sorted(cycles), [f"{t * 1e9:.3f}" for t in cycles]
    assert cycles[1] < 1.25 * cycles[0]          # 130 nm: 7.14 -> 7.85 ns (was 61 ns)


def test_mux_select_driver_sized_for_its_load():
    # ours: fan-out 4 into each half of the select load (NMOS / PMOS gates), the node's
    # sizingfactor_MUX as a floor; compat (quirk mux_decoder_table_driver): the factor alone
    subs = _rram_parallel_subarrays(130)
    for m in (2, 8):
        dec, mux = subs[m].components["mux_decoder"], subs[m].components["mux"]
        assert mux.select_cap_F / 2 / dec.drv.cap_in_F == pytest.approx(4.0, rel=1e-6)
        assert dec.sizing_factor > 10
    table = _rram_parallel_subarrays(130, quirks="mux_decoder_table_driver")
    assert table[2].components["mux_decoder"].sizing_factor == 1.0        # Param.cpp: no 130 nm entry
    # NeuroSim's chain with a minimum driver on 64 TGs: tens of ns, falling with more columns
    assert table[2].components["mux_decoder"].decode_latency_s > 30e-9
    assert table[8].components["mux_decoder"].decode_latency_s < table[2].components["mux_decoder"].decode_latency_s
    # 22 nm: the table's 110 is already wider than fan-out 4 needs, so it stays
    d22 = _rram_parallel_subarrays(22)[8].components["mux_decoder"]
    assert d22.sizing_factor == 110.0


def test_chip_level_components(sram):
    ctx, c = sram
    clock = dict(clock_period_s=1.7e-9)
    lines = dict(num_reads=10, **clock)
    bits = dict(num_bits=1e4, num_transfers=10, **clock)
    blocks = [
        (Buffer(ctx, c, num_bits=65536, interface_width=256, kind="register"), "buffer",
         dict(num_writes=10, **lines)),
        (Buffer(ctx, c, num_bits=65536, interface_width=256, kind="sram"), "buffer",
         dict(num_writes=10, **lines)),
        (Bus(ctx, c, 4, 4, 100e-6, 100e-6, 128), "interconnect", bits),
        (HTree(ctx, c, 8, 8, 1e-3, 1e-3, 1024, 0.1, 4), "interconnect", bits),
        (XYBus(ctx, c, 8, 8, 1e-3, 1e-3, 1024, 0.1), "interconnect", bits),
        (MaxPool(ctx, c, num_bits=16, window=4, num_units=64), "other", lines),
        (Activation(ctx, c, num_bits=16, num_units=64), "other", lines),
        (Activation(ctx, c, 8, 4, "sigmoid"), "other", lines),
    ]
    for block, category, activity in blocks:
        cost = block.cost(**activity)
        assert cost.category == category
        assert cost.dynamic_energy_J > 0 and cost.latency_s > 0
        assert block.area_m2 >= 0 and block.leakage_W >= 0
    # a bigger H-tree costs more per bit
    small = HTree(ctx, c, 2, 2, 1e-3, 1e-3, 256)
    large = HTree(ctx, c, 16, 16, 1e-3, 1e-3, 256)
    assert large.bit_energy_J > small.bit_energy_J and large.area_m2 > small.area_m2


@pytest.mark.parametrize("make", [
    lambda ctx, c: Adder(ctx, c, 0),
    lambda ctx, c: Adder(ctx, c, 8, num_adders=-1),
    lambda ctx, c: DFF(ctx, c, 2.5),
    lambda ctx, c: AdderTree(ctx, c, num_inputs=0, num_bits=8),
    lambda ctx, c: Array(ctx, c, 0, 128),
    lambda ctx, c: Buffer(ctx, c, num_bits=1024, interface_width=8, kind="flash"),
    lambda ctx, c: Bus(ctx, c, 0, 4, 1e-4, 1e-4, 8),
    lambda ctx, c: HTree(ctx, c, 2, 2, -1e-3, 1e-3, 8),
    lambda ctx, c: MaxPool(ctx, c, num_bits=8, window=1),
    lambda ctx, c: Activation(ctx, c, 8, 1, "tanh"),
    lambda ctx, c: FlashADC(ctx, c, 128, 8, 1, 1e-15, 1e-6, 1e-6),
    lambda ctx, c: FlashADC(ctx, c, 128, 8, 32, 1e-15, 1e-6, 1e-6, reference_mode="x"),
    lambda ctx, c: SarADC(ctx, c, 128, 8, 5).dynamic_energy_J(conductance_S=[1, 2],
                                                               counts=[1]),
])
def test_bad_input_raises(sram, make):
    ctx, c = sram
    with pytest.raises(ValueError):
        make(ctx, c)


def test_tech_context_rejects_non_config():
    with pytest.raises(TypeError):
        TechContext({"memory_cell": "sram"})


def test_component_quirks_are_registered():
    """The registry of NeuroSim conventions is chip/compat.py: every quirk a component asks
    is named there, and no component module keeps a list of its own."""
    asked = set()
    for path in Path(chip.components.__file__).parent.glob("*.py"):
        text = path.read_text()
        assert "NEUROSIM_DIFFERENCES" not in text, path.name
        asked |= set(re.findall(r'quirk\("([a-z0-9_]+)"\)', text))
    assert len(asked) > 20
    assert asked <= set(QUIRKS), sorted(asked - set(QUIRKS))


def test_units_tiled_in_whole_rows(sram):
    """DFF.cpp / Precharger.cpp: cells tiled against a pinned edge take whole rows."""
    from chip.components.base import tile_units
    assert tile_units(2.0, 1.0, 10, width_m=9.0) == (9.0, 3.0)     # 4 per row -> 3 rows
    assert tile_units(2.0, 1.0, 10, height_m=4.5) == (6.0, 4.5)    # 4 per column -> 3 cols
    ctx, c = sram
    free = DFF(ctx, c, 100)
    row = DFF(ctx, c, 100, width_m=40 * free.unit_width_m + 1e-9)
    assert row.height_m == pytest.approx(3 * free.unit_height_m)   # 40 + 40 + 20
    assert row.area_m2 > free.area_m2


def test_adder_tree_counts_fed_inputs(sram):
    ctx, c = sram
    tree = AdderTree(ctx, c, num_inputs=4, num_bits=8, num_units=2)
    one = Adder(ctx, c, 8, 1)
    # two of four inputs fed: one 8-bit addition, the other adders see no data
    assert tree.dynamic_energy_J(num_reads=1, num_units_used=1, num_inputs=2) == \
        pytest.approx(one.add_energy_J * ctx.delta)
    assert tree.dynamic_energy_J(num_reads=1, num_inputs=1) == 0.0
    assert tree.dynamic_energy_J(num_reads=1) > tree.dynamic_energy_J(num_reads=1,
                                                                      num_inputs=2)


def test_pe_bus_directions(sram):
    ctx, c = sram
    bus = Bus(ctx, c, num_rows=4, num_cols=4, unit_height_m=70e-6, unit_width_m=90e-6,
              bus_width=128, output_width=512)
    # inputs cross the horizontal bus, partial sums the vertical one (ProcessingUnit.cpp)
    assert bus.in_bit_energy_J / bus.out_bit_energy_J == pytest.approx(90 / 70)
    assert bus.dynamic_energy_J(bits_in=10.0, bits_out=0.0) == pytest.approx(
        10 * bus.in_bit_energy_J)


# --- the component contract: explicit activity keywords, routed by cost() ------------------
# every component class with a small instance and one activity, split by hand into what
# latency_s and what dynamic_energy_J declare: (factory, latency keywords, energy keywords)
_CLOCK = dict(clock_period_s=2e-9)
_CONTRACT = {
    Array: (lambda ctx, c: Array(ctx, c, 64, 64),
            {}, dict(row_activations=100.0, column_reads=10.0)),
    SwitchMatrix: (lambda ctx, c: SwitchMatrix(ctx, c, 64, 1e4, 1e-14, 100.0, 64),
                   {}, dict(num_reads=10.0, active_lines=5.0)),
    NewSwitchMatrix: (lambda ctx, c: NewSwitchMatrix(ctx, c, 64, 100.0, 1e-14),
                      {}, dict(num_reads=10.0, active_lines=5.0)),
    RowDecoder: (lambda ctx, c: RowDecoder(ctx, c, 64, 1e-14),
                 dict(num_reads=3.0), dict(num_reads=3.0)),
    Mux: (lambda ctx, c: Mux(ctx, c, 16, 8, 1349.0), dict(num_reads=3.0), dict(num_reads=3.0)),
    FlashADC: (lambda ctx, c: FlashADC(ctx, c, 128, 8, 32, 10e-15, 28e-6, 79e-6, "parallel",
                                       128),
               dict(num_conversions=4.0), dict(conductance_S=[1e-5, 1e-4], counts=[3.0, 1.0])),
    SarADC: (lambda ctx, c: SarADC(ctx, c, 128, 8, 5),
             dict(num_conversions=4.0), dict(conductance_S=[1e-5, 1e-4], counts=[3.0, 1.0])),
    SenseAmp: (lambda ctx, c: SenseAmp(ctx, c, 16, 1e-14),
               dict(num_reads=3.0), dict(num_reads=3.0)),
    Precharger: (lambda ctx, c: Precharger(ctx, c, 16, 1e-14, 100.0), {}, dict(num_reads=3.0)),
    SRAMWriteDriver: (lambda ctx, c: SRAMWriteDriver(ctx, c, 16), {}, {}),
    LevelShifter: (lambda ctx, c: LevelShifter(ctx, c, 16, 1e-14),
                   {}, dict(num_reads=10.0, active_lines=5.0)),
    Adder: (lambda ctx, c: Adder(ctx, c, 8, 4),
            dict(num_reads=3.0, **_CLOCK), dict(num_ops=12.0)),
    DFF: (lambda ctx, c: DFF(ctx, c, 64),
          dict(num_reads=10.0, **_CLOCK), dict(num_reads=10.0, num_active=20.0)),
    ShiftAdd: (lambda ctx, c: ShiftAdd(ctx, c, 16, 12, 8),
               dict(num_reads=4.0, **_CLOCK), dict(num_reads=4.0)),
    AdderTree: (lambda ctx, c: AdderTree(ctx, c, num_inputs=8, num_bits=8, num_units=4),
                dict(num_reads=3.0, num_inputs=5, **_CLOCK),
                dict(num_reads=3.0, num_units_used=2, num_inputs=5)),
    Buffer: (lambda ctx, c: Buffer(ctx, c, num_bits=65536, interface_width=256, kind="sram"),
             dict(num_reads=10.0, num_writes=4.0, **_CLOCK),
             dict(num_reads=10.0, num_writes=4.0)),
    Bus: (lambda ctx, c: Bus(ctx, c, 4, 4, 100e-6, 100e-6, 128, output_width=256),
          dict(transfers_in=3.0, transfers_out=2.0, **_CLOCK),
          dict(bits_in=100.0, bits_out=50.0)),
    HTree: (lambda ctx, c: HTree(ctx, c, 4, 4, 1e-3, 1e-3, 256),
            dict(num_transfers=10.0, **_CLOCK), dict(num_bits=1e4)),
    XYBus: (lambda ctx, c: XYBus(ctx, c, 4, 4, 1e-3, 1e-3, 256),
            dict(transfers_in=3.0, transfers_out=2.0, **_CLOCK),
            dict(bits_in=100.0, bits_out=50.0)),
    MaxPool: (lambda ctx, c: MaxPool(ctx, c, num_bits=8, window=4, num_units=16),
              dict(num_reads=5.0, **_CLOCK), dict(num_reads=5.0, num_units_used=3)),
    Activation: (lambda ctx, c: Activation(ctx, c, num_bits=8, num_units=16),
                 dict(num_reads=5.0, **_CLOCK), dict(num_reads=5.0, num_units_used=3)),
    LookupTable: (lambda ctx, c: LookupTable(ctx, c, 256, 8, num_units=4),
                  dict(num_reads=5.0, **_CLOCK), dict(num_reads=5.0, num_units_used=3)),
    Multiplier: (lambda ctx, c: Multiplier(ctx, c, 8, 2),
                 dict(num_reads=3.0, **_CLOCK), dict(num_ops=12.0)),
    Divider: (lambda ctx, c: Divider(ctx, c, 12), dict(num_reads=3.0, **_CLOCK),
              dict(num_ops=2.0)),
    NonlinearUnit: (lambda ctx, c: NonlinearUnit(ctx, c, "gelu", 8, num_units=4),
                    dict(num_reads=5.0, **_CLOCK), dict(num_reads=5.0, num_units_used=3)),
    Softmax: (lambda ctx, c: Softmax(ctx, c, 8, length=10),
              dict(num_reads=5.0, **_CLOCK), dict(num_reads=5.0, num_units_used=1)),
    LayerNorm: (lambda ctx, c: LayerNorm(ctx, c, 8, length=10),
                dict(num_reads=5.0, **_CLOCK), dict(num_reads=5.0, num_units_used=1)),
    DigitalMAC: (lambda ctx, c: DigitalMAC(ctx, c, 8, 8, 20, num_units=4),
                 dict(num_reads=5.0, **_CLOCK), dict(num_macs=12.0)),
}


def _component_classes() -> set[type]:
    for mod in pkgutil.iter_modules(chip.components.__path__):
        importlib.import_module(f"chip.components.{mod.name}")
    out, todo = set(), [Component]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub.__module__.startswith("chip.components."):
                out.add(sub)
                todo.append(sub)
    return out


def test_contract_cases_cover_every_component_class():
    # the abstract interconnect and per-operation bases have no figures of their own;
    # SubArray's activity is a whole SubArrayActivity (tests/test_subarray.py)
    assert _component_classes() == set(_CONTRACT) | {Interconnect, PerOperationUnit, SubArray}


def _misspelt(known: frozenset[str]) -> str:
    """A plausible typo of one declared keyword: a dropped or an added plural 's'."""
    key = sorted(known)[0] if known else "num_reads"
    return key[:-1] if key.endswith("s") else key + "s"


@pytest.mark.parametrize("cls", list(_CONTRACT), ids=lambda cls: cls.__name__)
def test_misspelt_activity_keyword_raises(sram, cls):
    ctx, c = sram
    comp = _CONTRACT[cls][0](ctx, c)
    known = cls.activity_keywords()
    assert set(_CONTRACT[cls][1]) | set(_CONTRACT[cls][2]) <= known
    bad = _misspelt(known)
    assert bad not in known
    with pytest.raises(TypeError) as err:
        comp.cost(**{bad: 10})
    msg = str(err.value)
    assert cls.__name__ in msg and repr(bad) in msg and "\n" not in msg
    for key in known:
        assert key in msg
    for method in (comp.latency_s, comp.dynamic_energy_J):
        with pytest.raises(TypeError):
            method(**{bad: 10})


def test_misspelt_count_no_longer_prices_zero(sram):
    ctx, c = sram
    tree = AdderTree(ctx, c, num_inputs=8, num_bits=8)
    with pytest.raises(TypeError, match="num_read"):
        tree.dynamic_energy_J(num_read=10)
    with pytest.raises(TypeError, match=r"AdderTree \(adder_tree\).*'num_read'.*known: "
                                        r"clock_period_s, num_inputs, num_reads, "
                                        r"num_units_used"):
        tree.cost(num_read=10)


@pytest.mark.parametrize("cls", list(_CONTRACT), ids=lambda cls: cls.__name__)
def test_cost_routes_each_keyword_to_the_method_declaring_it(sram, cls):
    ctx, c = sram
    make, lat_kw, energy_kw = _CONTRACT[cls]
    comp = make(ctx, c)
    activity = {**lat_kw, **energy_kw}
    # the hand split is what the two methods declare
    for method, part in ((comp.latency_s, lat_kw), (comp.dynamic_energy_J, energy_kw)):
        declared = inspect.signature(method).parameters
        assert {k for k in activity if k in declared} == set(part), method.__name__
    cost = comp.cost(count=3, **activity)
    assert cost.latency_s == comp.latency_s(**lat_kw)
    assert cost.dynamic_energy_J == 3 * comp.dynamic_energy_J(**energy_kw)
    assert cost.area_m2 == 3 * comp.area_m2 and cost.leakage_W == 3 * comp.leakage_W
    assert (cost.name, cost.category, cost.count) == (comp.name, comp.category, 3)
    if cls is not SRAMWriteDriver:       # inference never writes: no read figures
        assert cost.latency_s > 0 or cost.dynamic_energy_J > 0


def test_catch_all_activity_refused_at_class_definition():
    with pytest.raises(TypeError, match="catch-all"):
        class Sloppy(Component):            # noqa: F841
            def dynamic_energy_J(self, *, num_reads: float = 0.0, **_) -> float:
                return num_reads


def test_interconnects_share_one_activity(sram):
    keys = {"num_bits", "bits_in", "bits_out", "num_transfers", "transfers_in",
            "transfers_out", "clock_period_s"}
    assert Bus.activity_keywords() == HTree.activity_keywords() == \
        XYBus.activity_keywords() == keys
    ctx, c = sram
    tree = HTree(ctx, c, 4, 4, 1e-3, 1e-3, 256)
    # every H-tree transfer runs root <-> leaf, so either direction costs the whole path
    assert tree.dynamic_energy_J(bits_in=10.0, bits_out=5.0) == pytest.approx(
        15 * tree.bit_energy_J)
    assert tree.latency_s(transfers_in=2, transfers_out=1, clock_period_s=1e-9) == \
        pytest.approx(3 * tree.latency_s(num_transfers=1, clock_period_s=1e-9))
    bus = Bus(ctx, c, 4, 4, 100e-6, 100e-6, 128)
    # num_bits are weighted with the toggle rate, per-direction bits are not
    assert bus.dynamic_energy_J(num_bits=100.0) == pytest.approx(
        100 * bus.bit_energy_J * c.output_toggle_rate)
    assert HTree(ctx, c, 4, 4, 1e-3, 1e-3, 256).toggle == c.input_toggle_rate
