"""Row groups of the parallel read and the conductances each group presents to its inputs.

Conventional parallel mode (DNN+NeuroSim V1.4 partial-parallel read; reference/neurosim-v1.4.md
§6-7) reads ``rows_in_parallel`` rows of one subarray at once. :func:`row_groups` lists them;
:class:`GroupConductances` holds, per group, the conductances (units of Gmax, cim.cells) that
turn the group's input plane into column currents, ``I = v @ G``, with IR drop when the wires
have resistance.

IR drop (cim.devices.ir_drop mean-field model), two refinements over one ``G_eff`` per array:

* position: a group is embedded at its rows' positions in its subarray of ``subarray_rows``
  word lines (rows of the subarray outside the group, and rows the layer does not fill,
  carry no cell current in 1T1R: their access transistors are off). A group far from the
  sense amplifiers drives its current through more bit-line segments.
  0T1R: the subarray's other rows stay connected and are grounded (the solver's default
  ``unselected_rows="ground"``); rows the layer does not fill are taken as absent (ours).
* activity: ``G_eff`` depends on the mean input of the read (a denser plane draws more
  bit-line current). It is computed at two activities ``A_LO``, ``A_HI`` and interpolated
  linearly per read from that read's actual mean input ``a``:
  ``I = v @ G(A_LO) + (a - A_LO) * v @ dG``, ``dG = (G(A_HI) - G(A_LO)) / (A_HI - A_LO)``:
  one extra matrix product per read group (ours).
  Measured against cim.crossbar_solver (1T1R, r = 2.5-5 ohm, 128-256 rows, bit-serial planes of
  density 0.05-0.9): the interpolation adds <= 0.4 % (relative column-current error) to the
  mean-field model's own error; the fixed activity 0.5 used before was off by 2-9 % at
  densities 0.05 and 0.9 (docs/nonidealities.md, "IR drop in step 1").

* multi-level inputs (``input_encoding=dac``, 1T1R): a row conducts when its level is not 0
  and then loads its bit lines whatever its level, so the load follows the conducting
  fraction f of the read and its size the mean level a
  (cim.devices.ir_drop.multilevel_scale): ``I = v @ G(0) + (a/f) on @ (G(f) - G(0))``, with
  ``G(f)`` interpolated as above and ``G(0)`` the unloaded word lines; within 0.2-0.5 % of
  the solver on 128-row groups at 2.5-5 ohm, where the bit-serial treatment (activity a)
  was 3-6 % off (docs/nonidealities.md).

The read noise of the parallel read uses ``G`` at activity 1/2 for its spread (a second-order
term; cim.parallel_read).
"""
from __future__ import annotations

import torch

from . import devices

__all__ = ["row_groups", "GroupConductances", "A_LO", "A_HI"]

#: activities (mean input of a read, fraction of the read voltage) where G_eff is computed
A_LO, A_HI = 0.25, 0.75


