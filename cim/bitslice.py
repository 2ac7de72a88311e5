"""Bit slicing: signed weight codes into cell levels, input codes into read planes.

Everything here is integer bookkeeping; the analog side (conductances, currents, ADC) is in
`cim.cells`, `cim.adc` and `cim.crossbar`.

Weights (a layer unrolled to a matrix ``W`` of R rows x N outputs, row index
``c*K*K + kh*K + kw`` as in F.unfold and NeuroSim's trace):

* ``offset`` (NeuroSim's default): store ``u = w + 2^(b-1)`` in [0, 2^b - 1], split into
  ``S = ceil(b / c)`` cells of ``c`` bits, least significant slice first:
  ``u = sum_s d_s 2^(c s)``. One extra *reference column* per array holds level 0 (Gmin) in
  every row; its current is converted by the same ADC and subtracted, which removes the
  off-state current ``Gmin * sum(active inputs)`` that every column carries (cim.cells).
  The constant ``2^(b-1) * sum_r x_r`` is subtracted digitally from the exactly known input
  sum: ``sum_r x_r w_r = sum_s 2^(c s) sum_r x_r d_rs - 2^(b-1) sum_r x_r``.
* ``differential``: ``w = p - n`` with ``p = max(w, 0)`` and ``n = max(-w, 0)`` (both at most
  2^(b-1), so b bits), each sliced into S cells on its own column; the two columns of a pair
  are converted separately and subtracted digitally, so their equal off-state currents cancel.

A mapping is returned as integer cell ``levels`` (R x columns) and a ``combine`` operation
(columns -> N outputs) with ``W = combine(levels) - offset`` exactly; the same operation turns
converted column sums into layer outputs. This single description serves the ideal decode (tests), the
sequential read and the parallel read.

Inputs (integer codes ``x`` of ``a`` bits, one row per input vector):

* ``bit_serial``: one plane per bit, value 0/1, plane weight 2^p; signed codes use two's
  complement, whose most significant plane weighs -2^(a-1).
* ``dac``: one plane holding the whole code as a voltage level ``x / (2^a - 1)`` (weight
  2^a - 1); signed codes use two planes, the positive and the negative part, each scaled by
  2^(a-1) (weights +2^(a-1) and -2^(a-1)) - a bipolar DAC driven in two phases (ours).

Plane values always lie in [0, 1] (a read voltage as a fraction of the full read voltage).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["WeightMapping", "InputPlanes", "slice_weights", "input_planes", "plane_terms",
           "num_slices"]


def num_slices(weight_bits: int, cell_bits: int) -> int:
    """Cells per weight (per column of a differential pair): ceil(b / c)."""
    return -(-weight_bits // cell_bits)


@dataclass
class WeightMapping:
    """Cell levels of one layer and how columns combine back into weights.

    Columns are laid out as [slice 0 of outputs 0..N-1, slice 1 ..., (negative half for a
    differential pair), (the Gmin reference column for offset)].

    Attributes:
        levels: int8 tensor R x columns, each in [0, 2^cell_bits - 1].
        place: float64 tensor of the S slice weights 2^(c s), least significant first.
        outputs: N.
        offset: constant subtracted per unit of input (2^(b-1) for offset encoding, else 0).
        cell_bits, weight_bits, encoding: what produced it.
        reference_column: index of the Gmin reference column, or None (differential).
    """

    levels: torch.Tensor
    place: torch.Tensor
    outputs: int
    offset: float
    cell_bits: int
    weight_bits: int
    encoding: str
    reference_column: int | None

    @property
    def columns(self) -> int:
        return int(self.levels.shape[1])

    @property
    def slices(self) -> int:
        return int(self.place.numel())

    def combine(self, values: torch.Tensor) -> torch.Tensor:
        """Column values (..., columns) -> per-output values (..., N), float64.

        Shift-add of the slices (x 2^(c s)); minus the reference column once per slice it
        serves (offset) or minus the negative half (differential). ``combine(levels) - offset``
        gives back the weights; ``combine(converted column sums)`` the layer outputs.
        """
        v = values.to(torch.float64)
        s, n = self.slices, self.outputs
        lead = v.shape[:-1]
        if self.encoding == "offset":
            main = v[..., : s * n].reshape(*lead, s, n)
            out = torch.einsum("...sn,s->...n", main, self.place)
            ref = self.reference_column
            return out - float(self.place.sum()) * v[..., ref:ref + 1]
        pair = v[..., : 2 * s * n].reshape(*lead, 2, s, n)
        out = torch.einsum("...ksn,s->...kn", pair, self.place)
        return out[..., 0, :] - out[..., 1, :]

    def decode(self, levels: torch.Tensor | None = None) -> torch.Tensor:
        """Integer weights (float64, R x N) from (possibly re-read) cell levels."""
        lv = self.levels if levels is None else levels
        return self.combine(lv) - self.offset


def slice_weights(codes: torch.Tensor, weight_bits: int, cell_bits: int, encoding: str
                  ) -> WeightMapping:
    """Map signed weight codes (R x N) onto cell levels (see module docstring)."""
    if codes.dim() != 2:
        raise ValueError(f"weight codes must be a matrix R x N, got shape {tuple(codes.shape)}")
    lo, hi = -(2 ** (weight_bits - 1)), 2 ** (weight_bits - 1) - 1
    codes = codes.to(torch.int64)
    if codes.numel() and (int(codes.min()) < lo or int(codes.max()) > hi):
        raise ValueError(f"weight codes outside the signed {weight_bits}-bit range [{lo}, {hi}]")
    rows, n = codes.shape
    slices = num_slices(weight_bits, cell_bits)
    mask = 2 ** cell_bits - 1
    shifts = torch.arange(slices, dtype=torch.int64) * cell_bits        # LSB slice first
    place = 2.0 ** shifts.to(torch.float64)                              # 2^(c s)

    def split(u: torch.Tensor) -> torch.Tensor:                          # R x N -> R x (S*N)
        return ((u.unsqueeze(1) >> shifts.view(1, -1, 1)) & mask).to(torch.int8).reshape(
            rows, slices * n)

    if encoding == "offset":
        reference = torch.zeros(rows, 1, dtype=torch.int8)               # Gmin in every row
        levels = torch.cat([split(codes + 2 ** (weight_bits - 1)), reference], dim=1)
        return WeightMapping(levels, place, n, float(2 ** (weight_bits - 1)), cell_bits,
                             weight_bits, encoding, reference_column=slices * n)
    if encoding == "differential":
        levels = torch.cat([split(codes.clamp(min=0)), split((-codes).clamp(min=0))], dim=1)
        return WeightMapping(levels, place, n, 0.0, cell_bits, weight_bits, encoding, None)
    raise ValueError(f"weight_encoding={encoding!r} is not allowed; choose from: 'offset', "
                     f"'differential'")


@dataclass
class InputPlanes:
    """How input codes are applied: plane values in [0, 1] and the weight of each plane."""

    weights: torch.Tensor    # float64, one per plane: the digital shift-add factor
    resolution: float        # smallest nonzero step of a plane value (1 for bit-serial)

    @property
    def count(self) -> int:
        return int(self.weights.numel())


def plane_weights(bits: int, signed: bool, encoding: str) -> InputPlanes:
    """Plane weights of an input encoding (see module docstring)."""
    if encoding == "bit_serial":
        w = 2.0 ** torch.arange(bits, dtype=torch.float64)
        if signed:
            w[-1] = -w[-1]                                               # two's complement MSB
        return InputPlanes(w, 1.0)
    if encoding == "dac":
        if signed:
            half = float(2 ** (bits - 1))
            return InputPlanes(torch.tensor([half, -half], dtype=torch.float64), 1.0 / half)
        full = float(2 ** bits - 1)
        return InputPlanes(torch.tensor([full], dtype=torch.float64), 1.0 / full)
    raise ValueError(f"input_encoding={encoding!r} is not allowed; choose from: 'bit_serial', "
                     f"'dac'")


def input_planes(codes: torch.Tensor, bits: int, signed: bool, encoding: str,
                 dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, InputPlanes]:
    """Planes of integer input codes: ``codes`` (..., R) -> (..., P, R) values in [0, 1].

    ``sum_p weights[p] * planes[..., p, :] == codes`` exactly (up to float rounding of the
    DAC levels).
    """
    spec = plane_weights(bits, signed, encoding)
    codes = codes.to(torch.int64)
    if encoding == "bit_serial":
        u = codes % (2 ** bits) if signed else codes                     # two's complement bits
        shifts = torch.arange(bits, dtype=torch.int64).view(-1, 1)
        planes = ((u.unsqueeze(-2) >> shifts) & 1).to(dtype)
        return planes, spec
    if signed:
        half = float(2 ** (bits - 1))
        planes = torch.stack([codes.clamp(min=0), (-codes).clamp(min=0)], dim=-2).to(dtype) / half
        return planes, spec
    return (codes.unsqueeze(-2).to(dtype) / float(2 ** bits - 1)), spec


def plane_terms(codes: torch.Tensor, planes: torch.Tensor, bits: int, signed: bool,
                encoding: str) -> torch.Tensor:
    """``weights[p] * plane_p(code)`` (float64) for integer ``codes`` and plane indices
    ``planes`` given elementwise: the part of each code that plane p carries (the planes of a
    code sum to it, as in :func:`input_planes`)."""
    spec = plane_weights(bits, signed, encoding)
    codes, planes = codes.to(torch.int64), planes.to(torch.int64)
    if encoding == "bit_serial":
        u = codes % (2 ** bits) if signed else codes
        return ((u >> planes) & 1).to(torch.float64) * spec.weights[planes]
    if signed:                                                           # two DAC phases
        return torch.where(planes == 0, codes.clamp(min=0), codes.clamp(max=0)).to(torch.float64)
    return codes.to(torch.float64)
