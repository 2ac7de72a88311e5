"""A design space: the sources of traces (networks run through step 1, or trace folders) and
the configs to price on them, as points with stable keys.

    space = Space(sources=[Source.network("lenet5"), Source.network("mlp")],
                  base=HardwareConfig(operation_mode="parallel"),
                  step1=Step1Settings(eval_images=200))
    points = space.grid([parse_axis("adc_bits=4,5"), parse_axis("cols_per_adc=4,8")])

A point's ``key`` names what it computes (source, config, activity model, step-1 settings): a
re-run skips the keys already in the results. Its ``step1_key`` names the step-1 run its
trace comes from: the network, data, seeds and the accuracy fields that have an effect at its
config (HardwareConfig.accuracy_fields less contracts.effects' fields without effect), so
points that differ only in cost share one step-1 run. Torch-free.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from chip.sweep import SweepAxis, no_effect, sweep_points
from contracts.config import ConfigError, HardwareConfig
from contracts.effects import ineffective

__all__ = ["Source", "Step1Settings", "Point", "Space", "accuracy_signature", "digest"]


def digest(value: Any) -> str:
    """16 hex digits of the sha256 of ``value``'s canonical JSON."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def accuracy_signature(config: HardwareConfig) -> dict[str, Any]:
    """The accuracy fields that have an effect at ``config``, with their values: configs
    with one signature compute the same (step 1 gives them one accuracy and one trace)."""
    dead = ineffective(config, "accuracy")
    return {name: getattr(config, name) for name in HardwareConfig.accuracy_fields()
            if name not in dead}


@dataclass(frozen=True)
class Source:
    """Where a point's trace comes from: a network run through step 1 (``network``, with
    ``dataset``; None: its default), or a trace folder priced as it is (``trace``)."""

    network: str | None = None
    dataset: str | None = None
    trace: str | None = None

    @classmethod
    def from_network(cls, name: str, dataset: str | None = None) -> "Source":
        """A network to run step 1 on (checked when step 1 runs: a bad one is a failed point;
        the command line checks the names first, check_source)."""
        return cls(network=name, dataset=dataset)

    @classmethod
    def from_trace(cls, folder: str | os.PathLike) -> "Source":
        path = Path(folder)
        if not (path / "manifest.json").is_file():
            raise ConfigError(f"--trace {str(folder)!r} is not a trace folder (no manifest.json)")
        return cls(trace=str(path.resolve()))

    @property
    def runs_step1(self) -> bool:
        return self.network is not None

    @property
    def label(self) -> str:
        """The ``network`` column of the results."""
        if self.network is not None:
            return self.network if self.dataset is None else f"{self.network}/{self.dataset}"
        return Path(self.trace).name


@dataclass(frozen=True)
class Step1Settings:
    """What step 1 runs on besides the config: images scored and traced, and the seed."""

    eval_images: int | None = 200
    images: int = 1
    seed: int = 0

    def __post_init__(self):
        for name in ("eval_images", "images", "seed"):
            value = getattr(self, name)
            if value is None and name == "eval_images":
                continue
            low = 0 if name == "seed" else 1
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"{name}={value!r} must be an integer >= {low}")


@dataclass(frozen=True)
class Point:
    """One config on one source. ``values``: the swept fields and their values."""

    source: Source
    values: dict
    config: HardwareConfig
    activity: str
    step1: Step1Settings
    no_effect: str = ""
    key: str = field(init=False)
    step1_key: str | None = field(init=False)

    def __post_init__(self):
        what = {"source": self.source.label if self.source.runs_step1 else self.source.trace,
                "config": self.config.config_hash(), "activity": self.activity}
        step1 = None
        if self.source.runs_step1:
            what["step1"] = vars(self.step1)
            step1 = digest({"network": self.source.network, "dataset": self.source.dataset,
                            "settings": vars(self.step1),
                            "accuracy": accuracy_signature(self.config)})
        object.__setattr__(self, "key", digest(what))
        object.__setattr__(self, "step1_key", step1)

    def task(self) -> dict[str, Any]:
        """What a worker needs to price the point (plain data, sent to the workers)."""
        return {"key": self.key, "network": self.source.label, "trace": self.source.trace,
                "values": dict(self.values), "config": self.config.to_dict(),
                "activity": self.activity, "no_effect": self.no_effect,
                "step1_key": self.step1_key}

    def step1_task(self, cache: str | None, threads: int) -> dict[str, Any]:
        """What a worker needs to run this point's step 1."""
        return {"key": self.step1_key, "network": self.source.network,
                "dataset": self.source.dataset, "config": self.config.to_dict(),
                "eval_images": self.step1.eval_images, "images": self.step1.images,
                "seed": self.step1.seed, "cache": cache, "threads": threads}


@dataclass
class Space:
    """Sources x configs on top of ``base``."""

    sources: Sequence[Source]
    base: HardwareConfig = field(default_factory=HardwareConfig)
    step1: Step1Settings = field(default_factory=Step1Settings)
    activity: str = "trace"

    def __post_init__(self):
        if not self.sources:
            raise ConfigError("name at least one --network or --trace")
        labels = [s.label for s in self.sources]
        if len(set(labels)) != len(labels):
            raise ConfigError(f"a source is named twice: {', '.join(labels)}")

    @property
    def steps(self) -> tuple[str, ...]:
        """What the points' results show: the cost always, the accuracy when step 1 runs."""
        return ("cost", "accuracy") if any(s.runs_step1 for s in self.sources) else ("cost",)

    def point(self, source: Source, values: dict, config: HardwareConfig,
              dead: str = "") -> Point:
        return Point(source, dict(values), config, self.activity, self.step1, dead)

    def grid(self, axes: Sequence[SweepAxis]) -> list[Point]:
        """Every combination of the axes' values on every source, validated before anything
        runs (chip.sweep.sweep_points); sources first, then the axes in order."""
        configs = sweep_points(self.base, axes, self.steps)
        out = []
        for source in self.sources:
            steps = ("cost", "accuracy") if source.runs_step1 else ("cost",)
            for p in configs:
                out.append(self.point(source, p.values, p.config, no_effect(p, steps)))
        return out


def check_source(network: str, dataset: str | None) -> None:
    """A misspelt network or data set of the command line, in one line before the cluster
    starts (not as failed points that every re-run skips)."""
    _check_network(network)
    if dataset is not None:
        _check_dataset(dataset)


def _check_network(name: str) -> None:
    from contracts.model_spec import parse_model_spec
    spec = parse_model_spec(name)                      # ValueError: the form is wrong
    if spec.kind == "registered":
        import models
        models.canonical_name(spec.text)               # ValueError lists the known names
    elif not spec.path.is_file():
        raise ConfigError(f"--network {name!r}: file {str(spec.path)!r} does not exist")


def _check_dataset(dataset: str) -> None:
    from models.datasets import dataset_names
    if dataset not in dataset_names() and not Path(dataset).expanduser().exists():
        raise ConfigError(f"--dataset {dataset!r} is neither a data set ("
                          f"{', '.join(dataset_names())}) nor an existing file or folder")
