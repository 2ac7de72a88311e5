"""Read the user's ``inferenceConfig.py`` into typed defaults, with a one-line error for any
problem in it (a syntax error, a misspelt field, a value out of range, a wrong type).

Only the two command lines read the file (``inference_sim.py`` and ``Chip.py`` pass its path);
the packages take the values as arguments, and their Python APIs fall back on the built-in
defaults below.
"""
from __future__ import annotations

import re
import runpy
import traceback
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

from contracts.config import ConfigError, HardwareConfig, unknown_key_message

__all__ = ["UserDefaults", "UserConfigError", "load_user_defaults", "default_trace_dir",
           "CONFIG_FILE"]

CONFIG_FILE = "inferenceConfig.py"


class UserConfigError(ValueError):
    """The user's config file cannot be used; the message names the file, line and problem."""


def default_trace_dir(network: str) -> str:
    """The folder step 1 writes and step 2 reads: layer_record_<NET> (NET: the model's short
    name, contracts.model_spec)."""
    from contracts.model_spec import model_name
    return f"layer_record_{model_name(network).upper()}"


@dataclass(frozen=True)
class UserDefaults:
    """What ``inferenceConfig.py`` sets (or the built-in defaults when there is no file)."""

    hardware: HardwareConfig = field(default_factory=HardwareConfig)
    model: str = "lenet5"
    dataset: str = "mnist5k"
    data_root: str | None = None
    trace_images: int = 1
    seed: int = 0
    results_dir: str = "results"
    trace_dir_of: Callable[[str], str] = default_trace_dir
    trace_dir: str | None = None         # TRACE_DIR: what Chip.py estimates by default
    source: str | None = None            # the file read (None: built-in defaults)

    def default_trace(self) -> str:
        return self.trace_dir or self.trace_dir_of(self.model)

    def results_folder(self, network: str) -> Path:
        return Path(self.results_dir) / network


# file name -> (field, expected type(s), allowed None)
_NAMES = {
    "HARDWARE": ("hardware", (HardwareConfig, dict), False),
    "MODEL": ("model", (str,), False),
    "NETWORK": ("model", (str,), False),
    "DATASET": ("dataset", (str,), False),
    "DATA_ROOT": ("data_root", (str, Path), True),
    "TRACE_IMAGES": ("trace_images", (int,), False),
    "SEED": ("seed", (int,), False),
    "RESULTS_DIR": ("results_dir", (str, Path), False),
    "TRACE_DIR": ("trace_dir", (str, Path), True),
}


def _where(path: Path, err: BaseException) -> str:
    """``file line N`` of the deepest frame in the user's file."""
    if isinstance(err, SyntaxError) and err.filename and Path(err.filename) == path:
        return f"{path.name} line {err.lineno}"
    lines = [f.lineno for f in traceback.extract_tb(err.__traceback__)
             if Path(f.filename).resolve() == path.resolve()]
    return f"{path.name} line {lines[-1]}" if lines else path.name


def _explain(err: BaseException) -> str:
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    match = re.search(r"unexpected keyword argument '(\w+)'", text)
    if isinstance(err, TypeError) and match:
        return unknown_key_message(match[1], [f.name for f in fields(HardwareConfig)])
    if isinstance(err, SyntaxError):
        return f"syntax error: {err.msg}"
    if isinstance(err, ConfigError):
        return text
    return f"{type(err).__name__}: {text}"


def _execute(path: Path) -> dict[str, Any]:
    try:
        return runpy.run_path(str(path), run_name="inferenceConfig")
    except KeyboardInterrupt:
        raise
    except BaseException as err:        # anything the user's file raises, SystemExit included
        raise UserConfigError(f"{_where(path, err)}: {_explain(err)}") from None


def _value(path: Path, name: str, value: Any, types: tuple, none_ok: bool) -> Any:
    if value is None and none_ok:
        return None
    if isinstance(value, bool) or not isinstance(value, types):
        allowed = " or ".join(t.__name__ for t in types) + (" or None" if none_ok else "")
        raise UserConfigError(f"{path.name}: {name}={value!r} has type "
                              f"{type(value).__name__}; expected {allowed}")
    if name == "HARDWARE" and isinstance(value, dict):
        try:
            return HardwareConfig.from_dict(value)
        except ConfigError as err:
            raise UserConfigError(f"{path.name}: HARDWARE: {err}") from None
    if name in ("TRACE_IMAGES",) and value < 1 or name == "SEED" and value < 0:
        raise UserConfigError(f"{path.name}: {name}={value!r} must be "
                              f"{'>= 1' if name == 'TRACE_IMAGES' else '>= 0'}")
    if name in ("MODEL", "NETWORK", "DATASET", "RESULTS_DIR") and not str(value).strip():
        raise UserConfigError(f"{path.name}: {name} is empty; give a name")
    return str(value) if isinstance(value, Path) else value


def load_user_defaults(path: str | Path | None) -> UserDefaults:
    """The defaults of the config file at ``path`` (None or a missing file: built-in ones)."""
    if path is None or not Path(path).is_file():
        return UserDefaults()
    path = Path(path)
    namespace = _execute(path)
    values: dict[str, Any] = {"source": str(path)}
    for name, (key, types, none_ok) in _NAMES.items():
        if name in namespace and not (name == "NETWORK" and "MODEL" in namespace):
            values[key] = _value(path, name, namespace[name], types, none_ok)
    trace_dir_of = namespace.get("trace_dir")
    if callable(trace_dir_of):
        values["trace_dir_of"] = trace_dir_of
    return UserDefaults(**values)
