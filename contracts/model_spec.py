"""The model argument of step 1 (``--model``, ``MODEL =``, ``run(network=...)``), parsed without
torch: which of the four sources it names, and the short name its outputs are filed under.

Sources (docs/models.md):

* a registered network name, case-insensitive (``vgg8``, ``VGG8``) -> name in lower case;
* ``path/to/file.py:factory`` (a function returning an ``nn.Module``) -> ``<stem>-<factory>``;
* ``path/to/model.onnx`` -> ``<stem>``;
* ``path/to/model.tflite`` -> ``<stem>``.

The short name names the trace folder (``layer_record_<NAME>``) and ``results/<name>/``, so
step 2 can find step 1's output from the same config file without importing torch.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["ModelSpec", "parse_model_spec", "model_name", "FILE_SUFFIXES"]

#: file suffixes that name a model file, and the source kind each one is
FILE_SUFFIXES = {".py": "python", ".onnx": "onnx", ".tflite": "tflite"}


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model argument: ``kind`` is registered, python, onnx or tflite."""

    text: str
    kind: str
    name: str
    path: Path | None = None
    factory: str | None = None


def _bad(text: str, why: str) -> ValueError:
    return ValueError(f"model={text!r} {why}; give a registered name, path/to/file.py:factory, "
                      f"model.onnx or model.tflite")


def parse_model_spec(text: str) -> ModelSpec:
    """Split a model argument into its source kind, file, factory and short name.

    Only the form is checked here (no file is opened): a ``.py`` file needs ``:factory``, an
    ``.onnx``/``.tflite`` file takes none.
    """
    if not isinstance(text, str) or not text.strip():
        raise _bad(str(text), "is empty")
    text = text.strip()
    path_text, factory = text, None
    head, sep, tail = text.rpartition(":")
    if sep and head.lower().endswith(".py"):
        path_text, factory = head, tail
        if not factory.isidentifier():
            raise _bad(text, f"names factory {factory!r}, which is not a Python identifier")
    suffix = Path(path_text).suffix.lower()
    kind = FILE_SUFFIXES.get(suffix)
    if kind is None:
        if "/" in text or "\\" in text or ":" in text:
            raise _bad(text, "is not a .py, .onnx or .tflite file")
        return ModelSpec(text, "registered", text.lower())
    path = Path(path_text).expanduser()
    if kind == "python" and factory is None:
        raise _bad(text, "names a Python file without a factory (write file.py:factory, the "
                         "function that returns the nn.Module)")
    name = f"{path.stem}-{factory}" if factory else path.stem
    return ModelSpec(text, kind, name, path, factory)


def model_name(text: str) -> str:
    """The short name a model argument's outputs are filed under (module docstring)."""
    return parse_model_spec(text).name