def row_groups(rows: int, subarray_rows: int, rows_in_parallel: int) -> torch.Tensor:
    """Index of the rows read together: (groups x rows_in_parallel), padded with ``rows``.

    Row r sits in subarray ``r // subarray_rows``; inside it, group ``(r % subarray_rows) //
    rows_in_parallel``. Groups never straddle subarrays; the last group of a subarray (and of
    the layer) may be short, its padding points at an extra all-zero row.
    """
    r = torch.arange(rows)
    per_sub = -(-subarray_rows // rows_in_parallel)
    group = (r // subarray_rows) * per_sub + (r % subarray_rows) // rows_in_parallel
    slot = (r % subarray_rows) % rows_in_parallel
    used, group = torch.unique(group, return_inverse=True)             # drop empty groups
    index = torch.full((int(used.numel()), rows_in_parallel), rows, dtype=torch.int64)
    index[group, slot] = r
    return index


class GroupConductances:
    """Conductances of each read group for a set of columns (see module docstring).

    Args:
        g: R x C conductances (units of Gmax) as a read sees them without noise.
        groups: the crossbar's row groups (groups x rows per read, padded with R).
        config: HardwareConfig (wire resistance, access device, subarray size).
    """

    def __init__(self, g: torch.Tensor, groups: torch.Tensor, config):
        rows = int(g.shape[0])
        self.groups = groups
        self.rows_per_group = (groups < rows).sum(1).to(torch.float32)      # real rows
        padded = torch.cat([g, torch.zeros(1, int(g.shape[1]), dtype=g.dtype)], dim=0)
        self.ir_drop = config.wire_resistance_ohm > 0
        #: 1T1R with multi-level (DAC) inputs: G_eff at activity 0 and the load G(A_LO) - it
        self.zero = self.load = None
        if not self.ir_drop:
            self.base = padded[groups].to(torch.float32).contiguous()
            self.slope = None
        else:
            lo, hi = (self._ir_drop(padded, groups, config, a) for a in (A_LO, A_HI))
            self.base = lo.to(torch.float32).contiguous()
            self.slope = ((hi - lo) / (A_HI - A_LO)).to(torch.float32).contiguous()
            if config.access_device == "1t1r" and config.input_encoding == "dac":
                zero = self._ir_drop(padded, groups, config, 0.0)
                self.zero = zero.to(torch.float32).contiguous()
                self.load = (lo - zero).to(torch.float32).contiguous()
        self._square = None
        self._stack = None                  # (sigma, [G | dG | sigma^2 G^2]) of noisy()

    @staticmethod
    def _ir_drop(padded: torch.Tensor, groups: torch.Tensor, config, activity: float
                 ) -> torch.Tensor:
        """G_eff (float64, groups x rows per read x C) with each group at its place in its
        subarray, one subarray tile of ``subarray_cols`` bit lines at a time (a word line
        spans one subarray; column j of the layer sits at position j % subarray_cols)."""
        rows = int(padded.shape[0]) - 1
        sub = config.subarray_rows
        n_groups, rpp = groups.shape
        first = groups[:, 0]                                 # a group's first row is real
        start = (first // sub) * sub                         # its subarray's first row
        real = groups < rows
        pos = torch.where(real, groups - start[:, None], torch.zeros_like(groups))
        g_max = 1.0 / config.r_on_ohm                        # units of Gmax -> siemens
        one_t = config.access_device == "1t1r"
        out = []
        for tile in torch.split(padded.to(torch.float64) * g_max, config.subarray_cols, dim=1):
            cols = int(tile.shape[1])
            emb = torch.zeros(n_groups, sub, cols, dtype=torch.float64)
            if one_t:
                # 1T1R: only the group's rows conduct; the rest of the subarray is off
                emb[torch.arange(n_groups)[:, None].expand(-1, rpp)[real], pos[real]] = \
                    tile[groups[real]]
                a = activity
            else:
                # 0T1R: the whole subarray is connected, the rows outside the group at 0 V
                idx = (start[:, None] + torch.arange(sub)[None, :]).clamp(max=rows)
                emb = tile[idx]
                a = activity * float(rpp) / sub
            eff = devices.ir_drop_conductances_from_config(emb, config, a)
            out.append(torch.gather(eff, 1, pos[:, :, None].expand(-1, -1, cols))
                       * real[:, :, None])
        return torch.cat(out, dim=-1) / g_max

    @property
    def square(self) -> torch.Tensor:
        """G^2 at activity 1/2 (the read-noise spread; made on first use)."""
        if self._square is None:
            mid = self.at_activity(0.5)
            self._square = mid * mid
        return self._square

    def noise_stack(self, sigma: float) -> torch.Tensor:
        """``[G | dG | sigma^2 G^2]`` per group (groups x rows x 2C or 3C; made once per
        sigma; call it before reading from several threads)."""
        if self._stack is None or self._stack[0] != sigma:
            parts = [self.base] + ([] if self.slope is None else [self.slope])
            self._stack = (sigma, torch.cat(parts + [self.square * sigma ** 2], -1))
        return self._stack[1]

    def noisy(self, planes: torch.Tensor, group: int, sigma: float, binary: bool = False
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """(column currents as :meth:`current`, read-noise variance ``sigma^2 sum_r x_r^2
        G_r^2``) of input planes (reads x rows per read), both reads x C float32.

        Binary planes (``x^2 = x``) get both from one matrix product with
        ``[G | dG | sigma^2 G^2]`` side by side (made once per sigma)."""
        c = int(self.base.shape[-1])
        stack = self.noise_stack(sigma)[group]
        if not binary:
            return self.current(planes, group), (planes * planes) @ stack[:, -c:]
        both = planes @ stack
        if self.slope is None:
            current = both[:, :c]
        else:
            activity = planes.sum(-1, keepdim=True) / self.rows_per_group[group]
            current = torch.addcmul(both[:, :c], both[:, c:2 * c], activity - A_LO)
        return current, both[:, -c:]

    def at_activity(self, activity: float) -> torch.Tensor:
        """G of every group at one activity (groups x rows x C, float32)."""
        if self.slope is None:
            return self.base
        return self.base + (activity - A_LO) * self.slope

    def current(self, planes: torch.Tensor, group: int) -> torch.Tensor:
        """Column currents (reads x C, float32) of input planes (reads x rows per read)."""
        if self.zero is not None:
            return self._multilevel(planes, group)
        current = planes @ self.base[group]
        if self.slope is not None:
            # this read's mean input over the group's rows
            activity = planes.sum(-1, keepdim=True) / self.rows_per_group[group]
            current += (activity - A_LO) * (planes @ self.slope[group])
        return current

    def _multilevel(self, planes: torch.Tensor, group: int) -> torch.Tensor:
        """1T1R reads of DAC levels: the rows with a nonzero level conduct and load the bit
        lines alike (cim.devices.ir_drop.multilevel_scale), ``G_eff(f)`` interpolated in the
        conducting fraction f of the read as the bit-serial ``G_eff`` is in its activity."""
        rows = self.rows_per_group[group]
        on = (planes > 0).to(planes.dtype)
        f = on.sum(-1, keepdim=True) / rows
        load = on @ self.load[group] + (f - A_LO) * (on @ self.slope[group])
        return planes @ self.zero[group] + devices.multilevel_scale(planes, f, rows) * load

    def columns(self, index) -> "GroupConductances":
        """The same groups for a subset of the columns (IR drop stays as computed with all)."""
        part = object.__new__(GroupConductances)
        part.groups, part.rows_per_group, part.ir_drop = (self.groups, self.rows_per_group,
                                                          self.ir_drop)
        part.base = self.base[..., index].contiguous()
        part.slope = None if self.slope is None else self.slope[..., index].contiguous()
        part.zero, part.load = ((None, None) if self.zero is None else
                                (self.zero[..., index].contiguous(),
                                 self.load[..., index].contiguous()))
        part._square = part._stack = None
        return part
