"""Registry of the networks NeuroPySim knows, by name.

Each network family module registers its builders here with the :func:`register` decorator;
``models.build(name)`` then constructs a freshly, reproducibly initialised model. Any ``.py``
file placed in ``models/`` is imported by ``models/__init__.py`` (auto-discovery), so a new
network is registered by its own file alone. Names are lower case and looked up
case-insensitively.
The registry knows shapes and defaults only; it knows nothing about hardware.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

__all__ = ["NetworkSpec", "register", "names", "get_spec", "build", "compute_layers",
           "canonical_name"]


@dataclass(frozen=True)
class NetworkSpec:
    """What a registered network expects and produces.

    Attributes:
        name: registry name, e.g. ``"vgg8"``.
        input_shape: one image as (C, H, W); images are unsigned, scaled to [0, 1].
        num_classes: number of outputs the network is built with by default.
        default_dataset: name understood by ``models.datasets.load_dataset``.
        description: one line for listings and reports.
    """

    name: str
    input_shape: tuple[int, int, int]
    num_classes: int
    default_dataset: str
    description: str


# name -> (spec, factory(num_classes) -> nn.Module)
_REGISTRY: dict[str, tuple[NetworkSpec, Callable[[int], nn.Module]]] = {}


def register(spec: NetworkSpec) -> Callable[[Callable[[int], nn.Module]], Callable[[int], nn.Module]]:
    """Decorator that registers ``factory(num_classes) -> nn.Module`` under ``spec.name``."""

    def deco(factory: Callable[[int], nn.Module]) -> Callable[[int], nn.Module]:
        if spec.name != spec.name.lower():
            raise ValueError(f"network={spec.name!r}: registered names are lower case (they "
                             f"are matched case-insensitively)")
        if spec.name in _REGISTRY:
            raise ValueError(f"network={spec.name!r} is registered twice")
        _REGISTRY[spec.name] = (spec, factory)
        return factory

    return deco


def names() -> list[str]:
    """Return the registered network names, in registration order."""
    return list(_REGISTRY)


def _lookup(name: str) -> tuple[NetworkSpec, Callable[[int], nn.Module]]:
    """The entry of ``name``, matched case-insensitively (``VGG8`` is ``vgg8``)."""
    entry = _REGISTRY.get(name.lower()) if isinstance(name, str) else None
    if entry is None:
        raise ValueError(f"network={name!r} is unknown; choose from: {', '.join(names())}")
    return entry


def canonical_name(name: str) -> str:
    """The registered spelling of ``name`` (case-insensitive match), e.g. ``VGG8`` -> ``vgg8``.

    Raises:
        ValueError: ``name`` is not registered (the message lists the known names).
    """
    return _lookup(name)[0].name


def get_spec(name: str) -> NetworkSpec:
    """Return the :class:`NetworkSpec` of a registered network.

    Raises:
        ValueError: ``name`` is not registered (the message lists the known names).
    """
    return _lookup(name)[0]


def build(name: str, num_classes: int | None = None, seed: int = 0) -> nn.Module:
    """Construct network ``name`` with weights initialised reproducibly from ``seed``.

    The global torch RNG is left untouched (initialisation runs in a forked RNG
    state), so building a model never changes what later random code draws.

    Args:
        name: a name from :func:`names`.
        num_classes: outputs of the last layer; ``None`` takes the spec's default.
        seed: integer seed for the weight initialisation.

    Returns:
        The model in eval mode, on the CPU, float32.

    Raises:
        ValueError: unknown ``name``, or ``num_classes``/``seed`` not a valid integer.
    """
    spec, factory = _lookup(name)
    if num_classes is None:
        num_classes = spec.num_classes
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes={num_classes!r} is invalid; use a positive integer or None")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed={seed!r} is invalid; use a non-negative integer")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = factory(num_classes)
    return model.eval()


def compute_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Return ``(qualified_name, module)`` of every Conv2d/Linear in forward-definition order.

    These are the layers a CIM array computes; everything else (ReLU, pooling,
    BatchNorm, residual adds) is digital periphery.
    """
    return [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
