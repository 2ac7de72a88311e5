"""Network definitions, a registry by name, data sets and checkpoints.

    import models
    models.names()                       # ['mlp', 'lenet5', 'vgg8', 'resnet18-cifar', ...]
    net = models.build("vgg8", seed=0)   # reproducibly initialised, eval mode
    models.get_spec("VGG8").input_shape  # (3, 32, 32); names are case-insensitive

Auto-discovery: every ``models/<file>.py`` (not starting with ``_``) is imported here, so a
file that decorates its factory with ``@register(NetworkSpec(...))`` is registered without
editing any other file (docs/models.md). The built-in families come first, in a fixed order;
the other files follow in alphabetical order.

This package knows nothing about hardware; ``cim/`` and ``chip/`` consume its models.
"""
import importlib as _importlib
import pkgutil as _pkgutil

from . import registry
from .registry import NetworkSpec, build, canonical_name, compute_layers, get_spec, names

# importing a family module registers its networks (order = order of names())
from . import mlp, lenet, vgg, resnet  # noqa: E402,F401
from . import checkpoints, datasets  # noqa: E402,F401


def _discover() -> None:
    """Import every other module of this folder (registration happens on import)."""
    for info in sorted(_pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.ispkg:
            continue
        try:
            _importlib.import_module(f"{__name__}.{info.name}")
        except Exception as err:
            raise ImportError(f"models/{info.name}.py could not be imported while registering "
                              f"networks: {type(err).__name__}: {err}") from err


_discover()

__all__ = ["NetworkSpec", "names", "get_spec", "build", "compute_layers", "canonical_name",
           "checkpoints", "datasets", "registry"]
