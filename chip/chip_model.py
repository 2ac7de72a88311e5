"""Chip: the mapped layers on tiles, plus the shared chip-level blocks -> one Cost tree per
image (DNN+NeuroSim V1.4 Chip.cpp / main.cpp, reference/neurosim-v1.4.md §2, §7, §9).

Timing: synchronous clock = the slowest sub-array read cycle, but never faster than
``clock_freq_max_Hz`` allows. A layer's array/PE time is divided by its achieved speed-up
(duplicates share the input vectors); tile and chip-level blocks are not divided. Pipelined
latency per image = the slowest layer stage; layer by layer = the sum.

Leakage energy per image: every block leaks for the whole image time. Pipelined, the image
time is the final slowest stage; a layer's tiles leak at the sub-array "in use" rate while
busy and at the idle rate otherwise. Chip-level blocks leak too. NeuroSim's rules, each a
compat quirk (docs/validation.md, "Leakage, block by block"): chip blocks do not leak, a busy
tile leaks its SRAM-in-use cells only, the busy/idle mix is taken over the running system
clock, adder trees leak the stages their last evaluation fed (chip/neurosim_trees.py), and
layer by layer the other layers' tiles leak at the running layer's rate.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from chip.compat import quirk_on
from chip.cost import Cost
from chip.dynamic import (DigitalProducts, DynamicWrites, digital_layer, digital_mapping,
                          dynamic_activity, dynamic_writes, write_node)
from chip.global_blocks import GlobalBlocks
from chip.mapping import LayerMapping, NetworkMapping
from chip.neurosim_trees import tree_inputs
from chip.pe import PE, LayerLoad
from chip.tile import Tile, TileFlavour
from chip.usage import sync_clock
from contracts.config import HardwareConfig
from contracts.trace import LayerTrace

__all__ = ["Chip", "ChipResult", "LayerResult"]


@dataclass
class LayerResult:
    """Per-layer figures (per image) and the layer's subtree."""

    mapping: LayerMapping
    tree: Cost
    latency_s: float                 # stage latency per image
    dynamic_energy_J: float
    leakage_W: float                 # tiles of this layer (idle rate)
    leakage_in_use_W: float          # tiles of this layer while busy
    leakage_energy_J: float = 0.0    # filled by the chip (depends on the image time)
    area_m2: float = 0.0
    read_cycle_s: float = 0.0
    breakdown_latency_s: dict = field(default_factory=dict)
    writes: DynamicWrites | None = None   # a dynamic product on crossbars: its rewrites


@dataclass
class ChipResult:
    tree: Cost
    layers: list[LayerResult]
    clock_period_s: float
    latency_s: float
    dynamic_energy_J: float
    leakage_energy_J: float
    leakage_W: float
    area_m2: float
    chip_blocks: Cost
    # pipelined: the shared unit (SHARED_UNITS) whose busy time sets the image period, if one
    period_set_by: str | None = None


