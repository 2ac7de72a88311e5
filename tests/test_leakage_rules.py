"""Per-layer leakage, derived by hand from the rules (docs/validation.md, "Leakage, block by
block"), on a network whose layers' weights fill all, 1/2 and 1/8 of a tile.

Stand-in parts with round figures (tests/test_hierarchy.py's FakeParts; here an adder tree
leaks 1e-8 W per adder, lanes x (inputs - 1), so the stages NeuroSim leaves out show).
Latencies are taken from the estimate (they are not leakage rules); every power is built up
from the stand-ins' figures below.
"""
from __future__ import annotations

import pytest

from chip.chip_model import Chip
from chip.mapping import map_network
from chip.synthetic import _linear, synthetic_layers
from contracts.config import HardwareConfig
from test_hierarchy import FakeParts, FakeSubArray, FakeTree

NEUROSIM_LEAKAGE = ("in_use_leakage_sram_only,adder_tree_leaks_used_stages,"
                    "tile_buffer_leakage_one_core,pipeline_leakage_running_clock,"
                    "chip_blocks_no_leakage,layer_by_layer_leakage_running_tile")
SA, SA_IN_USE, SA_CELLS_IN_USE = 1e-7, 0.8e-7, 0.3e-7    # one 128 x 128 sub-array, W


class _SubArray(FakeSubArray):
    def __init__(self, config):
        super().__init__(config)
        self.array_leakage_in_use_W = SA_CELLS_IN_USE     # its SRAM cells not being read


class _Parts(FakeParts):
    def subarray(self, rows, cols):
        return _SubArray(self.config)

    def adder_tree(self, num_inputs, input_bits, lanes):
        return FakeTree("accumulation", 1e-9 * num_inputs * lanes,
                        1e-8 * lanes * max(0, num_inputs - 1), 1e-14 * input_bits,
                        num_units=lanes)


def approx(value):
    return pytest.approx(value, rel=1e-9, abs=0)


# 512 x 512 cells: all of a 512 x 512 tile; 256 x 512: half; 128 x 256: an eighth (8 cells
# per weight). Tile: 2 x 2 PEs of 2 x 2 sub-arrays of 128 x 128.
FULL, HALF, EIGHTH = _linear("full", 512, 64), _linear("half", 256, 64), \
    _linear("eighth", 128, 32)

# --- one tile's blocks (tests/test_hierarchy.py derives the sizes) --------------------------
PE_TREE = 1e-8 * 32 * 1             # 2 operands (sub-array rows), 2 x 128 / 8 = 32 lanes
PE_REGS = 1e-9 * 1024 / 1024 + 1e-9 * 272 / 1024      # input 8 x 128 bits, output 16 x 17
PE_BUS = 1e-9 * 128                 # one sub-array's rows wide
PE = 4 * SA + PE_TREE + PE_REGS + PE_BUS
TILE_TREE = 1e-8 * 64 * 1           # 2 operands (PE rows), 2 x 256 / 8 = 64 lanes
TILE_IN_CORE, TILE_IN_CORES = 1e-9 * 1024 / 1024, 2   # 2 x 8 x 128 bits: two 1024-bit cores
TILE_OUT = 1e-9 * 576 / 1024        # 2 x 16 lanes x 18 bits: one core
HTREE = 1e-9 * 512                  # 2 PEs x 256 columns wide
TILE = 4 * PE + TILE_TREE + TILE_IN_CORES * TILE_IN_CORE + TILE_OUT + HTREE


def _run(geoms, **changes):
    cfg = HardwareConfig(**changes)
    m = map_network(geoms, cfg)
    traces = synthetic_layers(geoms, seed=4, input_sparsity=0.5)
    return Chip(m, geoms, cfg, _Parts(cfg)).cost(traces), m


def test_the_layers_fill_all_half_and_an_eighth_of_one_tile():
    _, m = _run([FULL, HALF, EIGHTH])
    assert (m.cm_tile_cells, m.cm_pe_cells) == ((512, 512), (256, 256))
    assert [x.tiles for x in m.layers] == [1, 1, 1]
    assert [x.weight_subarrays for x in m.layers] == [16, 8, 2]     # of 16 per tile
    # the smaller layers are duplicated into the rest of their tile (Chip.cpp PEDesign,
    # SubArrayDup): every sub-array of all three tiles holds weights
    assert [x.speedup for x in m.layers] == [1, 2, 8]
    assert [x.used_subarrays for x in m.layers] == [16, 16, 16]


def test_ours_every_block_of_a_tile_leaks_for_the_whole_image():
    """Ours: a tile leaks all its blocks (no power gating), whatever share of it the layer
    fills; while busy its arrays leak at the in-use rate. Pipelined: busy for the layer's
    stage, idle for the rest of the image time (the slowest stage)."""
    r, _ = _run([FULL, HALF, EIGHTH])
    T = r.latency_s
    busy = TILE - 16 * (SA - SA_IN_USE)
    assert T == approx(max(x.latency_s for x in r.layers))
    for x in r.layers:
        assert x.leakage_W == approx(TILE) and x.leakage_in_use_W == approx(busy)
        assert x.leakage_energy_J == approx(busy * x.latency_s + TILE * (T - x.latency_s))
    # the slowest layer is busy all the time; the eighth, duplicated 8 times, mostly idle
    assert r.layers[0].latency_s == approx(T)
    assert r.layers[2].leakage_energy_J > r.layers[0].leakage_energy_J


