"""Fast IR-drop (word and bit lines) and 0T1R sneak-path approximations for network-scale
inference, calibrated against the exact nodal solver ``cim.crossbar_solver``.

Geometry and conventions are the solver's: rows driven from the left through ``r_driver``,
columns sensed at the bottom through ``r_sense``, one wire segment (``r_wl``, ``r_bl``) per
cell pitch including the first one (DNN+NeuroSim's (j+1)*R_row + (N-i)*R_col convention).

IR drop: effective conductances from mean-field line equations
-------------------------------------------------------------
A read group of N rows (inputs ``v_i``, binary at V in a bit-serial read, or DAC levels) is
read as one matrix product ``I = v @ G_eff`` with ``G_eff`` computed once per programmed
array. Per volt of driven input, with ``D`` the drop along a word line and ``B`` the rise
along a bit line (the segment of a word line before cell k carries the currents of cells
k..M-1, the segment of a bit line below row k those of rows 0..k):

    D(I)[i, j] = r_driver * S_i(0) + r_wl * sum_{k<=j} S_i(k),   S_i(k) = sum_{m>=k} I[i, m]
    B(I)[i, j] = r_sense * C_j(N-1) + r_bl * sum_{k>=i} C_j(k),  C_j(k) = sum_{m<=k} I[m, j]

    w = 1 - D(G w) + D(G b)             word-line voltage at the cells of a driven row
    1T1R: b = B(a G (w - b))            bit-line voltage; rows at 0 V have their transistor off
          G_eff = G_cell * (w - b),     G_cell = 1 / (1/G + r_access)
    0T1R: u = D(G b) - D(G u)           word-line voltage of a row held at 0 V (lifted by the
                                        current leaking in from the bit lines)
          b = B(a G w + (1-a) G u - G b)
          G_eff = G w - colsum(G (b - (1-a) u)) / (N a)

``a`` (``activity``) is the mean driven input of the group as a fraction of V - the
mean-field step: the other rows' inputs are replaced by their mean, which makes G_eff
independent of the input vector (the 0T1R leak term, proportional to the bit-line voltage
and so to the mean input, is spread evenly over the rows to stay linear in v). These are
Kirchhoff's equations of the linear crossbar when every row carries the same input, so with
``a = 1`` and all rows driven the result is the solver's. They are solved by multiplicative
fixed points ``x <- source / (1 + loss / x)`` (exact for one cell after one step, and stable
where the plain iteration ``x <- source - loss`` diverges), each step a few cumulative sums,
O(N M). The residual error for random inputs comes from the fluctuation of the other rows'
inputs around ``a``; it is measured in docs/nonidealities.md
(``python benchmarks/bench_ir_drop.py``).

Calibration against the solver (benchmarks/bench_ir_drop.py, calibration arrays with seeds
distinct from the evaluation arrays): ``CALIBRATED_ITERATIONS = 8`` - more steps change
the conductances by <= 2e-4 relative on 128..256-row arrays up to 5 ohm per segment; and the
activity scale ``ACTIVITY_SCALE = 1.0`` - scaling ``a`` by 0.8..1.2 showed the smallest
error (and no bias) at the plain mean input in 1T1R, and a flat optimum in 0T1R.

Sources: line-resistance (IR-drop) crossbar models of CrossSim's parasitic solver (Sandia
CrossSim 3.x), the 1-/2-/3-sided line-resistance model of Torch-TiOx-Xbar, and NeuroSim's
per-cell series approximation ``G_eff = 1 / (1/G + (j+1) R_row + (N-i) R_col [+ R_access])``
(Peng et al., IEDM 2019; given here as ``neurosim_series_factors`` for comparison: it
ignores that neighbouring cells share the wires, so it misses most of the drop of large
arrays). The mean-field equations and their fixed-point solution are ours.
Temperature: ``config.wire_resistance_ohm`` is taken at 300 K and scaled with NeuroSim's
copper coefficient ``rho(T) = rho(300 K) * (1 + 0.00451 (T - 300))``.

Sneak paths (0T1R): ideal wires, exact
--------------------------------------
With ideal wires every line is an equipotential. Floating unselected lines then obey
Kirchhoff's law as a small linear system: a floating row's voltage is the G-weighted mean of
the column voltages it touches and a floating column's of the row voltages. Because that
system does not depend on the input, it reduces to an effective conductance matrix:
``I_sensed = v_active @ G_sneak + I_bias``, where ``I_bias`` is the current that half-select
(or grounded) unselected rows push into the sensed columns, ``G * f(v_half)`` with the cell's
I-V ``f`` (linear, or the solver's normalised sinh). One dense solve per array of size
(#floating rows + #floating columns). 1T1R has no sneak paths (unselected transistors off).
With wires, rows held at a bias (ground or V/2) join the IR-drop model as driven rows, and
floating rows join it as equipotentials at the G-weighted mean of the bit-line voltages
they touch (``floating_rows`` of ``ir_drop_conductances``): they carry current from high to
low bit-line voltage, which is the sneak path that wires open even between grounded columns.
Source: the half-select / floating-line sneak-path analysis of passive crossbars (Linn et al.,
"Complementary resistive switches for passive nanocrossbar memories", Nat. Mater. 2010;
Chen, IEEE TED 2013); exact under the ideal-wire assumption, the IR-drop factors above are
applied on top for wires.
"""
from __future__ import annotations

