"""``Accelerator``: one network on one CIM chip, as a Python object.

    acc = Accelerator("lenet5", preset="rram-realistic")
    acc.configure(operation_mode="parallel", adc_bits=5)
    hit = acc.inject_faults(0.01, kind="stuck_at")       # cells hit on the programmed chip
    result = acc.profile("mnist5k", eval_images=200)     # accuracy three ways + statistics
    acc.statistics()                                     # the last profile's statistics

It is a thin holder of the arguments of the two steps: ``profile`` runs step 1
(``cim.run.run``, the function ``inference_sim.py`` calls) into a temporary trace and step 2
(``chip.estimator.estimate``, the function ``Chip.py`` calls) on it, so it computes nothing
the command lines do not. It lives in ``neuropysim`` (not ``cim`` as issue 14 first named
it) because it needs both steps and ``cim`` and ``chip`` never import each other
(docs/architecture.md).
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from contracts.config import ConfigError, HardwareConfig
from contracts.provenance import step1_config, typed_overrides

from .statistics import profile_statistics

__all__ = ["Accelerator", "Profile", "FAULT_KINDS"]

#: fault kinds of :meth:`Accelerator.inject_faults` -> the fraction stuck at LRS (None: the
#: configured ``stuck_at_lrs_fraction``)
FAULT_KINDS: dict[str, float | None] = {"stuck_at": None, "stuck_at_hrs": 0.0,
                                        "stuck_at_lrs": 1.0}


@dataclass
class Profile:
    """What :meth:`Accelerator.profile` measured."""

    accuracy: dict[str, float | None]        # float, quantized, hardware (fractions)
    statistics: dict[str, Any]               # neuropysim.statistics.profile_statistics
    eval_images: int
    calibration: dict[str, Any] = field(default_factory=dict)   # cim.calibration table
    step1: Any = None                        # cim.run.InferenceResult
    chip_summary: dict[str, Any] = field(default_factory=dict)  # chip.estimator summary


class Accelerator:
    """A network (a registered name, a model file argument or an nn.Module) on the chip of
    ``config`` (a HardwareConfig, a dict of its fields, or None: the built-in defaults),
    replaced by ``preset`` when given (contracts.presets)."""

    def __init__(self, model: Any = "lenet5", config: HardwareConfig | Mapping | None = None,
                 *, preset: str | None = None, checkpoint: str | Path | None = None,
                 data_root: str | Path | None = None, seed: int = 0,
                 warn: Callable[[str], None] | None = None) -> None:
        if isinstance(config, Mapping):
            config = HardwareConfig.from_dict(dict(config))
        if config is not None and not isinstance(config, HardwareConfig):
            raise ValueError(f"config={type(config).__name__} is invalid; pass a "
                             f"HardwareConfig, a dict of its fields, or None")
        self.model = model
        self.config = step1_config(config, preset)
        self.checkpoint, self.data_root, self.seed = checkpoint, data_root, int(seed)
        self.warn = warn
        # the LRS share 'stuck_at' faults use: the config's, not one a previous
        # inject_faults(kind='stuck_at_lrs' / '_hrs') set
        self._lrs_fraction = self.config.stuck_at_lrs_fraction
        self.last: Profile | None = None

    def configure(self, overrides: Sequence[str] | Mapping[str, Any] | None = None,
                  **fields: Any) -> HardwareConfig:
        """Change config fields (``configure(adc_bits=4)``, or ``["adc_bits=4"]`` as on the
        command line); the new config is validated as a whole and returned."""
        changes = dict(typed_overrides(overrides), **typed_overrides(fields))
        self.config = self.config.replace(**changes) if changes else self.config
        self._lrs_fraction = changes.get("stuck_at_lrs_fraction", self._lrs_fraction)
        return self.config

    def inject_faults(self, rate: float, kind: str = "stuck_at") -> int:
        """Set stuck-at faults at ``rate`` (a fraction of the cells; ``kind``: 'stuck_at'
        with the configured LRS fraction, 'stuck_at_hrs', 'stuck_at_lrs'), program the chip
        as a profile will (same seed: the same cells) and return the cells hit."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind={kind!r} is not allowed; choose from: "
                             f"{', '.join(FAULT_KINDS)}")
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise ConfigError(f"rate={rate!r} must be a fraction in [0, 1]")
        lrs = FAULT_KINDS[kind]
        self.config = self.config.replace(stuck_at_fault_rate=float(rate),
                                          stuck_at_lrs_fraction=self._lrs_fraction
                                          if lrs is None else lrs)
        from cim.run import programmed_statistics
        stats = programmed_statistics(self.config, network=self.model,
                                      checkpoint=self.checkpoint, data_root=self.data_root,
                                      seed=self.seed, warn=self.warn)
        return int(stats["faults"])

    def profile(self, data: str | Path | None = None, *, eval_images: int | None = None,
                images: int = 1, calibrate: str | Sequence[str] | None = None,
                **step1: Any) -> Profile:
        """Run the network on ``data`` (a data set argument as ``--dataset``; None: the
        network's own) with the hardware in the loop (step 1), price its trace on the chip
        (step 2) and return the accuracy three ways and the statistics. ``calibrate``: the
        calibration stages (cim.calibration); other keyword arguments go to cim.run.run."""
        from chip.estimator import estimate
        from cim.run import run
        with tempfile.TemporaryDirectory(prefix="neuropysim-profile-") as folder:
            trace_dir = Path(folder) / "trace"
            result = run(self.config, network=self.model, dataset=data,
                         data_root=self.data_root, checkpoint=self.checkpoint, images=images,
                         eval_images=eval_images, seed=self.seed, trace_dir=trace_dir,
                         warn=self.warn, calibrate=calibrate, **step1)
            if result.cost_only:
                raise ValueError(f"profile needs labelled data to score; {data!r} gives a "
                                 f"cost-only run")
            report = estimate(trace_dir)
        self.last = Profile(accuracy=dict(result.accuracy),
                            statistics=profile_statistics(result, report.summary),
                            eval_images=result.eval_images,
                            calibration=dict(result.calibration_pipeline), step1=result,
                            chip_summary=dict(report.summary))
        return self.last

    def statistics(self) -> dict[str, Any]:
        """The statistics of the last :meth:`profile` (neuropysim.statistics)."""
        if self.last is None:
            raise ValueError("no statistics yet: call profile(data) first")
        return dict(self.last.statistics)