class Chip:
    """The chip for ``mapping``: one sub-array design, a tile (and its PE) per flavour the
    layers use, and the shared blocks. ``geometries``: every layer of the trace; ``mapping``
    holds those on crossbars (all but the dynamic products of the digital policy, which run
    on the digital MAC unit, chip.dynamic)."""

    def __init__(self, mapping: NetworkMapping, geometries, config: HardwareConfig, parts):
        self.mapping, self.config, self.parts = mapping, config, parts
        digital = [g for g in geometries if digital_layer(g, config)]
        self.digital = DigitalProducts(parts, config, digital) if digital else None
        self.subarray = parts.subarray(mapping.subarray_rows, mapping.subarray_cols)
        self.read_cycle_s = float(self.subarray.read_cycle_s)
        # main.cpp: f = min(clkFreq, 1 / clkPeriod)
        min_period = 1.0 / config.clock_freq_max_Hz
        self.clock_period_s = max(self.read_cycle_s, min_period) \
            if config.clock == "synchronous" else min_period
        psum_bits = parts.subarray_output_bits()
        self.tiles: dict[bool, Tile] = {}
        for novel in (False, True):                      # conventional first
            if any(m.novel == novel for m in mapping.layers):
                flavour = TileFlavour.of(mapping, novel)
                pe = PE(parts, config, self.subarray,
                        (mapping.subarray_rows, mapping.subarray_cols), flavour.pe_cells,
                        psum_bits, quirk_on(config, "square_subarray_sizing"))
                self.tiles[novel] = Tile(parts, config, pe, flavour, psum_bits)
        self.blocks = GlobalBlocks(parts, config, mapping, self.tiles, geometries, psum_bits)
        self._tree_inputs = tree_inputs(mapping, config.clock == "synchronous") \
            if quirk_on(config, "adder_tree_leaks_used_stages") else None

    def _load(self, m: LayerMapping, trace: LayerTrace) -> LayerLoad:
        g, cfg = trace.geometry, self.config
        V = m.input_vectors
        return LayerLoad(
            mapping=m, rows_per_pe_copy=m.weight_rows if not m.novel else
            g.in_channels // g.groups, vectors=V, outputs=g.out_channels,
            bit_vectors=V * cfg.activation_bits,
            # ProcessingUnit.cpp / Tile.cpp: an adder tree per ADC lane group sums one
            # vector's outputs at a time: V x ceil(cols per ADC / cells per weight) reads
            tree_reads=V * -(-cfg.cols_per_adc // cfg.cells_per_weight),
            clock=sync_clock(cfg, self.clock_period_s))

    def layer_cost(self, m: LayerMapping, trace: LayerTrace) -> LayerResult:
        """One layer per image: its tiles' work, its share of the chip blocks, its leakage."""
        tile, load = self.tiles[m.novel], self._load(m, trace)
        # the activity model applies the compat vector count itself (chip/activity.py)
        activity = dynamic_activity(self.parts, trace, m.row_groups) if trace.geometry.dynamic \
            else self.parts.activity(trace, m.row_groups)
        c_sa = self.subarray.cost(activity, self.clock_period_s)
        c_sa.name = "subarrays"
        speedup = max(1, m.speedup)
        core = [c_sa, *tile.pe.cost(load)]
        for c in core:          # Tile.cpp: PE latency / (speedUpRow x speedUpCol)
            for _, node in c.walk():
                node.latency_s /= speedup
        core += tile.cost(load)
        for c in core:
            _work_only(c)        # area and leakage are booked once per allocated tile
        chip_nodes = self.blocks.cost(load, trace.geometry, tile)
        for c in chip_nodes:
            _work_only(c)        # chip blocks' area and leakage are booked at chip level
        writes = dynamic_writes(trace, m, self.config) if trace.geometry.dynamic else None
        if writes is not None:       # its operand written into the cells before the reads
            chip_nodes.insert(0, write_node(writes, self.parts))
        core_latency = sum(c.latency_s for c in core)
        chip_latency = sum(c.latency_s for c in chip_nodes)
        tiles_node = Cost(name="tiles", category="other", latency_s=core_latency, count=m.tiles,
                          children=core)
        hardware = Cost(name="tile_hardware", category="other", count=m.tiles,
                        children=tile.static(m.tiles))
        layer_node = Cost(name=m.name, category="other", latency_s=core_latency + chip_latency,
                          children=[tiles_node, hardware, *chip_nodes])
        idle, in_use = self._leakage(load, tile)
        return LayerResult(
            mapping=m, tree=layer_node, latency_s=layer_node.latency_s,
            dynamic_energy_J=layer_node.total_dynamic_energy_J, leakage_W=idle,
            leakage_in_use_W=in_use, area_m2=m.tiles * tile.area_m2,
            read_cycle_s=self.read_cycle_s, writes=writes,
            breakdown_latency_s={"core": core_latency, "chip": chip_latency})

    def _leakage(self, load: LayerLoad, tile: Tile) -> tuple[float, float]:
        """(idle, busy) leakage power of the layer's tiles."""
        cfg, m, pe, sa = self.config, load.mapping, tile.pe, self.subarray
        idle = m.tiles * tile.leakage_W
        if quirk_on(cfg, "adder_tree_leaks_used_stages"):
            # ProcessingUnit.cpp / Tile.cpp: an adder tree's leakage is evaluated for the
            # inputs the layer feeds it (AdderTree::CalculatePower(numRead, numUnitAdd)), so
            # the stages a layer leaves unused do not leak
            pe_tree, tile_tree = self._unused_tree_leakage(load, tile)
            idle -= m.tiles * tile.flavour.pes * pe_tree
            idle -= m.tiles * tile_tree
        n_arrays = m.tiles * pe.working * tile.flavour.pes
        if quirk_on(cfg, "in_use_leakage_sram_only") and hasattr(sa, "array_leakage_in_use_W"):
            # main.cpp (pipeline): a busy tile leaks only its SRAM-in-use cells
            return idle, n_arrays * sa.array_leakage_in_use_W
        # ours: a busy tile's peripherals keep leaking; its array at the in-use rate
        in_use_sa = getattr(sa, "leakage_in_use_W", sa.leakage_W)
        return idle, idle - n_arrays * (sa.leakage_W - in_use_sa)

    def _unused_tree_leakage(self, load: LayerLoad, tile: Tile) -> tuple[float, float]:
        """Leakage of the stages of one PE's and one tile's adder tree that NeuroSim leaves
        out for this layer (chip/neurosim_trees.py: the operands of the last evaluation of
        each tree when the layer's leakage is read)."""
        pe, parts = tile.pe, self.parts
        used = self._tree_inputs[load.mapping.index]

        def leaking(tree, inputs: int | None, bits: int) -> float:
            if inputs is None or inputs == 1:
                return 0.0                    # never evaluated / one operand: no stage
            if inputs == 0:
                return tree.leakage_W         # AdderTree.cpp: numUnitAdd 0 = every input
            return parts.adder_tree(inputs, bits, tree.num_units).leakage_W

        return (pe.tree.leakage_W - leaking(pe.tree, used.pe, pe.psum_bits),
                tile.tree.leakage_W - leaking(tile.tree, used.tile, tile.output_bits))

    def digital_cost(self, index: int, trace: LayerTrace) -> LayerResult:
        """A dynamic product on the digital unit per image, and its share of the chip blocks
        (input and operand traffic, the functions after it)."""
        g, cfg = trace.geometry, self.config
        m = digital_mapping(index, g)
        clock = sync_clock(cfg, self.clock_period_s)
        load = LayerLoad(mapping=m, rows_per_pe_copy=0, vectors=m.input_vectors,
                         outputs=g.out_channels, bit_vectors=m.input_vectors * cfg.activation_bits,
                         tree_reads=0, clock=clock)
        nodes = self.digital.cost(g, clock)
        chip_nodes = self.blocks.cost(load, g, next(iter(self.tiles.values())))
        for c in chip_nodes:
            _work_only(c)
        layer_node = Cost(name=m.name, category="other",
                          latency_s=sum(c.latency_s for c in nodes + chip_nodes),
                          children=[*nodes, *chip_nodes])
        return LayerResult(mapping=m, tree=layer_node, latency_s=layer_node.latency_s,
                           dynamic_energy_J=layer_node.total_dynamic_energy_J, leakage_W=0.0,
                           leakage_in_use_W=0.0, read_cycle_s=self.read_cycle_s)

    def cost(self, traces: Sequence[LayerTrace], progress=None) -> ChipResult:
        """The whole Chip -> Tile -> PE -> SubArray cost tree for one image (the layers in
        the trace's order; those on the digital unit beside the mapped ones)."""
        results, mapped = [], iter(self.mapping.layers)
        for index, trace in enumerate(traces):
            if digital_layer(trace.geometry, self.config):
                results.append(self.digital_cost(index, trace))
                continue
            m = next(mapped)
            if progress is not None:
                progress(m)
            results.append(self.layer_cost(m, trace))
        return self._totals(results)

    def _totals(self, results: list[LayerResult]) -> ChipResult:
        cfg = self.config
        image_time = max(r.latency_s for r in results) if cfg.pipeline else \
            sum(r.latency_s for r in results)
        shared, busy = shared_unit_time(results)
        period_set_by = shared if cfg.pipeline and busy > image_time else None
        image_time = max(image_time, busy) if cfg.pipeline else image_time
        static_nodes = self.blocks.static() + (self.digital.static() if self.digital else [])
        running = 0.0
        for r in results:
            running = max(running, r.latency_s)
            r.leakage_energy_J = self._layer_leakage_energy(r, image_time, running)
        leak_energy = sum(r.leakage_energy_J for r in results)
        if not quirk_on(cfg, "chip_blocks_no_leakage"):
            # ours: chip-level blocks leak too
            leak_energy += sum(c.leakage_W for c in static_nodes) * image_time
        leakage_W = leak_energy / image_time if image_time > 0 else 0.0
        layers_node = Cost(name="layers", category="other", latency_s=image_time,
                           children=[r.tree for r in results])
        chip_node = Cost(name="chip", category="other", latency_s=image_time,
                         children=[*static_nodes, layers_node])
        return ChipResult(tree=chip_node, layers=results, clock_period_s=self.clock_period_s,
                          latency_s=image_time, dynamic_energy_J=chip_node.total_dynamic_energy_J,
                          leakage_energy_J=leak_energy, leakage_W=leakage_W,
                          area_m2=chip_node.total_area_m2, chip_blocks=chip_node,
                          period_set_by=period_set_by)

    def _layer_leakage_energy(self, r: LayerResult, image_time: float,
                              running_time: float) -> float:
        """Leakage energy per image of layer ``r``'s tiles; ``running_time``: the slowest
        stage among the layers up to this one (pipelined)."""
        cfg = self.config
        if not cfg.pipeline and quirk_on(cfg, "layer_by_layer_leakage_running_tile"):
            # main.cpp (layer by layer): while layer i runs, the other layers' tiles are
            # charged at layer i's own per-tile leakage
            per_tile = r.leakage_W / max(1, r.mapping.tiles)
            return r.latency_s * (r.leakage_in_use_W + per_tile * (
                self.mapping.num_tiles - r.mapping.tiles))
        if cfg.pipeline and quirk_on(cfg, "pipeline_leakage_running_clock") \
                and running_time > 0:
            # main.cpp (pipeline): the busy/idle mix is taken over the system clock as far
            # as it is known when the layer is evaluated, then charged for the final one
            power = (r.leakage_in_use_W * r.latency_s
                     + r.leakage_W * (running_time - r.latency_s)) / running_time
            return power * image_time
        # busy for its own stage time at the in-use rate, idle the rest of the image time
        return r.leakage_in_use_W * r.latency_s + r.leakage_W * (image_time - r.latency_s)


#: blocks the chip has once, shared by every layer that needs them (not one per pipelined
#: layer like the activation, pooling, softmax and LayerNorm units), by the cost nodes of
#: their work: the digital MAC unit with its K/V buffer (a layer writes its operand into
#: the buffer, then runs its MACs)
SHARED_UNITS = {"digital_mac": ("digital_mac", "kv_buffer")}


def shared_unit_time(results: Sequence[LayerResult]) -> tuple[str | None, float]:
    """(unit, time): the shared unit busiest per image, its busy time summed over the layers
    that use it. In a pipeline the layers take turns on it, so the image period is at least
    this (ours; (None, 0) when no layer uses one)."""
    busy = dict.fromkeys(SHARED_UNITS, 0.0)
    for r in results:
        for node in r.tree.children:
            for unit, names in SHARED_UNITS.items():
                if node.name in names:
                    busy[unit] += node.latency_s
    unit = max(busy, key=busy.get)
    return (unit, busy[unit]) if busy[unit] > 0 else (None, 0.0)


def _work_only(c: Cost) -> None:
    """Zero area and leakage in a work subtree (they belong to the hardware nodes)."""
    for _, node in c.walk():
        node.area_m2 = 0.0
        node.leakage_W = 0.0
