"""Stuck-at faults: cells frozen at Gmin (stuck-at-HRS / SA0) or Gmax (stuck-at-LRS / SA1).

Model
-----
Each cell is independently stuck with probability ``p = stuck_at_fault_rate`` (Bernoulli
placement from the seed); a stuck cell is at Gmax (LRS) with probability
``f = stuck_at_lrs_fraction`` and at Gmin (HRS) otherwise:
``G = Gmin`` (HRS), ``G = Gmax`` (LRS), else unchanged. A stuck cell ignores programming,
variation, relaxation and drift (nothing can move it); read noise still applies.
Expected counts: ``N_stuck = p*N``, ``N_LRS = p*f*N``; the realised counts are binomial.

Sources: stuck-at-fault injection at a rate and an SA0/SA1 split as in MNSIM 2.0 ("SAF
HRS/LRS %"), NeuroSim V1.5 (SAF 0/1) and the yzlite ReRAM wrapper; typical measured rates are
about 1.75 % SA0 and 9 % SA1 (Chen et al., "RRAM defect modeling and failure analysis based
on march test and a novel squeeze-search scheme", IEEE TC 2015) [recalled]. Config keys:
``stuck_at_fault_rate``, ``stuck_at_lrs_fraction``. No temperature dependence.

``inject_faults`` applies the same model to a loaded torch model's Conv2d/Linear weights
through step 1's own quantizer and cell mapping (cim.quantize.quantize_weight,
cim.bitslice.slice_weights): each weight tensor becomes signed ``weight_bits`` codes and their
cell levels (offset code or differential pair, ``ceil(b / c)`` cells of ``c = cell_bits``
bits); a stuck cell forces its level to 0 (HRS) or 2^c - 1 (LRS); the weight moves by exactly
the code change the faults cause (``WeightMapping.decode``), times its scale, so weights with
no stuck cell keep their float value bit for bit. The offset code's reference column is not
part of the weights and is not faulted here.
"""
from __future__ import annotations

import torch

from ..bitslice import slice_weights
from ..quantize import quantize_weight
from ._common import check_rate

__all__ = ["OK", "STUCK_HRS", "STUCK_LRS", "sample_fault_mask", "apply_stuck_at",
           "inject_faults"]

OK, STUCK_HRS, STUCK_LRS = 0, 1, 2


def sample_fault_mask(shape, rate: float, lrs_fraction: float, generator: torch.Generator
                      ) -> torch.Tensor:
    """int8 mask of ``shape``: 0 healthy, 1 stuck at Gmin (HRS), 2 stuck at Gmax (LRS)."""
    rate = check_rate("stuck_at_fault_rate", rate)
    lrs_fraction = check_rate("stuck_at_lrs_fraction", lrs_fraction)
    shape = tuple(int(s) for s in shape)
    mask = torch.zeros(shape, dtype=torch.int8)
    if rate == 0.0 or mask.numel() == 0:
        return mask
    stuck = torch.rand(shape, generator=generator, dtype=torch.float64,
                       device=generator.device).cpu() < rate
    lrs = torch.rand(shape, generator=generator, dtype=torch.float64,
                     device=generator.device).cpu() < lrs_fraction
    mask[stuck & ~lrs] = STUCK_HRS
    mask[stuck & lrs] = STUCK_LRS
    return mask


def apply_stuck_at(g: torch.Tensor, mask: torch.Tensor, g_min: float, g_max: float
                   ) -> torch.Tensor:
    """Stuck cells to Gmin / Gmax, the others unchanged."""
    if mask.shape != g.shape:
        raise ValueError(f"fault mask shape {tuple(mask.shape)} must equal the conductance "
                         f"shape {tuple(g.shape)}")
    mask = mask.to(g.device)
    out = torch.where(mask == STUCK_HRS, torch.full_like(g, g_min), g)
    return torch.where(mask == STUCK_LRS, torch.full_like(g, g_max), out)


def inject_faults(model: torch.nn.Module, config, seed: int) -> int:
    """Inject stuck-at faults into every Conv2d/Linear weight of ``model`` (in place, in
    ``named_modules`` order) and return how many cells were hit.

    Uses ``config.stuck_at_fault_rate``, ``stuck_at_lrs_fraction``, ``weight_bits``,
    ``cell_bits`` and ``weight_encoding``; the same seed gives the same faults.
    """
    rate = check_rate("stuck_at_fault_rate", config.stuck_at_fault_rate)
    lrs_fraction = check_rate("stuck_at_lrs_fraction", config.stuck_at_lrs_fraction)
    if rate == 0.0:
        return 0
    top = 2 ** int(config.cell_bits) - 1
    generator = torch.Generator().manual_seed(int(seed))
    hit = 0
    with torch.no_grad():
        for _, module in model.named_modules():
            if not isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
                continue
            w = module.weight
            codes, scale = quantize_weight(w.detach().cpu(), int(config.weight_bits))
            mapping = slice_weights(codes.reshape(-1, 1), int(config.weight_bits),
                                    int(config.cell_bits), config.weight_encoding)
            mask = sample_fault_mask(mapping.levels.shape, rate, lrs_fraction, generator)
            if mapping.reference_column is not None:
                mask[:, mapping.reference_column] = OK          # not a weight cell
            levels = torch.where(mask == STUCK_HRS, torch.zeros_like(mapping.levels),
                                 mapping.levels)
            levels = torch.where(mask == STUCK_LRS, torch.full_like(levels, top), levels)
            q = codes.reshape(-1).to(torch.float64)
            q_new = mapping.decode(levels).reshape(-1)
            changed = (q_new != q).reshape(w.shape)
            if bool(changed.any()):
                delta = ((q_new - q) * scale).reshape(w.shape).to(w.dtype).to(w.device)
                w.copy_(torch.where(changed.to(w.device), w + delta, w))
            hit += int((mask != OK).sum())
    return hit