import math

import torch

from ._common import check_rate, check_resistance

__all__ = ["CALIBRATED_ITERATIONS", "ACTIVITY_SCALE", "WIRE_TEMPERATURE_COEFF_PER_K",
           "wire_resistance_at",
           "ir_drop_factors", "ir_drop_conductances", "ir_drop_conductances_from_config",
           "neurosim_series_factors",
           "sneak_conductances", "approx_column_currents", "multilevel_scale"]

CALIBRATED_ITERATIONS = 8
ACTIVITY_SCALE = 1.0                  # fitted: a_eff = ACTIVITY_SCALE * mean input
WIRE_TEMPERATURE_COEFF_PER_K = 0.00451       # NeuroSim Param.cpp, copper resistivity


def wire_resistance_at(r_300K: float, temperature_K: float) -> float:
    """Segment resistance at ``temperature_K`` from its value at 300 K (NeuroSim's law)."""
    check_resistance("wire_resistance_ohm", r_300K)
    if not 0 < float(temperature_K) < 1000:
        raise ValueError(f"temperature_K={temperature_K} must lie in (0, 1000) K")
    return float(r_300K) * (1.0 + WIRE_TEMPERATURE_COEFF_PER_K * (float(temperature_K) - 300.0))


def _cell_conductance(g: torch.Tensor, r_access: float) -> torch.Tensor:
    if r_access == 0:
        return g
    return torch.where(g > 0, 1.0 / (1.0 / torch.where(g > 0, g, torch.ones_like(g))
                                     + r_access), torch.zeros_like(g))


def _rev_cumsum(x: torch.Tensor, dim: int) -> torch.Tensor:
    return torch.flip(torch.cumsum(torch.flip(x, (dim,)), dim), (dim,))


