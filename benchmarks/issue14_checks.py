"""Figures of the issue-14 fixes and the 0T1R area question (docs/nonidealities.md):

    python benchmarks/issue14_checks.py

1. the fast IR-drop estimate with multi-level (DAC) inputs against the nodal solver
   (128x128, 2.5 ohm per segment, sense resistor 0 and 20 ohm);
2. approx_column_currents(active_rows=...) in 1T1R against the solver (256x256, 2 ohm);
3. the 128x128 sub-array floorplan of 1T1R and 0T1R (array, periphery strips, bounding box,
   empty corner), sequential and parallel read.
"""
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chip.parts import default_parts  # noqa: E402
from cim.crossbar_solver import solve_crossbar  # noqa: E402
from cim.devices import ir_drop  # noqa: E402
from contracts.config import HardwareConfig  # noqa: E402


def device_array(n: int, seed: int) -> np.ndarray:
    """Conductances uniform in the default [1/1.7 Mohm, 1/100 kohm] (S)."""
    rng = np.random.default_rng(seed)
    return rng.uniform(1 / 1.7e6, 1 / 100e3, (n, n))


def _error(approx, exact) -> float:
    return 100 * float(np.abs(approx - exact).mean() / exact.mean())


def dac_inputs() -> None:
    g, rng = device_array(128, 5), np.random.default_rng(6)
    for r_sense in (0.0, 20.0):
        for density in (0.3, 1.0):
            codes = np.where(rng.random(128) < density, rng.integers(1, 256, 128), 0)
            v = 0.2 * codes / 255
            exact = solve_crossbar(g, v, r_wl=2.5, r_bl=2.5, r_sense=r_sense, cell="1t1r",
                                   active_rows=v > 0).column_currents
            approx = ir_drop.approx_column_currents(torch.tensor(g), torch.tensor(v), r_wl=2.5,
                                                    r_bl=2.5, r_sense=r_sense).numpy()
            print(f"DAC inputs 128x128 2.5 ohm, sense {r_sense:g} ohm, {density:.0%} rows "
                  f"driven: error {_error(approx, exact):.2f} %, ignoring IR drop "
                  f"{_error(v @ g, exact):.2f} %")


def active_rows() -> None:
    g = device_array(256, 3)
    act = np.arange(256) < 64                 # the rows farthest from the sense amplifiers
    v = np.where(act, 0.2, 0.0)
    exact = solve_crossbar(g, v, r_wl=2, r_bl=2, cell="1t1r", active_rows=act).column_currents
    approx = ir_drop.approx_column_currents(torch.tensor(g), torch.tensor(v), r_wl=2, r_bl=2,
                                            active_rows=torch.tensor(act)).numpy()
    print(f"active_rows 256x256 2 ohm, 64 far rows driven: error {_error(approx, exact):.4f} %")


def floorplans() -> None:
    for mode in ("sequential", "parallel"):
        for access in ("1t1r", "0t1r"):
            sa = default_parts(HardwareConfig(access_device=access, operation_mode=mode)
                               ).subarray(128, 128)
            arr = sa.array
            side_w = sum(sa.components[n].area_m2 / arr.height_m for n in sa._side)
            below_h = sum(sa.components[n].area_m2 / arr.width_m for n in sa._below)
            used = sum(c.area_m2 for c in sa.components.values())
            print(f"{mode} {access}: array {arr.width_m * 1e6:.2f} x {arr.height_m * 1e6:.2f} "
                  f"um = {arr.width_m * arr.height_m * 1e12:.0f} um2, side strip "
                  f"{side_w * 1e6:.0f} um wide, lower strips {below_h * 1e6:.0f} um high, box "
                  f"{sa.area_m2 * 1e12:,.0f} um2, circuits {used * 1e12:,.0f} um2, empty "
                  f"corner {sa.whitespace_m2 * 1e12:,.0f} um2 "
                  f"({100 * sa.whitespace_m2 / sa.area_m2:.0f} %)")


if __name__ == "__main__":
    dac_inputs()
    active_rows()
    floorplans()