def _neurosim_tile(pe_tree_inputs: int | None, tile_tree_inputs: int | None) -> float:
    """A tile's idle leakage by NeuroSim's rules: one core per tile buffer (Tile.cpp), and
    each adder tree leaking the stages of its last AdderTree::CalculatePower (None: never
    called; 1: one operand, no stage; 2: the whole tree of these 2-operand trees)."""
    pe_tree = PE_TREE if pe_tree_inputs == 2 else 0.0
    tile_tree = TILE_TREE if tile_tree_inputs == 2 else 0.0
    return 4 * (PE - PE_TREE + pe_tree) + tile_tree + TILE_IN_CORE + TILE_OUT + HTREE


def test_neurosim_rules_per_layer_pipelined_synchronous():
    """NeuroSim (main.cpp, Chip.cpp, Tile.cpp, ProcessingUnit.cpp): busy, a tile leaks only
    the SRAM cells not being read; idle, all its blocks but the adder-tree stages its last
    evaluation left out and all but one core per tile buffer.

    Tree evaluations (chip/neurosim_trees.py): full (no duplication) evaluates its PE trees
    with ceil((512 / 2) / 128) = 2 operands and its tile tree with 2; half (duplicated along
    the rows only) its PE slices with ceil(256 / 128) = 2 and, holding one PE row, no tile
    tree; eighth (the whole weight matrix in every PE, 2 x 1 arrays per PE) its PE tree with
    ceil(128 / 128) = 1 and no tile tree. A tree not evaluated keeps its last state: the
    tile tree's 2 from full's evaluation (and the clock pass)."""
    r, _ = _run([FULL, HALF, EIGHTH], compat_quirks=NEUROSIM_LEAKAGE)
    T = r.latency_s
    busy = 16 * SA_CELLS_IN_USE
    idle = [_neurosim_tile(2, 2), _neurosim_tile(2, 2), _neurosim_tile(1, 2)]
    for x, p in zip(r.layers, idle):
        assert x.leakage_W == approx(p) and x.leakage_in_use_W == approx(busy)
        # the slowest layer comes first: the running system clock is the final one
        assert x.leakage_energy_J == approx(busy * x.latency_s + p * (T - x.latency_s))
    # chip-level blocks do not leak (main.cpp sums the layers only)
    assert r.leakage_energy_J == approx(sum(x.leakage_energy_J for x in r.layers))
    ours, _ = _run([FULL, HALF, EIGHTH])
    assert ours.leakage_energy_J > r.leakage_energy_J


def test_neurosim_running_clock_and_tree_state_follow_layer_order():
    """The same layers, slowest last. main.cpp mixes each layer's busy and idle leakage over
    the system clock known so far (the running maximum of the stage latencies) and charges
    that power for the final image time: the eighth, the slowest so far when evaluated, is
    charged its busy rate for the whole image. Asynchronous, there is no clock pass: the tile
    tree is first evaluated by full, last, so eighth and half read it unevaluated."""
    r, _ = _run([EIGHTH, HALF, FULL], compat_quirks=NEUROSIM_LEAKAGE, clock="asynchronous")
    T = r.latency_s
    busy = 16 * SA_CELLS_IN_USE
    idle = [_neurosim_tile(1, None), _neurosim_tile(2, None), _neurosim_tile(2, 2)]
    running = 0.0
    for x, p in zip(r.layers, idle):
        running = max(running, x.latency_s)
        assert x.leakage_W == approx(p)
        power = (busy * x.latency_s + p * (running - x.latency_s)) / running
        assert x.leakage_energy_J == approx(power * T)
    assert r.layers[2].latency_s == approx(T) and r.layers[1].latency_s < T
    assert r.layers[0].leakage_energy_J == approx(busy * T)
    # with the synchronous clock the clock pass has evaluated the tile tree (full's 2)
    sync, _ = _run([EIGHTH, HALF, FULL], compat_quirks=NEUROSIM_LEAKAGE)
    assert [x.leakage_W for x in sync.layers] == [
        approx(_neurosim_tile(1, 2)), approx(_neurosim_tile(2, 2)), approx(_neurosim_tile(2, 2))]


def test_layer_by_layer_leakage_ours_and_neurosim():
    """Layer by layer, ours: every tile leaks for the whole image time, its own layer's at the
    busy rate while it runs. NeuroSim (main.cpp): while layer i runs, the other layers' tiles
    are charged at layer i's per-tile idle leakage, its own at the SRAM-in-use rate."""
    r, _ = _run([FULL, HALF, EIGHTH], pipeline=False)
    T = r.latency_s
    assert T == approx(sum(x.latency_s for x in r.layers))
    busy = TILE - 16 * (SA - SA_IN_USE)
    for x in r.layers:
        assert x.leakage_energy_J == approx(busy * x.latency_s + TILE * (T - x.latency_s))
    ns, _ = _run([FULL, HALF, EIGHTH], pipeline=False, compat_quirks=NEUROSIM_LEAKAGE)
    idle = [_neurosim_tile(2, 2), _neurosim_tile(2, 2), _neurosim_tile(1, 2)]
    for x, p in zip(ns.layers, idle):
        assert x.leakage_energy_J == approx((2 * p + 16 * SA_CELLS_IN_USE) * x.latency_s)
