"""Step 2: the chip estimator (Chip -> Tile -> PE -> Array with peripherals).

Importing this package never imports torch. `chip.estimate(trace, config)` is the Python
API of `Chip.py`; it is loaded on first use so that `import chip` stays light.
"""
from contracts.config import ConfigError, HardwareConfig, apply_overrides
from contracts.presets import preset, preset_names

__all__ = ["ConfigError", "HardwareConfig", "apply_overrides", "estimate", "preset",
           "preset_names"]


def __getattr__(name):
    if name in ("estimate", "ChipReport"):
        import importlib

        return getattr(importlib.import_module("chip.estimator"), name)
    raise AttributeError(f"module 'chip' has no attribute {name!r}")
