"""Where a run's hardware config comes from: one rule for both steps, the command lines and the
Python API.

Step 1 builds its config from three sources, each over the one before:

    inferenceConfig.py's HARDWARE (the API: built-in defaults)  <  --preset NAME  <  --set key=value

A preset is a whole config (our defaults plus the fields it names), so it replaces the file.
Step 1 records the result, and the sources, in the trace manifest (:func:`step1_record`).

Step 2 prices the hardware the trace was made with, changed by what the user changed since:

    the trace's recorded config  <  fields edited in inferenceConfig.py since step 1
                                 <  --preset NAME  <  --set key=value

"Edited since step 1" compares the file with the snapshot step 1 recorded (when step 1 used a
preset the file was not in effect and is not applied; a trace made from Python is compared
with the built-in defaults). Every accuracy field that then differs from the trace is named in
one warning line: the trace's recorded accuracy no longer holds for it. A trace without a
recorded config (a DNN+NeuroSim import, a synthetic trace) is priced with the file (or preset)
and --set, as step 1 would build it.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from contracts.config import ConfigError, HardwareConfig, parse_override, unknown_key_message
from contracts.effects import ineffective
from contracts.presets import preset as preset_config

__all__ = ["Provenance", "step1_config", "step1_record", "step2_config", "typed_overrides"]

_FIELDS = tuple(f.name for f in dataclasses.fields(HardwareConfig))
_ACCURACY = frozenset(HardwareConfig.accuracy_fields())


def typed_overrides(overrides: Sequence[str] | Mapping[str, Any] | None) -> dict[str, Any]:
    """``key=value`` strings (as given to --set) or a mapping -> {field: typed value}."""
    if not overrides:
        return {}
    if isinstance(overrides, Mapping):
        unknown = sorted(set(overrides) - set(_FIELDS))
        if unknown:
            raise ConfigError(unknown_key_message(unknown[0], _FIELDS))
        return dict(overrides)
    if isinstance(overrides, str):
        raise ConfigError(f"overrides={overrides!r} must be a list of key=value strings")
    return dict(parse_override(text) for text in overrides)


def step1_config(file_config: HardwareConfig | None, preset: str | None,
                 overrides: Sequence[str] | Mapping[str, Any] | None = None) -> HardwareConfig:
    """Step 1's config: the file (or built-in defaults), replaced by a preset, then --set."""
    base = preset_config(preset) if preset else (file_config or HardwareConfig())
    changes = typed_overrides(overrides)
    return base.replace(**changes) if changes else base


def step1_record(file_config: HardwareConfig | None, preset: str | None,
                 overrides: Sequence[str] | Mapping[str, Any] | None = None,
                 file_label: str | None = None) -> dict[str, Any]:
    """What the trace manifest records of step 1's sources (``provenance``)."""
    in_effect = file_config if (file_config is not None and not preset) else None
    return {"preset": preset or None,
            "file": in_effect.to_dict() if in_effect is not None else None,
            "file_label": file_label if in_effect is not None else None,
            "overrides": typed_overrides(overrides)}


@dataclass(frozen=True)
class Provenance:
    """What step 2 priced and how its config relates to the trace's."""

    config_hash: str
    preset: str | None                      # the preset in effect (step 2's, or the trace's)
    trace: str | None                       # the trace folder (None: an in-memory trace)
    trace_config_hash: str | None           # the config step 1 recorded (None: not recorded)
    trace_accuracy: dict[str, Any] | None   # the accuracy step 1 recorded with it
    changed: dict[str, dict[str, Any]] = field(default_factory=dict)  # fields != the trace
    notes: tuple[str, ...] = ()
    #: accuracy fields without effect at the priced config (contracts.effects)
    inert: frozenset[str] = frozenset()

    def accuracy_changes(self) -> dict[str, dict[str, Any]]:
        """Changed fields that change what the hardware computes (so the trace's accuracy
        no longer holds); a field without effect at this config does not count."""
        return {k: v for k, v in self.changed.items() if k in _ACCURACY and k not in self.inert}

    def warning(self) -> str | None:
        """One line naming every accuracy field that differs from the trace, or None."""
        diff = self.accuracy_changes()
        if not diff:
            return None
        parts = ", ".join(f"{k}={v['now']!r} (trace: {v['trace']!r}, from {v['by']})"
                          for k, v in sorted(diff.items()))
        verb = "differs" if len(diff) == 1 else "differ"
        if not self.trace_accuracy or self.trace_accuracy.get("hardware") is None:
            return f"warning: {parts} {verb} from the config the trace was made with"
        return (f"warning: {parts} {verb} from the trace; its recorded accuracy "
                f"({_accuracy_text(self.trace_accuracy)}) no longer matches the priced hardware")

    def head_line(self) -> str:
        """The report's first line: config, preset, trace and the trace's accuracy."""
        source = f"preset {self.preset}" if self.preset else "no preset"
        trace = self.trace or "in-memory trace"
        recorded = (f"trace config {self.trace_config_hash}" if self.trace_config_hash
                    else "no recorded config")
        changed = (f"; changed from the trace: {', '.join(sorted(self.changed))}"
                   if self.changed and self.trace_config_hash else "")
        return (f"priced config {self.config_hash} ({source}) on {trace} ({recorded}, "
                f"accuracy {_accuracy_text(self.trace_accuracy)}){changed}")

    def to_dict(self) -> dict[str, Any]:
        return {"config_hash": self.config_hash, "preset": self.preset, "trace": self.trace,
                "trace_config_hash": self.trace_config_hash,
                "trace_accuracy": self.trace_accuracy, "changed_from_trace": self.changed,
                "notes": list(self.notes)}


