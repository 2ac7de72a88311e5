"""Small helpers shared by the device models: argument checks and seeded sub-generators.

Randomness only flows through an explicit ``torch.Generator`` (DESIGN.md §4). A programming
run draws one 63-bit base seed from the caller's generator and gives every effect its own
child generator seeded from (base, effect name). So switching one effect on or off never
moves the random numbers of another (common random numbers across a sweep), and the same
caller seed reproduces every draw bit for bit.
"""
from __future__ import annotations

import hashlib
import math

import torch

__all__ = ["check_sigma", "check_rate", "check_positive", "check_resistance", "base_seed",
           "child_generator", "normal_like", "uniform_like", "multiplicative_noise"]


def check_sigma(name: str, value: float) -> float:
    """A standard deviation: finite and >= 0, else ValueError naming the field."""
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name}={value} must be a finite number >= 0")
    return value


def check_rate(name: str, value: float) -> float:
    """A probability or fraction in [0, 1], else ValueError naming the field."""
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name}={value} must lie in [0, 1]")
    return value


def check_positive(name: str, value: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name}={value} must be a finite number > 0")
    return value


def check_resistance(name: str, value: float) -> float:
    """A resistance: finite and >= 0 ohm, else ValueError naming the field."""
    value = float(value)
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name}={value} must be a finite resistance >= 0 ohm")
    return value


def base_seed(generator: torch.Generator) -> int:
    """Draw one 63-bit integer from ``generator`` (advances it by exactly one draw)."""
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    return int(torch.randint(0, 2 ** 62, (1,), generator=generator, device=generator.device))


def child_generator(seed: int, tag: str, device: torch.device | str = "cpu") -> torch.Generator:
    """A generator seeded from (seed, tag) by SHA-256: independent streams per effect."""
    digest = hashlib.sha256(f"{int(seed)}:{tag}".encode()).digest()
    child = torch.Generator(device=device)
    child.manual_seed(int.from_bytes(digest[:8], "little") & (2 ** 63 - 1))
    return child


def normal_like(t: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Standard normal samples with t's shape and dtype, drawn on the generator's device."""
    z = torch.randn(t.shape, generator=generator, dtype=t.dtype, device=generator.device)
    return z.to(t.device)


def uniform_like(t: torch.Tensor, generator: torch.Generator, dtype=None) -> torch.Tensor:
    """U[0, 1) samples with t's shape."""
    u = torch.rand(t.shape, generator=generator, dtype=dtype or t.dtype, device=generator.device)
    return u.to(t.device)


def multiplicative_noise(g: torch.Tensor, sigma: float, name: str, generator: torch.Generator
                         ) -> torch.Tensor:
    """``G (1 + sigma z)``, z ~ N(0, 1) per cell, clipped at 0 S; a copy of ``g`` when sigma
    is 0. ``name`` is the config field checked (sigma finite and >= 0)."""
    sigma = check_sigma(name, sigma)
    if sigma == 0.0:
        return g.clone()
    return torch.clamp(g * (1.0 + sigma * normal_like(g, generator)), min=0.0)
