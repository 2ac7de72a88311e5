"""Step 1 repeated: hardware accuracy over seeds (Monte Carlo over device effects) and over
the values of one config field. Each repetition is a full :func:`cim.run.run` without a trace.
"""
from __future__ import annotations

import math
from typing import Any

from contracts.config import HardwareConfig

from .run import run

__all__ = ["accuracy_summary", "monte_carlo", "sweep"]


def accuracy_summary(values: list[float]) -> dict[str, Any]:
    """mean, std (sample standard deviation, n - 1; 0 for one value), min, max of accuracies."""
    n = len(values)
    if n == 0:
        raise ValueError("accuracy_summary needs at least one value")
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return {"n": n, "mean": mean, "std": std, "min": min(values), "max": max(values),
            "values": list(values)}


def monte_carlo(config: HardwareConfig | dict | None, runs: int, *, seed: int | None = None,
                **run_kwargs) -> dict[str, Any]:
    """Repeat the hardware evaluation with ``runs`` seeds (seed, seed+1, ...): each seed draws
    new device effects (faults, variation, noise). Returns accuracy_summary of the hardware
    accuracy plus ``seeds`` and the shared float / quantized accuracies. No trace is written."""
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        raise ValueError(f"monte_carlo={runs!r} is invalid; use a positive integer")
    seed = 0 if seed is None else seed
    run_kwargs = dict(run_kwargs, write_trace=False)
    seeds, hw, first = list(range(seed, seed + runs)), [], None
    for s in seeds:
        result = run(config, seed=s, **run_kwargs)
        first = first or result
        if result.accuracy["hardware"] is None:
            raise ValueError("--monte-carlo needs labelled data (not a synthetic, cost-only run)")
        hw.append(result.accuracy["hardware"])
    return dict(accuracy_summary(hw), seeds=seeds, float=first.accuracy["float"],
                quantized=first.accuracy["quantized"], eval_images=first.eval_images,
                network=first.network, dataset=first.dataset)


def sweep(config: HardwareConfig, field_name: str, values: list, *, runs: int = 1,
          seed: int | None = None, **run_kwargs) -> list[dict[str, Any]]:
    """Hardware accuracy with ``config.<field_name>`` set to each value (monte_carlo with
    ``runs`` seeds at each point)."""
    cfg = HardwareConfig.from_dict(config) if isinstance(config, dict) else \
        (config or HardwareConfig())
    return [dict(monte_carlo(cfg.replace(**{field_name: v}), runs, seed=seed, **run_kwargs),
                 value=v) for v in values]