def _accuracy_text(accuracy: dict[str, Any] | None) -> str:
    if not accuracy:
        return "not recorded"
    if accuracy.get("cost_only") or accuracy.get("hardware") is None:
        return "not measured (cost-only trace)"
    return f"hardware {100 * accuracy['hardware']:.2f} %"


def _recorded_config(manifest: Mapping[str, Any]) -> dict[str, Any] | None:
    config = manifest.get("config") if isinstance(manifest, Mapping) else None
    if not isinstance(config, Mapping) or not config:
        return None
    return {k: v for k, v in config.items() if k in _FIELDS}


def _file_edits(file_config: HardwareConfig, recorded_sources: Mapping[str, Any] | None,
                notes: list[str]) -> dict[str, Any]:
    """Fields of ``file_config`` changed since step 1 (see the module docstring)."""
    if not recorded_sources:                        # a trace older than provenance records
        return {k: v for k, v in file_config.to_dict().items() if k not in _ACCURACY}
    if recorded_sources.get("preset"):
        notes.append(f"the trace was made with preset {recorded_sources['preset']!r}; "
                     f"inferenceConfig.py's HARDWARE is not applied (give --preset or --set "
                     f"to change the hardware)")
        return {}
    snapshot = recorded_sources.get("file") or HardwareConfig().to_dict()
    now = file_config.to_dict()
    return {k: v for k, v in now.items() if k in snapshot and snapshot[k] != v}


def _base_and_file_layer(recorded: dict[str, Any], manifest: Mapping[str, Any],
                         file_config: HardwareConfig | None, notes: list[str]
                         ) -> tuple[dict[str, Any], dict[str, Any]]:
    """(starting fields, fields the file changes) for a trace with a recorded config."""
    if set(recorded) != set(_FIELDS):
        # partial (a DNN+NeuroSim import records its precisions and array size): the file,
        # or our defaults, complete it, the recorded fields win
        base = (file_config or HardwareConfig()).to_dict()
        return dict(base, **recorded), {}
    if file_config is None:
        return dict(recorded), {}
    return dict(recorded), _file_edits(file_config, manifest.get("provenance"), notes)


def step2_config(manifest: Mapping[str, Any], *, file_config: HardwareConfig | None = None,
                 preset: str | None = None,
                 overrides: Sequence[str] | Mapping[str, Any] | None = None,
                 config: HardwareConfig | None = None, trace: str | None = None,
                 file_label: str = "inferenceConfig.py"
                 ) -> tuple[HardwareConfig, Provenance]:
    """Step 2's config for a trace with this ``manifest`` and its provenance.

    ``config`` given: it is used as it is (the explicit API choice) and compared with the
    trace. Otherwise the rule of the module docstring, with ``file_config`` the user's file
    (None: no file, as from Python)."""
    manifest = manifest if isinstance(manifest, Mapping) else {}
    recorded = _recorded_config(manifest)
    sources = manifest.get("provenance") if isinstance(manifest.get("provenance"), Mapping) \
        else None
    notes: list[str] = []
    by: dict[str, str] = {}
    if config is not None:
        final, in_effect = config, None
        by = dict.fromkeys(_FIELDS, "the config passed in")
    elif recorded is None:
        final, in_effect = step1_config(file_config, preset, overrides), preset
    else:
        merged, file_layer = _base_and_file_layer(recorded, manifest, file_config, notes)
        layers = [(file_label, file_layer)]
        if preset:
            layers.append((f"--preset {preset}", preset_config(preset).to_dict()))
        layers.append(("--set", typed_overrides(overrides)))
        for source, changes in layers:
            for key, value in changes.items():
                if merged.get(key) != value:
                    merged[key], by[key] = value, source
        final = HardwareConfig.from_dict(merged)
        in_effect = preset or (sources or {}).get("preset")
    changed = {}
    if recorded is not None:
        changed = {k: {"trace": recorded[k], "now": getattr(final, k), "by": by.get(k, "?")}
                   for k in _FIELDS if k in recorded and recorded[k] != getattr(final, k)}
    accuracy = manifest.get("accuracy")
    return final, Provenance(
        config_hash=final.config_hash(), preset=in_effect, trace=trace,
        trace_config_hash=(manifest.get("config_hash") or None) if recorded else None,
        trace_accuracy=dict(accuracy) if isinstance(accuracy, Mapping) and accuracy else None,
        changed=changed, notes=tuple(notes), inert=frozenset(ineffective(final, "accuracy")))
