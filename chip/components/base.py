"""The uniform component interface (DESIGN.md §2, docs/chip-internals.md).

Every peripheral is built from ``(ctx, config, **geometry)`` and exposes ``name``,
``category``, ``area_m2``, ``width_m``, ``height_m``, ``leakage_W`` and
``latency_s(*, ...)``, ``dynamic_energy_J(*, ...)``, ``cost(count=1, **activity)``.
The two figure methods declare every activity count they take as an explicit keyword
(``num_reads``, ``active_lines``, ...); neither takes ``**kwargs``, so a misspelt count is
a TypeError, never a count of zero. ``cost`` routes each keyword to whichever of the two
declares it (both, if both do) and refuses one that neither declares. It multiplies
area, leakage and energy by ``count`` (identical instances doing the same work); latency
is that of one instance.
"""
from __future__ import annotations

import inspect
import math
from typing import Any

from chip.cost import Cost

__all__ = ["Component", "require_int", "require_positive", "cycles", "tile_units"]


def require_int(name: str, value: Any, minimum: int = 1) -> int:
    """A clear error for a count that is not an integer >= minimum."""
    if isinstance(value, bool) or not isinstance(value, (int,)) and not (
            isinstance(value, float) and value.is_integer()):
        raise ValueError(f"{name}={value!r} must be an integer >= {minimum}")
    if value < minimum:
        raise ValueError(f"{name}={value!r} must be an integer >= {minimum}")
    return int(value)


def require_positive(name: str, value: float, allow_zero: bool = False) -> float:
    value = float(value)
    if not (value >= 0 if allow_zero else value > 0) or math.isnan(value):
        raise ValueError(f"{name}={value!r} must be {'>= 0' if allow_zero else '> 0'}")
    return value


def cycles(latency_s: float, clock_period_s: float | None) -> float:
    """Synchronous clock: a latency rounded up to whole cycles (NeuroSim V1.4 tables §5.9)."""
    if not clock_period_s:
        return latency_s
    return math.ceil(latency_s / clock_period_s - 1e-9) * clock_period_s


def tile_units(unit_width_m: float, unit_height_m: float, count: int,
               width_m: float | None = None, height_m: float | None = None) -> tuple[float, float]:
    """(width, height) of ``count`` identical cells tiled in rows across a pinned width, or
    in columns along a pinned height: whole cells per row (column), the last row (column)
    possibly part-filled but as tall (wide) as the others. NeuroSim V1.4's rule for DFFs,
    prechargers, write drivers and S/A units laid out against an array edge (DFF.cpp,
    Precharger.cpp, SRAMWriteDriver.cpp)."""
    if count <= 0:
        return (width_m or 0.0, 0.0) if width_m else (0.0, height_m or 0.0)
    if width_m:
        per = max(1, min(int(width_m / unit_width_m + 1e-9), count))
        return max(width_m, unit_width_m), math.ceil(count / per) * unit_height_m
    if height_m:
        per = max(1, min(int(height_m / unit_height_m + 1e-9), count))
        return math.ceil(count / per) * unit_width_m, max(height_m, unit_height_m)
    return count * unit_width_m, unit_height_m          # one row by default


def _declared_keywords(cls: type, method: str) -> frozenset[str]:
    """The keywords ``cls.method`` declares; a catch-all (``*args``/``**kwargs``) is refused
    when the class is defined, so the contract cannot be broken silently."""
    params = list(inspect.signature(getattr(cls, method)).parameters.values())[1:]
    for p in params:
        if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            raise TypeError(f"{cls.__name__}.{method} takes {p}: a component's activity must "
                            f"be explicit keyword arguments, not a catch-all")
    return frozenset(p.name for p in params if p.kind != p.POSITIONAL_ONLY)


class Component:
    """Base class: zero cost; subclasses set the figures in ``__init__`` and declare their
    activity as the keyword arguments of ``latency_s`` and ``dynamic_energy_J``."""

    name = "component"
    category = "other"
    # per class: (keywords of latency_s, keywords of dynamic_energy_J), set at definition
    _activity_keywords: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._activity_keywords = (_declared_keywords(cls, "latency_s"),
                                  _declared_keywords(cls, "dynamic_energy_J"))

    def __init__(self) -> None:
        self.area_m2 = 0.0
        self.width_m = 0.0
        self.height_m = 0.0
        self.leakage_W = 0.0

    def latency_s(self) -> float:
        return 0.0

    def dynamic_energy_J(self) -> float:
        return 0.0

    @classmethod
    def activity_keywords(cls) -> frozenset[str]:
        """Every activity keyword ``cost`` accepts for this class."""
        return cls._activity_keywords[0] | cls._activity_keywords[1]

    def cost(self, count: int = 1, **activity: Any) -> Cost:
        lat_keys, energy_keys = self._activity_keywords
        unknown = sorted(set(activity) - lat_keys - energy_keys)
        if unknown:
            known = ", ".join(sorted(lat_keys | energy_keys)) or "none"
            raise TypeError(f"{type(self).__name__} ({self.name}): unknown activity "
                            f"keyword{'s' if len(unknown) > 1 else ''} "
                            f"{', '.join(map(repr, unknown))}; known: {known}")
        latency = self.latency_s(**{k: v for k, v in activity.items() if k in lat_keys})
        energy = self.dynamic_energy_J(**{k: v for k, v in activity.items()
                                          if k in energy_keys})
        return Cost(self.name, self.category, area_m2=self.area_m2 * count,
                    latency_s=latency, dynamic_energy_J=energy * count,
                    leakage_W=self.leakage_W * count, count=count)

    def _place(self, area_m2: float, width_m: float | None = None,
               height_m: float | None = None, natural_width_m: float = 0.0,
               natural_height_m: float = 0.0) -> None:
        """Set area and a floorplan: pinned width or height, else the natural shape."""
        self.area_m2 = area_m2
        if width_m:
            self.width_m, self.height_m = width_m, area_m2 / width_m
        elif height_m:
            self.height_m, self.width_m = height_m, area_m2 / height_m
        else:
            self.width_m = natural_width_m or math.sqrt(area_m2)
            self.height_m = natural_height_m or (area_m2 / self.width_m if self.width_m else 0)

    def override_layout(self, height_m: float, width_m: float) -> None:
        """Stretch the block to a given footprint (NeuroSim's OverrideLayout: area = h x w),
        e.g. a strip made as tall as the block that drives it."""
        self.height_m, self.width_m = height_m, width_m
        self.area_m2 = height_m * width_m

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(area={self.area_m2 * 1e12:.3g} um2, "
                f"leak={self.leakage_W * 1e6:.3g} uW)")
