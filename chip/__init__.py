"""Step 2: the chip estimator (Chip -> Tile -> PE -> Array with peripherals).

Importing this package never imports torch.
"""
from chip.config import ConfigError, HardwareConfig, apply_overrides
from chip.presets import preset, preset_names

__all__ = ["ConfigError", "HardwareConfig", "apply_overrides", "preset", "preset_names"]
