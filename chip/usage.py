"""A block's work in one layer, turned into its component's counts and a Cost node.

The hierarchy (chip.pe, chip.tile, chip.chip_model) knows what a layer asks of a block -
operations, bits moved, transfers on the critical path; the components (chip.components)
know what one read, write or transfer costs. These functions are the one place where the
first become the second, so each rule is written once: how an adder tree's evaluations
spread over its lanes, how bits become buffer line accesses, which bus counts are already
weighted by their toggle rates.

The nodes returned hold the work only (latency and dynamic energy); area and leakage are
booked once per allocated block by the static nodes (:func:`static`).
"""
from __future__ import annotations

import math

from chip.cost import Cost

__all__ = ["static", "tree_work", "buffer_work", "bus_work", "unit_work", "sync_clock"]


def sync_clock(config, clock_period_s: float) -> float | None:
    """The clock a block is timed against: the chip clock when synchronous, else none (each
    block at its own speed)."""
    return clock_period_s if config.clock == "synchronous" else None


def _node(name: str, block, latency_s: float, energy_J: float) -> Cost:
    return Cost(name, block.category, latency_s=latency_s, dynamic_energy_J=energy_J)


def static(name: str, block, category: str, count: int = 1) -> Cost:
    """Area and leakage of ``count`` allocated blocks (they exist whether or not they work)."""
    return Cost(name=name, category=category, area_m2=block.area_m2 * count,
                leakage_W=block.leakage_W * count, count=count)


def tree_work(tree, name: str, *, ops: float, reads: float, inputs: int, clock: float | None,
              all_lanes: bool) -> Cost:
    """An adder tree (``tree.num_units`` lanes) evaluated ``ops`` times in all, ``reads``
    times in a row on the critical path, fed ``inputs`` operands.

    Energy: ceil(ops / lanes) evaluations of the lanes that carry an operand; NeuroSim's
    AdderTree.cpp charges every lane (``all_lanes``, quirk unused_lanes_charged)."""
    units = tree.num_units
    used = (units if all_lanes else min(units, ops)) if ops else 0
    energy = tree.dynamic_energy_J(num_reads=math.ceil(ops / units) if ops else 0,
                                   num_units_used=used, num_inputs=inputs)
    latency = tree.latency_s(num_reads=reads, clock_period_s=clock, num_inputs=inputs)
    return _node(name, tree, latency, energy)


def buffer_work(buf, name: str, *, clock: float | None, interface_bits: int,
                bits: float = 0.0, lines: float | None = None, read_bits: float | None = None,
                write_bits: float | None = None, parallel: int = 1,
                halve: float = 1.0) -> Cost:
    """A buffer through which ``bits`` pass (each written once and read once, in lines of
    ``interface_bits``; NeuroSim's Tile.cpp halves both counts for tile buffers, ``halve``),
    or which is read ``read_bits`` and written ``write_bits`` (the global buffer).

    Latency: ``lines`` line accesses on the critical path of one buffer instance, else all
    accesses spread over ``parallel`` cores working at once."""
    width = max(1, int(interface_bits))
    if read_bits is not None or write_bits is not None:
        reads, writes = (read_bits or 0) / width, (write_bits or 0) / width
    else:
        reads = writes = bits / width / halve
    energy = buf.dynamic_energy_J(num_reads=reads, num_writes=writes)
    if lines is not None:
        latency = buf.latency_s(num_reads=lines, num_writes=0.0, clock_period_s=clock)
    else:
        latency = buf.latency_s(num_reads=(reads + writes) / max(1, parallel), num_writes=0.0,
                                clock_period_s=clock)
    return _node(name, buf, latency, energy)


def bus_work(bus, name: str, *, clock: float | None, num_bits: float = 0.0,
             toggled_bits: float | None = None, transfers: float | None = None,
             bits_in: float | None = None, bits_out: float | None = None,
             transfers_in: float | None = None, transfers_out: float | None = None) -> Cost:
    """A bus or H-tree moving ``num_bits`` (or ``toggled_bits``, already weighted by their
    toggle rates) in ``transfers`` (default: bits / bus width); per direction when ``bits_in``
    / ``bits_out`` (toggled) and ``transfers_in`` / ``transfers_out`` are given."""
    if toggled_bits is not None:
        num_bits = toggled_bits / bus.toggle if bus.toggle else 0.0
    if transfers is None:
        transfers = math.ceil(num_bits / bus.bus_width)
    directions = {k: v for k, v in (("bits_in", bits_in), ("bits_out", bits_out))
                  if v is not None}
    timing = {k: v for k, v in (("transfers_in", transfers_in), ("transfers_out", transfers_out))
              if v is not None}
    energy = bus.dynamic_energy_J(num_bits=num_bits, **directions)
    latency = bus.latency_s(num_transfers=transfers, clock_period_s=clock, **timing)
    return _node(name, bus, latency, energy)


def unit_work(unit, name: str, *, ops: float, lanes: int, clock: float | None) -> Cost:
    """An activation or pooling unit of ``lanes`` lanes doing ``ops`` operations."""
    reads = math.ceil(ops / lanes)
    return _node(name, unit, unit.latency_s(num_reads=reads, clock_period_s=clock),
                 unit.dynamic_energy_J(num_reads=reads))
