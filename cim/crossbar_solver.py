"""Nodal-analysis circuit solver for one resistive crossbar (the reference for the fast
IR-drop and sneak-path approximations in ``cim.devices.ir_drop``).

Circuit (rows i = 0..N-1 are word lines driven from the left, columns j = 0..M-1 are bit
lines sensed at the bottom)::

    V_i --R_drv--+--r_wl--(i,0)--r_wl--(i,1)-- ... --(i,M-1)        word line i
                           |cell          |cell
    bit line j:  (0,j) --r_bl-- (1,j) -- ... -- (N-1,j) --r_bl--+--R_sense-- V_col_j

* Each cell joins word-line node (i, j) to bit-line node (i, j). One wire segment of
  ``r_wl`` lies between the driver and the first cell and between neighbouring cells; one
  of ``r_bl`` between neighbouring cells and between the last row and the sense terminal
  (the convention of DNN+NeuroSim's column-resistance sum, where cell (i, j) sees
  ``(j+1) * R_row + (N-i) * R_col``; Peng et al., IEDM 2019).
* Sensed columns sit at a virtual ground (0 V) behind ``r_sense`` (a transimpedance sense
  amplifier); the returned column current is the current into that terminal.
* 1T1R: each cell has its access transistor in series (``r_access``, linear on-resistance);
  the transistors of unselected rows (``active_rows`` False) are off, so those cells carry
  no current. No sneak paths.
* 0T1R: the cell is the resistive element alone and unselected rows stay connected. Bias
  scheme for unselected rows and columns (``unselected_rows``, ``unselected_cols``):
  ``"ground"`` (0 V; the usual compute-in-memory read, where an inactive input is 0 V),
  ``"half"`` (V/2 half-select, ``v_half`` = half the largest input voltage by default) or
  ``"float"`` (left open). Bias sources drive through the same ``r_driver`` (rows) and
  ``r_sense`` (columns) as the selected lines.
* Cell I-V: ``"linear"`` ``I = G V`` or ``"sinh"``
  ``I = G * v_ref * sinh(V / v0) / sinh(v_ref / v0)`` (so ``I(v_ref) = G v_ref``: G is the
  conductance programmed at the read voltage), the sinh-type I-V of filamentary RRAM and
  selector devices (Yu et al., IEEE TED 2015 compact model; Chen, "Design of 1S1R
  crossbars", IEEE TED 2013), solved by Newton iteration on the linearised cell currents.

Zero resistances are handled exactly: nodes joined by a zero resistance are merged, and a
line whose driver and wire resistances are all zero is held at its source voltage. The
linear system (Kirchhoff's current law at every unknown node; symmetric positive definite
for linear cells) is solved by conjugate gradients preconditioned with the exact LU of the
lines alone (tridiagonal chains: ``scipy.sparse.linalg.splu`` with no fill) to a relative
residual of 1e-13, with a direct SuperLU solve as the fallback; 256 x 256 cells (131 072
unknowns) take about 0.1 s. All quantities in SI units (S, ohm, V, A).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .devices._common import check_resistance

__all__ = ["CrossbarSolution", "solve_crossbar", "ideal_column_currents",
           "estimate_solver_memory_bytes", "DEFAULT_MAX_MEMORY_BYTES"]

DEFAULT_MAX_MEMORY_BYTES = 2 * 1024 ** 3
_BIASES = ("ground", "half", "float")


@dataclass(frozen=True)
class CrossbarSolution:
    """Result of one solve.

    column_currents: (M,) current flowing out of each bit line into its bottom terminal (the
        sense amplifier for sensed columns, the bias source for unsensed ones; 0 if floating).
    row_currents: (N,) current flowing from each row's source into its word line (0 for
        floating rows and, in 1T1R, for unselected rows).
    v_wl, v_bl: (N, M) node voltages of the word-line and bit-line side of each cell, when
        asked for with ``return_voltages``.
    """

    column_currents: np.ndarray
    row_currents: np.ndarray
    active_rows: np.ndarray
    sensed_cols: np.ndarray
    iterations: int
    unknowns: int
    v_wl: np.ndarray | None = None
    v_bl: np.ndarray | None = None

    @property
    def sensed_currents(self) -> np.ndarray:
        """Currents of the sensed columns only."""
        return self.column_currents[self.sensed_cols]

    @property
    def sourced_current(self) -> float:
        """Total current the selected rows' drivers put into the array."""
        return float(self.row_currents[self.active_rows].sum())

    @property
    def sensed_current(self) -> float:
        return float(self.column_currents[self.sensed_cols].sum())

    @property
    def leakage_current(self) -> float:
        """Net current leaving through the bias terminals of unselected lines (to ground or
        to the half-select sources): sourced = sensed + leakage."""
        return float(self.column_currents[~self.sensed_cols].sum()
                     - self.row_currents[~self.active_rows].sum())


