"""NeuroSim V1.4's adder-tree leakage bookkeeping, replayed for compat quirk
``adder_tree_leaks_used_stages``.

NeuroSim sets an adder tree's leakage inside ``AdderTree::CalculatePower(numRead,
numUnitAdd)``: only the stages that ``numUnitAdd`` operands pass leak (``numUnitAdd`` 0: the
whole tree; 1: none). One PE-tree object and one tile-tree object serve every tile of a
flavour (conventional, novel), and a layer's tile leakage is read once its last tile has
been evaluated (Chip.cpp ``*leakage = tileLeakage``), so it carries the ``numUnitAdd`` of the
last call made on each object -- the layer's last tile's, or an earlier tile's or layer's
when the layer's own path makes no call (ProcessingUnit.cpp, Tile.cpp). The calls, per
distinct tile of a layer (R_t x C_t cells, ``numPE`` PEs a side of ``peSize`` cells,
sub-arrays of ``n`` rows; ``sR``, ``sC`` the row and column speed-ups):

- novel mapping: each of the K x K PEs ``ceil((R_t / K^2) / n)`` (every path), the tile tree
  the K x K PEs (performance pass only);
- conventional, ``sR sC == 1``: every used PE ``ceil(int(R_t / numPE) / n)``, the tile tree
  ``numPE``;
- conventional, ``sR >= numPE`` and ``sC >= numPE`` (the whole tile duplicated in every
  PE): PE arrays duplicated ``ceil(sR / numPE)`` x ``ceil(sC / numPE)``; unless that fills
  every sub-array slot, one call ``ceil(R_t / n)`` per sub-array block; no tile-tree call;
- conventional otherwise: every PE slice ``ceil(min(peSize, R_t - i peSize) / n)``, the tile
  tree ``ceil(R_t / peSize)`` when that exceeds 1.

With the synchronous clock the whole network is first evaluated once to find the clock
(main.cpp), making every call but the novel tile tree's, then again for the figures.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from chip.mapping import LayerMapping, NetworkMapping

__all__ = ["TreeInputs", "tree_inputs"]


@dataclass(frozen=True)
class TreeInputs:
    """The operand counts a layer's PE and tile trees leak with (None: never evaluated, no
    leakage; 0: the whole tree)."""

    pe: int | None
    tile: int | None


def _cdiv(a: float, b: float) -> int:
    return math.ceil(a / b)


def _cm_calls(m: LayerMapping, net: NetworkMapping) -> list[tuple[str, int]]:
    """The (tree, numUnitAdd) calls of one conventional layer that set the trees' state: the
    last call per tile on each tree (earlier ones are overwritten)."""
    n = net.subarray_rows
    (T, T_c), (pe_size, pe_c) = net.cm_tile_cells, net.cm_pe_cells
    num_pe = net.cm_pes_per_tile_side
    base_rows = _cdiv(m.weight_rows, T)
    rep = max(1, m.tiles_row // max(1, base_rows))           # pipeline replication
    s_row = m.pe_dup[0] * m.subarray_dup[0] * rep             # Chip.cpp speedUpEachLayer
    s_col = m.pe_dup[1] * m.subarray_dup[1]
    sa_side = _cdiv(pe_size, n), _cdiv(pe_c, net.subarray_cols)
    calls = []
    for i in range(base_rows):
        r_t = min(T, m.weight_rows - i * T)
        for _ in range(_cdiv(m.weight_cols, T_c)):
            if s_row * s_col <= 1:                            # no duplication
                calls += [("pe", _cdiv(int(r_t / num_pe), n)), ("tile", num_pe)]
            elif s_row >= num_pe and s_col >= num_pe:         # the tile in every PE
                dup = _cdiv(s_row, num_pe), _cdiv(s_col, num_pe)
                if dup[0] * dup[1] == 1 or dup[0] < sa_side[0] or dup[1] < sa_side[1]:
                    calls.append(("pe", _cdiv(r_t, n)))
            else:                                             # PE slices of the tile
                last = r_t - (_cdiv(r_t, pe_size) - 1) * pe_size
                calls.append(("pe", _cdiv(last, n)))
                if _cdiv(r_t, pe_size) > 1:
                    calls.append(("tile", _cdiv(r_t, pe_size)))
    return calls


def _nm_calls(m: LayerMapping, net: NetworkMapping, clock_pass: bool) -> list[tuple[str, int]]:
    """The calls of one novel-mapped layer (its tile tree only in the performance pass)."""
    pr, pc = net.nm_pe_cells
    k = max(1, net.nm_pes_per_tile)
    calls = []
    for i in range(_cdiv(m.weight_rows, pr * k)):
        rows = min(pr * k, m.weight_rows - i * pr * k)
        for _ in range(_cdiv(m.weight_cols, pc)):
            calls.append(("pe", _cdiv(int(rows / k), net.subarray_rows)))
            if not clock_pass:
                calls.append(("tile", k))
    return calls


def tree_inputs(net: NetworkMapping, synchronous: bool) -> list[TreeInputs]:
    """Per layer, the numUnitAdd its PE and tile trees carry when NeuroSim reads the layer's
    leakage (one state per tree object: CM and NM trees are different objects)."""
    state: dict[tuple[bool, str], int] = {}
    out = []
    passes = (True, False) if synchronous else (False,)
    for clock_pass in passes:
        for m in net.layers:
            calls = _nm_calls(m, net, clock_pass) if m.novel else _cm_calls(m, net)
            for obj, inputs in calls:
                state[m.novel, obj] = inputs
            if not clock_pass:
                out.append(TreeInputs(state.get((m.novel, "pe")),
                                      state.get((m.novel, "tile"))))
    return out
