"""One model argument for every source: resolve ``--model`` / ``MODEL =`` / ``run(network=)``
to a network step 1 can run (docs/models.md).

==============================  ====================================================
argument                        what it becomes
==============================  ====================================================
``vgg8``, ``VGG8``              a registered network (models.names(), case-insensitive);
                                built by cim.run with the data set's class count
``path/net.py:factory``         ``factory()`` from that file, an ``nn.Module``
``path/model.onnx``             the ONNX graph converted to torch (cim.onnx_import)
``path/model.tflite``           the int8 TFLite graph with its own codes (cim.tflite_import)
==============================  ====================================================

Input shape (C, H, W; or C, L for a Conv1d network; or F for an MLP), first found wins:
``--input-shape`` (``input_shape=``), the returned module's ``input_shape`` attribute, the
file's module-level ``INPUT_SHAPE``; ONNX and TFLite files carry their own. A file may name
its default data set with a module-level ``DATASET``.
"""
from __future__ import annotations

import hashlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from contracts.model_spec import ModelSpec, parse_model_spec

__all__ = ["ModelSource", "resolve_model", "parse_input_shape"]


@dataclass
class ModelSource:
    """A resolved model argument.

    Attributes:
        name: short name of the outputs (trace folder, results/<name>/).
        kind: registered, python, onnx or tflite.
        module: the network (None for a registered one: cim.run builds it).
        input_shape: one input without the batch dimension, or None if unknown.
        default_dataset: the data set to use when none is given (None: must be given).
        description: one line for reports.
    """

    name: str
    kind: str
    text: str
    module: nn.Module | None
    input_shape: tuple[int, ...] | None
    default_dataset: str | None
    description: str


def parse_input_shape(text) -> tuple[int, ...] | None:
    """``"3,224,224"`` (or a sequence of ints) -> (3, 224, 224); None passes through."""
    if text is None:
        return None
    parts = text.split(",") if isinstance(text, str) else list(text)
    try:
        shape = tuple(int(str(p).strip()) for p in parts)
        ok = 1 <= len(shape) <= 3 and all(v > 0 for v in shape) and \
            all(not isinstance(p, (bool, float)) for p in parts)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"input_shape={text!r} is invalid; use 1 to 3 comma-separated positive "
                         f"integers without the batch: C,H,W (e.g. 3,224,224), C,L or F")
    return shape


def resolve_model(model, input_shape=None) -> ModelSource:
    """A :class:`ModelSource` for a model argument (module docstring).

    Raises:
        ValueError: unknown name, missing or unreadable file, bad factory, bad input shape,
            unsupported operators (the message lists every one).
    """
    shape = parse_input_shape(input_shape)
    spec = parse_model_spec(model)
    if spec.kind == "registered":
        return _registered(spec, shape)
    if not spec.path.is_file():
        raise ValueError(f"model={spec.text!r}: file {str(spec.path)!r} does not exist")
    if spec.kind == "python":
        return _python(spec, shape)
    if spec.kind == "onnx":
        from .onnx_import import load_onnx
        module, file_shape = load_onnx(spec.path)
    else:
        from .tflite_import import load_tflite
        module, file_shape = load_tflite(spec.path)
    if shape is not None and file_shape is not None and shape != file_shape:
        raise ValueError(f"input_shape={','.join(map(str, shape))} disagrees with "
                         f"{spec.path.name}'s input {','.join(map(str, file_shape))}")
    return ModelSource(spec.name, spec.kind, spec.text, module, shape or file_shape, None,
                       f"{spec.kind} model {spec.path.name}")


def _registered(spec: ModelSpec, shape) -> ModelSource:
    import models
    name = models.canonical_name(spec.text)           # ValueError lists the known names
    net = models.get_spec(name)
    if shape is not None and shape != tuple(net.input_shape):
        raise ValueError(f"input_shape={','.join(map(str, shape))} does not apply to the "
                         f"registered network {name!r} (built for "
                         f"{','.join(map(str, net.input_shape))})")
    return ModelSource(name, "registered", spec.text, None, tuple(net.input_shape),
                       net.default_dataset, net.description)


def _load_file(path: Path):
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
    name = f"neuropysim_user_model_{path.stem}_{digest}"
    loader_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[name] = module        # torch.fx and dataclasses look classes up there
    try:
        loader_spec.loader.exec_module(module)
    except Exception as err:
        sys.modules.pop(name, None)
        raise ValueError(f"model file {str(path)!r} cannot be imported: {type(err).__name__}: "
                         f"{str(err).splitlines()[0] if str(err) else ''}") from None
    return module


def _python(spec: ModelSpec, shape) -> ModelSource:
    file_module = _load_file(spec.path)
    factory = getattr(file_module, spec.factory, None)
    if not callable(factory):
        found = sorted(n for n, v in vars(file_module).items()
                       if callable(v) and not n.startswith("_") and
                       getattr(v, "__module__", None) == file_module.__name__)
        raise ValueError(f"model={spec.text!r}: {spec.path.name} has no function "
                         f"{spec.factory!r} (it defines: {', '.join(found) or 'nothing callable'})")
    try:
        net = factory()
    except Exception as err:
        raise ValueError(f"model={spec.text!r}: {spec.factory}() raised {type(err).__name__}: "
                         f"{str(err).splitlines()[0] if str(err) else ''}") from None
    if not isinstance(net, nn.Module):
        raise ValueError(f"model={spec.text!r}: {spec.factory}() returned "
                         f"{type(net).__name__}, not a torch nn.Module")
    for where in (getattr(net, "input_shape", None), getattr(file_module, "INPUT_SHAPE", None)):
        if shape is None and where is not None:
            shape = parse_input_shape(where)
    dataset = getattr(file_module, "DATASET", None)
    return ModelSource(spec.name, "python", spec.text, net.eval(), shape, dataset,
                       f"{spec.factory}() from {spec.path.name}")