def ideal_column_currents(g: np.ndarray, v_in: np.ndarray) -> np.ndarray:
    """I_j = sum_i G_ij V_i (no wire resistance, every row driven, every column at 0 V)."""
    return np.asarray(v_in, dtype=np.float64) @ np.asarray(g, dtype=np.float64)


def estimate_solver_memory_bytes(n_rows: int, n_cols: int) -> int:
    """Upper estimate of the solver's peak memory: LU factors of a 2 N M-unknown grid-like
    system (fill grows like n log n under minimum-degree ordering; the constant is fitted to
    measured SuperLU factor sizes at 32..256 rows with a 2x margin) plus the assembly arrays."""
    n = 2 * int(n_rows) * int(n_cols)
    fill = 10.0 * n * max(math.log2(max(n, 2)), 1.0)
    return int(12 * fill + 400 * n)


def _validate(g, v_in, r_wl, r_bl, r_driver, r_sense, r_access, cell, active_rows,
              sensed_cols, unselected_rows, unselected_cols, iv, v0, max_memory_bytes):
    g = np.asarray(g, dtype=np.float64)
    if g.ndim != 2 or g.shape[0] < 1 or g.shape[1] < 1:
        raise ValueError(f"g must be a 2-D array of conductances (rows x cols); got shape "
                         f"{g.shape}")
    n, m = g.shape
    need = estimate_solver_memory_bytes(n, m)
    if need > max_memory_bytes:
        raise ValueError(f"g of {n}x{m} cells needs about {need / 1e9:.1f} GB for the sparse "
                         f"solve, more than max_memory_bytes={max_memory_bytes / 1e9:.1f} GB; "
                         f"allowed: arrays whose estimate fits (256x256 needs "
                         f"{estimate_solver_memory_bytes(256, 256) / 1e9:.2f} GB) - split the "
                         f"array or raise max_memory_bytes")
    if not np.all(np.isfinite(g)) or float(g.min()) < 0:
        raise ValueError("g (cell conductances) must be finite and >= 0 S")
    v_in = np.asarray(v_in, dtype=np.float64)
    if v_in.shape != (n,):
        raise ValueError(f"v_in shape {v_in.shape} must be ({n},): one voltage per row of g "
                         f"(shape mismatch)")
    if not np.all(np.isfinite(v_in)):
        raise ValueError("v_in must be finite voltages")
    for name, value in (("r_wl", r_wl), ("r_bl", r_bl), ("r_driver", r_driver),
                        ("r_sense", r_sense), ("r_access", r_access)):
        check_resistance(name, value)
    if cell not in ("1t1r", "0t1r"):
        raise ValueError(f"cell={cell!r} is not allowed; choose from: '1t1r', '0t1r'")
    if cell == "0t1r" and float(r_access) != 0.0:
        raise ValueError(f"r_access={r_access} must be 0 for cell='0t1r' (no access transistor)")
    for name, value in (("unselected_rows", unselected_rows),
                        ("unselected_cols", unselected_cols)):
        if value not in _BIASES:
            raise ValueError(f"{name}={value!r} is not allowed; choose from: "
                             f"{', '.join(map(repr, _BIASES))}")
    if iv not in ("linear", "sinh"):
        raise ValueError(f"iv={iv!r} is not allowed; choose from: 'linear', 'sinh'")
    if iv == "sinh":
        if not (v0 is not None and math.isfinite(float(v0)) and float(v0) > 0):
            raise ValueError(f"v0={v0} must be > 0 V for iv='sinh'")
        if float(r_access) != 0.0:
            raise ValueError(f"r_access={r_access} must be 0 with iv='sinh' (a nonlinear cell "
                             f"with a series transistor is not modelled)")
    active = np.ones(n, bool) if active_rows is None else np.asarray(active_rows, bool)
    sensed = np.ones(m, bool) if sensed_cols is None else np.asarray(sensed_cols, bool)
    if active.shape != (n,):
        raise ValueError(f"active_rows shape {active.shape} must be ({n},) (shape mismatch)")
    if sensed.shape != (m,):
        raise ValueError(f"sensed_cols shape {sensed.shape} must be ({m},) (shape mismatch)")
    return g, v_in, active, sensed


