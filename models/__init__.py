"""Network definitions, a registry by name, data sets and checkpoints.

    import models
    models.names()                       # ['mlp', 'lenet5', 'vgg8', 'resnet18-cifar', 'resnet18-imagenet']
    net = models.build("vgg8", seed=0)   # reproducibly initialised, eval mode
    models.get_spec("vgg8").input_shape  # (3, 32, 32)

This package knows nothing about hardware; ``cim/`` and ``chip/`` consume its models.
"""
from . import registry
from .registry import NetworkSpec, build, compute_layers, get_spec, names

# importing a family module registers its networks (order = order of names())
from . import mlp, lenet, vgg, resnet  # noqa: E402,F401
from . import checkpoints, datasets  # noqa: E402,F401

__all__ = ["NetworkSpec", "names", "get_spec", "build", "compute_layers", "checkpoints", "datasets", "registry"]