def _mean_field(g: torch.Tensor, r_wl: float, r_bl: float, r_driver: float, r_sense: float,
                activity: float, leak: bool, iterations: int,
                floating: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(w, b, u) per volt of driven input: word-line voltage at each cell of a driven row,
    bit-line voltage, and (0T1R) word-line voltage of a row held at 0 V, which the current
    leaking in from the bit lines lifts. Mean-field Kirchhoff equations (module docstring):

        w = 1 - D(G w) + D(G b)      D: drop along a word line (driver + cumulative sums)
        u = D(G b) - D(G u)
        b = B(a G w + (1-a) G u - G b)   (0T1R: every row of the group on the bit line)
        b = B(a G (w - b))               (1T1R: only the driven rows' transistors are on)

    solved by the multiplicative fixed points ``x <- (source) / (1 + (loss) / x)``, whose
    fixed points are the equations above and which stay stable for large drops.

    ``floating`` (0T1R, bool per row): rows left open. Each is taken as an equipotential at
    the G-weighted mean of the bit-line voltages it touches, ``u_f = sum_j G b / sum_j G``,
    so it carries current from high to low bit-line voltage; it adds ``G (u_f - b)`` to the
    bit lines."""
    def d_wl(i):
        s = _rev_cumsum(i, -1)
        return r_wl * torch.cumsum(s, -1) + r_driver * s[..., :1]

    def d_bl(i):
        c = torch.cumsum(i, -2)
        return r_bl * _rev_cumsum(c, -2) + r_sense * c[..., -1:, :]

    def ratio(source, loss, x):
        pos = x > 0
        return torch.where(pos, source / (1.0 + loss / torch.where(pos, x, torch.ones_like(x))),
                           source)

    w = torch.ones_like(g)
    b = torch.zeros_like(g)
    u = torch.zeros_like(g)
    g_all = g
    if floating is not None:
        fl = floating.to(g.dtype)[:, None]
        g_fl, g = g * fl, g * (1.0 - fl)
        g_fl_sum = g_fl.sum(-1, keepdim=True)
        g_fl_sum = torch.where(g_fl_sum > 0, g_fl_sum, torch.ones_like(g_fl_sum))
    for _ in range(iterations):
        w = ratio(1.0 + d_wl(g * b), d_wl(g * w), w)
        if leak:
            u = ratio(d_wl(g * b), d_wl(g * u), u)
            source = activity * g * w + (1.0 - activity) * g * u
            if floating is not None:
                u_f = (g_fl * b).sum(-1, keepdim=True) / g_fl_sum
                source = source + g_fl * u_f
            b = ratio(d_bl(source), d_bl(g_all * b), b)
        else:
            b = ratio(d_bl(activity * g * w), d_bl(activity * g * b), b)
    return w, b, u


def _check_args(g, r_wl, r_bl, r_driver, r_sense, r_access, activity, iterations):
    vals = tuple(check_resistance(k, v) for k, v in (
        ("r_wl", r_wl), ("r_bl", r_bl), ("r_driver", r_driver), ("r_sense", r_sense),
        ("r_access", r_access)))
    activity = check_rate("activity", activity)
    if not isinstance(g, torch.Tensor) or g.dim() < 2:
        raise ValueError("g must be a torch.Tensor of conductances with shape (..., rows, cols)")
    if g.numel() and float(g.min()) < 0:
        raise ValueError("g (cell conductances) must be >= 0 S")
    if isinstance(iterations, bool) or int(iterations) < 1:
        raise ValueError(f"iterations={iterations} must be an integer >= 1")
    return vals + (activity, int(iterations))


def ir_drop_factors(g: torch.Tensor, r_wl: float, r_bl: float, r_driver: float = 0.0,
                    r_sense: float = 0.0, r_access: float = 0.0, activity: float = 1.0,
                    iterations: int = CALIBRATED_ITERATIONS) -> torch.Tensor:
    """1T1R: alpha (shape of ``g``, float64) with the read seeing ``alpha * G_cell``,
    ``G_cell = 1 / (1/G + r_access)``; alpha = w - b, the fraction of the row voltage across
    the cell. ``g`` may carry leading batch dims (..., N, M). All resistances 0 gives exactly
    1 everywhere."""
    r_wl, r_bl, r_driver, r_sense, r_access, activity, iterations = _check_args(
        g, r_wl, r_bl, r_driver, r_sense, r_access, activity, iterations)
    g = _cell_conductance(g.to(torch.float64), r_access)
    if r_wl == r_bl == r_driver == r_sense == 0.0:
        return torch.ones_like(g)
    w, b, _ = _mean_field(g, r_wl, r_bl, r_driver, r_sense, activity, False, iterations)
    return torch.clamp(w - b, min=0.0)


def ir_drop_conductances(g: torch.Tensor, r_wl: float, r_bl: float, r_driver: float = 0.0,
                         r_sense: float = 0.0, cell: str = "1t1r", r_access: float = 0.0,
                         activity: float = 1.0, iterations: int = CALIBRATED_ITERATIONS,
                         floating_rows: torch.Tensor | None = None) -> torch.Tensor:
    """Input-independent effective conductances (..., N, M) of one read group: the column
    currents are ``v_in @ G_eff``.

    1T1R: ``G_eff = alpha * G_cell`` (rows with 0 V input have their transistor off).
    0T1R: every row of the group stays connected, and the rows at 0 V draw ``-G * V_bl``
    from the bit lines; with ``V_bl = mean(v_in) * b / activity``,
    ``G_eff = G * w - colsum(G * b) / (N * activity)`` (the leak term is spread evenly over
    the rows, which keeps the read one matrix product). ``floating_rows`` (0T1R, bool per
    row, shape (N,)): rows left open in this read; they take no input (their G_eff rows are
    0) but redistribute bit-line current, which lands in the group's leak term."""
    if cell not in ("1t1r", "0t1r"):
        raise ValueError(f"cell={cell!r} is not allowed; choose from: '1t1r', '0t1r'")
    if cell == "1t1r":
        return _cell_conductance(g.to(torch.float64), float(r_access)) * ir_drop_factors(
            g, r_wl, r_bl, r_driver, r_sense, r_access, activity, iterations)
    if float(r_access) != 0:
        raise ValueError(f"r_access={r_access} must be 0 for cell='0t1r'")
    r_wl, r_bl, r_driver, r_sense, _, activity, iterations = _check_args(
        g, r_wl, r_bl, r_driver, r_sense, 0.0, activity, iterations)
    g = g.to(torch.float64)
    if r_wl == r_bl == r_driver == r_sense == 0.0 or activity == 0.0:
        return g.clone()
    fl = None
    n = g.shape[-2]
    if floating_rows is not None:
        fl = torch.as_tensor(floating_rows, dtype=torch.bool)
        if fl.shape != (n,):
            raise ValueError(f"floating_rows shape {tuple(fl.shape)} must be ({n},) "
                             f"(shape mismatch)")
        if bool(fl.all()):
            return torch.zeros_like(g)
    w, b, u = _mean_field(g, r_wl, r_bl, r_driver, r_sense, activity, True, iterations, fl)
    if fl is None:
        leak = (g * (b - (1.0 - activity) * u)).sum(-2, keepdim=True)
        return g * w - leak / (n * activity)
    drv = (~fl).to(g.dtype)[:, None]
    g_fl_sum = (g * (1 - drv)).sum(-1, keepdim=True)
    u_f = (g * (1 - drv) * b).sum(-1, keepdim=True) / torch.where(g_fl_sum > 0, g_fl_sum,
                                                                  torch.ones_like(g_fl_sum))
    leak = (g * drv * (b - (1.0 - activity) * u) + g * (1 - drv) * (b - u_f)).sum(
        -2, keepdim=True)
    n_drv = float(drv.sum())
    return (g * w - leak / (n_drv * activity)) * drv


def ir_drop_conductances_from_config(g: torch.Tensor, config, activity: float = 0.5,
                                     r_access: float = 0.0) -> torch.Tensor:
    """The step-1 plug-in: effective conductances (..., N, M) of read groups ``g`` with
    r_wl = r_bl = ``config.wire_resistance_ohm`` at ``config.temperature_K`` and the cell
    type of ``config.access_device``; driver and sense resistances are not config fields (0).
    ``activity`` is the expected mean input of a read (e.g. the fraction of 1 bits of the
    bit-serial input planes). Returns ``g`` unchanged (float64) when the wire resistance is
    0, so the ideal path is untouched."""
    r = wire_resistance_at(config.wire_resistance_ohm, getattr(config, "temperature_K", 300.0))
    if r == 0.0:
        return g.to(torch.float64).clone()
    return ir_drop_conductances(g, r, r, cell=config.access_device,
                                r_access=r_access if config.access_device == "1t1r" else 0.0,
                                activity=min(1.0, ACTIVITY_SCALE * activity))


def neurosim_series_factors(g: torch.Tensor, r_wl: float, r_bl: float,
                            r_access: float = 0.0) -> torch.Tensor:
    """NeuroSim's approximation as a factor on G: G_eff = 1/(1/G + (j+1) r_wl + (N-i) r_bl
    + r_access), divided by G."""
    n, m = g.shape[-2:]
    g = g.to(torch.float64)
    j = torch.arange(1, m + 1, dtype=torch.float64)
    i = torch.arange(n, 0, -1, dtype=torch.float64)[:, None]
    safe = torch.where(g > 0, g, torch.ones_like(g))
    eff = 1.0 / (1.0 / safe + j * r_wl + i * r_bl + r_access)
    return torch.where(g > 0, eff / safe, torch.ones_like(g))


def _sinh_iv(v: float, iv: str, v0: float | None, v_ref: float | None) -> float:
    """Current per siemens of programmed G at voltage v (the solver's normalisation)."""
    if iv == "linear" or v == 0:
        return v
    return v_ref * math.sinh(v / v0) / math.sinh(v_ref / v0)


def sneak_conductances(g: torch.Tensor, active_rows: torch.Tensor, sensed_cols: torch.Tensor,
                       unselected_rows: str = "ground", unselected_cols: str = "ground",
                       v_half: float = 0.0, iv: str = "linear", v0: float | None = None,
                       v_ref: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """0T1R read with ideal wires: ``(G_read, I_bias)`` such that the sensed-column currents
    are ``v_in @ G_read + I_bias`` (rows of G_read that are not active are 0; columns that are
    not sensed are 0). Floating lines are linearised with the cell conductances."""
    for name, value in (("unselected_rows", unselected_rows),
                        ("unselected_cols", unselected_cols)):
        if value not in ("ground", "half", "float"):
            raise ValueError(f"{name}={value!r} is not allowed; choose from: 'ground', 'half', "
                             f"'float'")
    g = g.to(torch.float64)
    n, m = g.shape
    act = torch.as_tensor(active_rows, dtype=torch.bool)
    sen = torch.as_tensor(sensed_cols, dtype=torch.bool)
    if act.shape != (n,) or sen.shape != (m,):
        raise ValueError(f"active_rows/sensed_cols shapes {tuple(act.shape)}/{tuple(sen.shape)} "
                         f"must be ({n},)/({m},) (shape mismatch)")
    bias = {"ground": 0.0, "half": float(v_half), "float": None}
    v_row_u, v_col_u = bias[unselected_rows], bias[unselected_cols]
    fr = (~act) if v_row_u is None else torch.zeros(n, dtype=torch.bool)   # floating rows
    fc = (~sen) if v_col_u is None else torch.zeros(m, dtype=torch.bool)   # floating cols
    g_read = torch.zeros_like(g)
    g_read[act] = g[act] * sen.to(g.dtype)
    i_bias = torch.zeros(m, dtype=torch.float64)
    if v_row_u:                                   # unselected rows held at a bias voltage
        i_bias += _sinh_iv(v_row_u, iv, v0, v_ref) * g[~act].sum(0) * sen.to(g.dtype)
    nr, nc = int(fr.sum()), int(fc.sum())
    if nr + nc == 0:
        return g_read, i_bias
    # unknowns u = [floating row voltages, floating col voltages]; K u = B v + c
    ridx, cidx = torch.nonzero(fr).flatten(), torch.nonzero(fc).flatten()
    k = torch.zeros(nr + nc, nr + nc, dtype=torch.float64)
    k[:nr, :nr] = torch.diag(g[ridx].sum(1))
    k[nr:, nr:] = torch.diag(g[:, cidx].sum(0))
    k[:nr, nr:] = -g[ridx][:, cidx]
    k[nr:, :nr] = -g[ridx][:, cidx].T
    k += torch.eye(nr + nc, dtype=torch.float64) * (1e-12 * float(g.max()) + 1e-30)
    b = torch.zeros(nr + nc, n, dtype=torch.float64)
    b[nr:, act] = g[act][:, cidx].T               # driven rows feed floating columns
    c = torch.zeros(nr + nc, dtype=torch.float64)
    fixed_cols = ~fc & ~sen                       # unsensed columns held at a bias
    if v_col_u:
        c[:nr] += v_col_u * g[ridx][:, fixed_cols].sum(1)
    fixed_rows = ~fr & ~act
    if v_row_u:
        c[nr:] += v_row_u * g[fixed_rows][:, cidx].sum(0)
    sol_b = torch.linalg.solve(k, b)              # (nr+nc, n): u = sol_b @ v + sol_c
    sol_c = torch.linalg.solve(k, c[:, None])[:, 0]
    # floating rows push current into the sensed columns through their cells
    g_rs = g[ridx] * sen.to(g.dtype)              # (nr, m)
    g_read += sol_b[:nr].T @ g_rs
    i_bias += sol_c[:nr] @ g_rs
    return g_read, i_bias


def multilevel_scale(v: torch.Tensor, on_fraction, rows: float) -> torch.Tensor:
    """``a / f`` of multi-level (DAC) 1T1R reads (0 where no row conducts): the factor on
    the conducting rows' bit-line load in

        I = v @ G_eff(0) + (a / f) * on @ (G_eff(f) - G_eff(0))

    Why: a row conducts when its input is not 0 (its transistor is on), and every
    conducting row sinks ``G (b - u)`` from its bit line whatever its own voltage, while the
    row's own voltage drives ``v_i G w0`` (``w0``: the word-line voltage without bit-line
    load). The bit-line voltage is set by the conducting fraction ``f`` and the mean input
    ``a`` of the read: ``b = a b1(f)``, ``u = a u1(f)`` (the mean-field equations are linear
    in the inputs). ``G_eff(x)`` are the bit-serial effective conductances at activity x
    (:func:`ir_drop_conductances`; at 0 the bit lines carry no load: ``G w0``). For binary
    inputs (``v = on``, ``a = f``) the formula is ``v @ G_eff(f)``, the bit-serial read.
    Treating DAC levels as a bit-serial activity ``a`` instead counts only ``a/f`` of the
    conducting rows' load and missed 20-25 % of the drop on 128x128 arrays (ours; measured
    against cim.crossbar_solver in docs/nonidealities.md).

    ``v``: inputs (..., N) as fractions of the read voltage; ``on_fraction``: f (a number, or
    a tensor broadcasting against ``(..., 1)``); ``rows``: the rows of the read group (``a``
    and ``f`` are means over them)."""
    mean = v.sum(-1, keepdim=True) / float(rows)
    f = torch.as_tensor(on_fraction, dtype=v.dtype)
    return torch.where(f > 0, mean / torch.where(f > 0, f, torch.ones_like(f)),
                       torch.zeros_like(mean))


def _is_binary(va: torch.Tensor, vmax: float) -> bool:
    """True when every nonzero input equals the largest (a bit-serial plane)."""
    nonzero = va != 0
    return not bool(nonzero.any()) or bool((va[nonzero].abs() == vmax).all())


def approx_column_currents(g: torch.Tensor, v_in: torch.Tensor, *, r_wl: float = 0.0,
                           r_bl: float = 0.0, r_driver: float = 0.0, r_sense: float = 0.0,
                           cell: str = "1t1r", r_access: float = 0.0, active_rows=None,
                           sensed_cols=None, unselected_rows: str = "ground",
                           unselected_cols: str = "ground", v_half: float | None = None,
                           iv: str = "linear", v0: float | None = None,
                           v_ref: float | None = None, activity: float | None = None,
                           iterations: int = CALIBRATED_ITERATIONS) -> torch.Tensor:
    """Fast column currents (..., M) for input voltages ``v_in`` (..., N), with the solver's
    arguments and meaning: IR-drop effective conductances of the read group
    (``active_rows``: the rows driven in this read; in 1T1R a row at 0 V has its transistor
    off, as in a bit-serial read) plus, in 0T1R, the ideal-wire sneak network of the
    unselected lines. ``activity`` (the mean driven input over the read group as a fraction
    of the largest) defaults to the batch mean; pass the expected value to keep the
    conductances input-independent.

    1T1R keeps the array's geometry: rows that are not driven stay in place with their
    transistors off, so the bit-line segments between driven rows are counted. Multi-level
    inputs (DAC levels, any nonzero input below the largest) in 1T1R are read as in
    :func:`multilevel_scale`: a row conducts when its input is not 0; ``activity``, if
    given, is then the fraction of the driven rows that conduct (default: the batch's)."""
    g = torch.as_tensor(g, dtype=torch.float64)
    v = torch.as_tensor(v_in, dtype=torch.float64)
    n, m = g.shape
    if v.shape[-1] != n:
        raise ValueError(f"v_in last dim {v.shape[-1]} must equal the rows of g ({n}) "
                         f"(shape mismatch)")
    act = torch.ones(n, dtype=torch.bool) if active_rows is None else torch.as_tensor(
        active_rows, dtype=torch.bool)
    sen = torch.ones(m, dtype=torch.bool) if sensed_cols is None else torch.as_tensor(
        sensed_cols, dtype=torch.bool)
    if act.shape != (n,) or sen.shape != (m,):
        raise ValueError(f"active_rows/sensed_cols shapes {tuple(act.shape)}/{tuple(sen.shape)} "
                         f"must be ({n},)/({m},) (shape mismatch)")
    va = v * act.to(v.dtype)
    vmax = float(va.abs().max()) if va.numel() else 0.0
    if cell == "1t1r":
        return _one_t_currents(g, va, act, vmax, r_wl, r_bl, r_driver, r_sense, r_access,
                               activity, iterations) * sen.to(g.dtype)
    if v_half is None:
        v_half = 0.5 * vmax
    if unselected_rows != "float":
        # rows held at a bias are driven rows too: the IR-drop model takes them with the group
        v_u = float(v_half) if unselected_rows == "half" else 0.0
        driven = torch.ones(n, dtype=torch.bool)
        v_drv = torch.where(act, va, torch.full_like(va, v_u))
    else:
        driven = act
        v_drv = va
    if activity is None:
        activity = float(v_drv[..., driven].abs().mean()) / vmax if vmax > 0 else 0.0
        activity = min(1.0, ACTIVITY_SCALE * activity)
    g_eff = torch.zeros_like(g)
    if unselected_rows == "float" and not bool(act.all()):
        g_eff = ir_drop_conductances(g, r_wl, r_bl, r_driver, r_sense, cell, r_access,
                                     activity, iterations, floating_rows=~act)
    else:
        g_eff[driven] = ir_drop_conductances(g[driven], r_wl, r_bl, r_driver, r_sense, cell,
                                             r_access, activity, iterations)
    # ideal-wire sneak network (exact), plus the IR-drop correction of the driven rows
    g_read, i_bias = sneak_conductances(g, act, sen, unselected_rows, unselected_cols,
                                        v_half, iv, v0, v_ref)
    correction = v_drv @ ((g_eff - g) * driven.to(g.dtype)[:, None] * sen.to(g.dtype))
    return va @ g_read + i_bias + correction


def _one_t_currents(g, va, act, vmax, r_wl, r_bl, r_driver, r_sense, r_access, activity,
                    iterations) -> torch.Tensor:
    """1T1R column currents of :func:`approx_column_currents`: the undriven rows keep their
    place with no cell current (their conductances 0), so the geometry is the array's."""
    g_on = g * act.to(g.dtype)[:, None]
    n_act = max(1, int(act.sum()))
    if _is_binary(va, vmax):
        if activity is None:
            activity = float(va[..., act].abs().mean()) / vmax if vmax > 0 else 0.0
            activity = min(1.0, ACTIVITY_SCALE * activity)
        return va @ ir_drop_conductances(g_on, r_wl, r_bl, r_driver, r_sense, "1t1r",
                                         r_access, activity, iterations)
    on = (va != 0).to(g.dtype)
    if activity is None:
        activity = float(on.sum(-1).mean()) / n_act
    g_zero = ir_drop_conductances(g_on, r_wl, r_bl, r_driver, r_sense, "1t1r", r_access, 0.0,
                                  iterations)
    g_full = ir_drop_conductances(g_on, r_wl, r_bl, r_driver, r_sense, "1t1r", r_access,
                                  activity, iterations)
    # a and f are means over the driven rows (the undriven ones are not part of the read)
    return va @ g_zero + multilevel_scale(va, activity, n_act) * (on @ (g_full - g_zero))