class _Lines:
    """Node numbering of one family of lines (word lines or bit lines).

    ``idx[line, k]`` is the unknown index of the k-th node along the line, or -1 when the
    node is held at ``fixed[line]`` volts."""

    def __init__(self, n_lines, length, r_seg, r_term, driven, volts, first, start=0):
        self.fixed = np.zeros(n_lines, bool)
        self.value = np.where(driven, volts, 0.0)
        self.idx = np.full((n_lines, length), -1, np.int64)
        merged = r_seg == 0.0
        if r_seg == 0.0 and r_term == 0.0:
            self.fixed |= driven
        nxt = start
        free = np.flatnonzero(~self.fixed)
        if merged:
            self.idx[free, :] = (nxt + np.arange(free.size))[:, None]
            nxt += free.size
        else:
            self.idx[free, :] = nxt + np.arange(free.size * length).reshape(free.size, length)
            nxt += free.size * length
        self.next = nxt
        self.merged = merged
        self.driven = driven
        self.first = first            # position (0 or length-1) of the node next to the terminal
        self.r_seg = r_seg
        self.r_term = r_term


def _edges_along(lines: _Lines):
    """Wire segments between neighbouring nodes (none when merged or fixed)."""
    if lines.merged:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    free = ~lines.fixed
    a = lines.idx[free, :-1].ravel()
    b = lines.idx[free, 1:].ravel()
    return a, b


def solve_crossbar(g, v_in, *, r_wl: float = 0.0, r_bl: float = 0.0, r_driver: float = 0.0,
                   r_sense: float = 0.0, cell: str = "1t1r", r_access: float = 0.0,
                   active_rows=None, sensed_cols=None, unselected_rows: str = "ground",
                   unselected_cols: str = "ground", v_half: float | None = None,
                   iv: str = "linear", v0: float | None = None, v_ref: float | None = None,
                   tol_V: float = 1e-9, max_iter: int = 50, return_voltages: bool = False,
                   max_memory_bytes: int = DEFAULT_MAX_MEMORY_BYTES) -> CrossbarSolution:
    """Exact node voltages and terminal currents of one crossbar (see module docstring).

    ``g`` (N x M, S) are the programmed cell conductances, ``v_in`` (N,) the voltages of the
    row drivers (only the selected rows', ``active_rows``, are used). Raises ValueError on
    negative or non-finite resistances/conductances, shape mismatches, unknown options and
    arrays whose estimated memory exceeds ``max_memory_bytes``.
    """
    g, v_in, active, sensed = _validate(g, v_in, r_wl, r_bl, r_driver, r_sense, r_access, cell,
                                        active_rows, sensed_cols, unselected_rows,
                                        unselected_cols, iv, v0, max_memory_bytes)
    r = _Resistances(*map(float, (r_wl, r_bl, r_driver, r_sense, r_access)))
    if v_half is None:
        v_half = 0.5 * float(np.abs(v_in[active]).max()) if active.any() else 0.0
    bias = {"ground": 0.0, "half": float(v_half), "float": None}
    net = _Network(g, v_in, active, sensed, r, cell, bias[unselected_rows],
                   bias[unselected_cols])
    if iv == "sinh":
        vr = float(v_ref) if v_ref is not None else float(np.abs(v_in[active]).max() or 1.0)
        if not vr > 0:
            raise ValueError(f"v_ref={v_ref} must be > 0 V")
        net.use_sinh(float(v0), vr)
    x, iterations = net.solve(tol_V, max_iter)
    vw, vb = net.node_voltages(x)
    row_cur, col_cur = net.terminal_currents(vw, vb)
    return CrossbarSolution(column_currents=col_cur, row_currents=row_cur, active_rows=active,
                            sensed_cols=sensed, iterations=iterations, unknowns=net.total,
                            v_wl=vw if return_voltages else None,
                            v_bl=vb if return_voltages else None)


@dataclass(frozen=True)
class _Resistances:
    """Wire segment, driver, sense and access resistances (ohm)."""

    wl: float
    bl: float
    driver: float
    sense: float
    access: float


class _Network:
    """The nodal equations of one crossbar: node numbering, the linear branches (wires and
    terminals), the cells (linear, or linearised around the last solution for sinh cells)."""

    def __init__(self, g, v_in, active, sensed, r: _Resistances, cell: str,
                 row_bias: float | None, col_bias: float | None):
        self.n, self.m = g.shape
        self.r, self.iv = r, "linear"
        self.g_cell = self._cell_conductances(g, active, cell, r.access)
        self._number_nodes(v_in, active, sensed, cell, row_bias, col_bias)
        self._linear_branches()
        self.has_cell = self.g_cell > 0
        self.cw, self.cb = self.wl_idx[self.has_cell], self.bl_idx[self.has_cell]
        self.cg = self.g_cell[self.has_cell]
        self.cwv, self.cbv = self.wl_val[self.has_cell], self.bl_val[self.has_cell]
        self.free_w, self.free_b = self.cw >= 0, self.cb >= 0

    @staticmethod
    def _cell_conductances(g, active, cell: str, r_access: float) -> np.ndarray:
        """Cell conductance (linear); 0 where no cell conducts."""
        g_cell = g.copy()
        if cell == "1t1r":
            g_cell[~active, :] = 0.0                       # access transistors off
            if r_access > 0:
                with np.errstate(divide="ignore"):
                    g_cell = np.where(g_cell > 0, 1.0 / (1.0 / np.where(g_cell > 0, g_cell, 1.0)
                                                         + r_access), 0.0)
        return g_cell

    def _number_nodes(self, v_in, active, sensed, cell, row_bias, col_bias) -> None:
        n, m, r = self.n, self.m, self.r
        # row sources: selected rows at v_in; unselected rows per the bias scheme (0T1R) or
        # irrelevant (1T1R: their cells are off; held at 0 V)
        row_driven = active.copy()
        row_volts = np.where(active, v_in, 0.0)
        if cell == "0t1r" and row_bias is not None:
            row_driven |= ~active
            row_volts = np.where(active, v_in, row_bias)
        self.row_dead = ~active if cell == "1t1r" else np.zeros(n, bool)
        col_driven = sensed.copy()
        col_volts = np.zeros(m)
        if col_bias is not None:
            col_driven |= ~sensed
            col_volts = np.where(sensed, 0.0, col_bias)
        # floating lines with no cell conductance at all are isolated: hold them at 0 V
        row_isolated = (~row_driven) & (self.g_cell.sum(1) == 0)
        col_isolated = (~col_driven) & (self.g_cell.sum(0) == 0)
        wl = _Lines(n, m, r.wl, r.driver + r.wl, row_driven, row_volts, first=0)
        wl.fixed |= self.row_dead | row_isolated
        wl.idx[wl.fixed, :] = -1
        bl_start = _renumber(wl)                   # renumber compactly after the extra fixes
        bl = _Lines(m, n, r.bl, r.sense + r.bl, col_driven, col_volts, first=n - 1,
                    start=bl_start)
        bl.fixed |= col_isolated
        bl.idx[bl.fixed, :] = -1
        self.total = _renumber(bl, start=bl_start)
        self.wl, self.bl = wl, bl
        self.wl_idx, self.bl_idx = wl.idx, bl.idx.T      # (n, m): bit line j, position i
        self.wl_val = np.broadcast_to(wl.value[:, None], (n, m))
        self.bl_val = np.broadcast_to(bl.value[None, :], (n, m))

    def _linear_branches(self) -> None:
        """Wire segments and terminal branches (an unknown node next to a driven terminal)."""
        wl, bl, r = self.wl, self.bl, self.r
        pairs = [(*_edges_along(lines), r_seg) for lines, r_seg in ((wl, r.wl), (bl, r.bl))
                 if r_seg > 0]
        a_lin = _cat([a for a, _, _ in pairs], np.int64)
        b_lin = _cat([b for _, b, _ in pairs], np.int64)
        g_lin = _cat([np.full(a.size, 1.0 / r_seg) for a, _, r_seg in pairs])
        terms = []
        for lines, position in ((wl, 0), (bl, self.n - 1)):
            at = lines.driven & ~lines.fixed & (lines.r_term > 0)
            if at.any():
                terms.append((lines.idx[at, position], np.full(int(at.sum()),
                                                               1.0 / lines.r_term),
                              lines.value[at]))
        t_node = _cat([t[0] for t in terms], np.int64)
        t_g, t_v = _cat([t[1] for t in terms]), _cat([t[2] for t in terms])
        self.base_i = np.concatenate([a_lin, b_lin, a_lin, b_lin, t_node])
        self.base_j = np.concatenate([a_lin, b_lin, b_lin, a_lin, t_node])
        self.base_d = np.concatenate([g_lin, g_lin, -g_lin, -g_lin, t_g])
        self.base_rhs = np.bincount(t_node, weights=t_g * t_v,
                                    minlength=self.total).astype(np.float64)

    def use_sinh(self, v0: float, v_ref: float) -> None:
        """Cells with I = G k sinh(V / v0), k chosen so that I(v_ref) = G v_ref."""
        self.iv, self.v0, self.k_i = "sinh", v0, v_ref / math.sinh(v_ref / v0)

    def cell_iv(self, vd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Current and its derivative of the sinh cells at voltages ``vd``."""
        return (self.cg * self.k_i * np.sinh(vd / self.v0),
                self.cg * (self.k_i / self.v0) * np.cosh(vd / self.v0))

    def assemble(self, gc, jc):
        """Matrix, its line-block preconditioner and the right-hand side, with cells as
        conductance gc plus a current source jc (flowing word line -> bit line)."""
        cw, cb, free_w, free_b, total = self.cw, self.cb, self.free_w, self.free_b, self.total
        both = free_w & free_b
        i_idx = [self.base_i, cw[free_w], cb[free_b]]
        j_idx = [self.base_j, cw[free_w], cb[free_b]]
        data = [self.base_d, gc[free_w], gc[free_b]]
        # the lines alone (wires, terminals, cell conductances on the diagonal): a set of
        # independent tridiagonal chains, factorised without fill
        lines = sp.csc_matrix((np.concatenate(data), (np.concatenate(i_idx),
                                                      np.concatenate(j_idx))), shape=(total, total))
        coupling = sp.csc_matrix((np.concatenate([-gc[both], -gc[both]]),
                                  (np.concatenate([cw[both], cb[both]]),
                                   np.concatenate([cb[both], cw[both]]))), shape=(total, total))
        mat = (lines + coupling).tocsr()
        rhs = self.base_rhs.copy()
        # fixed neighbour of a free node: conductance times its voltage
        wf = free_w & ~free_b
        bf = free_b & ~free_w
        rhs += np.bincount(cw[wf], weights=gc[wf] * self.cbv[wf], minlength=total)
        rhs += np.bincount(cb[bf], weights=gc[bf] * self.cwv[bf], minlength=total)
        rhs -= np.bincount(cw[free_w], weights=jc[free_w], minlength=total)
        rhs += np.bincount(cb[free_b], weights=jc[free_b], minlength=total)
        return mat, lines, rhs

    def node_voltages(self, x):
        total = self.total
        vw = np.where(self.wl_idx >= 0, x[np.maximum(self.wl_idx, 0)] if total else 0.0,
                      self.wl_val)
        vb = np.where(self.bl_idx >= 0, x[np.maximum(self.bl_idx, 0)] if total else 0.0,
                      self.bl_val)
        return vw, vb

    def solve(self, tol_V: float, max_iter: int) -> tuple[np.ndarray, int]:
        """The unknown node voltages: one linear solve, or Newton steps for sinh cells."""
        x = np.zeros(self.total)
        iterations, step = 0, 0.0
        gc, jc = self.cg.copy(), np.zeros_like(self.cg)
        for iterations in range(1, max_iter + 1):
            x_new = _linear_solve(*self.assemble(gc, jc), x) if self.total else x
            step = float(np.abs(x_new - x).max()) if self.total else 0.0
            x = x_new
            if self.iv == "linear":
                return x, iterations
            vw, vb = self.node_voltages(x)
            vd = vw[self.has_cell] - vb[self.has_cell]
            i_c, di = self.cell_iv(vd)
            gc, jc = di, i_c - di * vd
            if iterations > 1 and step < tol_V:
                return x, iterations
        if self.iv == "linear":                     # max_iter < 1: no solve asked for
            return x, iterations
        raise RuntimeError(f"Newton iteration did not converge in max_iter={max_iter} "
                           f"steps (last step {step:.3g} V > tol_V={tol_V:g})")

    def terminal_currents(self, vw, vb) -> tuple[np.ndarray, np.ndarray]:
        """(row, column) terminal currents at the node voltages."""
        n, m, r, wl, bl = self.n, self.m, self.r, self.wl, self.bl
        row_cur = np.zeros(n)
        src = wl.driven & ~self.row_dead
        if r.driver + r.wl > 0:
            row_cur[src] = (wl.value[src] - vw[src, 0]) / (r.driver + r.wl)
        col_cur = np.zeros(m)
        snk = bl.driven
        if r.sense + r.bl > 0:
            col_cur[snk] = (vb[n - 1, snk] - bl.value[snk]) / (r.sense + r.bl)
        # lines held at their source voltage: their terminal current is the sum of cell currents
        if self.iv == "linear":
            i_cell = self.g_cell * (vw - vb)
        else:
            i_cell = np.zeros((n, m))
            i_cell[self.has_cell] = self.cell_iv(vw[self.has_cell] - vb[self.has_cell])[0]
        held_r = wl.fixed & src
        if r.driver + r.wl == 0 or held_r.any():
            row_cur[held_r] = i_cell[held_r].sum(1)
        held_c = bl.fixed & snk
        if held_c.any():
            col_cur[held_c] = i_cell[:, held_c].sum(0)
        return row_cur, col_cur


def _cat(parts, dtype=np.float64) -> np.ndarray:
    return np.concatenate(parts) if parts else np.empty(0, dtype)


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    # einsum's own loop, not BLAS: on a shared, loaded machine OpenBLAS's threads make short
    # dot products slow and the timing erratic
    return float(np.einsum("i,i->", a, b))


def _linear_solve(mat, lines, rhs, x0, rtol: float = 1e-13, maxiter: int = 2000):
    """Solve mat x = rhs: conjugate gradients preconditioned with the exact solve of the
    lines (word and bit lines without their cell couplings; block-tridiagonal, so its LU has
    no fill), to a relative residual of ``rtol``. The cells couple the lines weakly whenever
    IR drop is moderate, so this takes a few iterations (8-30 on the benchmark arrays); a
    direct SuperLU solve (minimum-degree ordering) is the fallback when CG does not converge.
    """
    lu = spla.splu(lines.tocsc(), permc_spec="NATURAL")
    x = np.array(x0, dtype=np.float64)
    r = rhs - mat @ x
    norm_b = math.sqrt(_dot(rhs, rhs))
    if norm_b == 0.0:
        return np.zeros_like(rhs)
    z = lu.solve(r)
    p = z.copy()
    rz = _dot(r, z)
    for _ in range(maxiter):
        if math.sqrt(_dot(r, r)) <= rtol * norm_b:
            return x
        ap = mat @ p
        step = rz / _dot(p, ap)
        x += step * p
        r -= step * ap
        z = lu.solve(r)
        rz_new = _dot(r, z)
        p = z + (rz_new / rz) * p
        rz = rz_new
    return spla.splu(mat.tocsc(), permc_spec="MMD_AT_PLUS_A").solve(rhs)


def _renumber(lines: _Lines, start: int = 0) -> int:
    """Give the non-fixed nodes of ``lines`` consecutive indices from ``start``."""
    free = ~lines.fixed
    count = int(free.sum())
    length = lines.idx.shape[1]
    if lines.merged:
        lines.idx[free, :] = (start + np.arange(count))[:, None]
        return start + count
    lines.idx[free, :] = start + np.arange(count * length).reshape(count, length)
    return start + count * length
