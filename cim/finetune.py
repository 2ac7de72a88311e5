"""Stage ``finetune`` of the calibration pipeline (cim.calibration): hardware-aware fine-tuning.

The network is trained on the calibration split with the hardware in the forward pass: every
compute layer runs in ``hw_train`` mode (cim.layers), whose value is the crossbar's reading -
device effects (faults, programming error, variation, drift, read noise), IR drop, the ADC
with its non-idealities, the digital corrections - and whose gradient is the fake-quantized
layer's (straight-through estimator over the hardware's error). After every optimizer step
the crossbars are programmed again with the new weights onto the same chip (the same seed:
the same stuck cells and device draws; cim.passes.program, ADC ranges calibrated again), as
a chip is reprogrammed in place.

Recipe (ours, chosen on LeNet-5's calibration split; docs/calibration.md): Adam, learning
rate ``lr`` with cosine decay to 0 over ``steps`` steps, batches of ``batch`` images drawn
with a seeded generator; loss = cross-entropy on the labels + ``kd_weight`` * T^2 *
KL(float teacher || hardware) at temperature T = ``temperature`` (the teacher: the float
network before fine-tuning). The weights, biases, BatchNorm shifts and the layers' digital
corrections are trained; activation clip values stay as calibrated. A held-out part of the
calibration split (``validation_images``) is read on the hardware every ``validate_every``
steps, and the state with the best held-out accuracy is kept - the state before fine-tuning
included, so the stage never leaves the held-out accuracy lower than it found it.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from .convert import set_mode
from .layers import CIMLayer
from .passes import evaluate

__all__ = ["FineTuneSettings", "finetune"]


@dataclass(frozen=True)
class FineTuneSettings:
    """The fine-tuning recipe (module docstring)."""

    steps: int = 300
    lr: float = 2e-4
    batch: int = 64
    temperature: float = 2.0
    kd_weight: float = 1.0
    validation_images: int = 256
    validate_every: int = 25

    def __post_init__(self) -> None:
        for name in ("steps", "batch", "validation_images", "validate_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"finetune {name}={value!r} is invalid; use a positive integer")
        for name in ("lr", "temperature"):
            if not getattr(self, name) > 0:
                raise ValueError(f"finetune {name}={getattr(self, name)!r} must be > 0")
        if not self.kd_weight >= 0:
            raise ValueError(f"finetune kd_weight={self.kd_weight!r} must be >= 0")


def _corrections(layers: list[CIMLayer]) -> list[torch.Tensor]:
    """The layers' digital corrections, as leaves the optimizer trains."""
    found = []
    for layer in layers:
        for name in ("hw_gain", "hw_bias"):
            value = getattr(layer, name)
            if value is not None:
                value = value.detach().clone().requires_grad_(True)
                setattr(layer, name, value)
                found.append(value)
    return found


def _snapshot(model: nn.Module, layers: list[CIMLayer]) -> dict[str, Any]:
    return {"model": copy.deepcopy(model.state_dict()),
            "corrections": [(None if l.hw_gain is None else l.hw_gain.detach().clone(),
                             None if l.hw_bias is None else l.hw_bias.detach().clone())
                            for l in layers]}


def _restore(model: nn.Module, layers: list[CIMLayer], state: dict[str, Any]) -> None:
    model.load_state_dict(state["model"])
    for layer, (g, b) in zip(layers, state["corrections"]):
        layer.hw_gain, layer.hw_bias = g, b


def finetune(model: nn.Module, layers: list[CIMLayer], images: torch.Tensor,
             labels: torch.Tensor, reprogram: Callable[[], None], batch: int, seed: int,
             settings: FineTuneSettings = FineTuneSettings(),
             log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Fine-tune ``model`` (module docstring); ``reprogram()`` programs the crossbars with
    the current weights onto the chip. Returns what it did (settings, held-out accuracy at
    each check, the step kept, time)."""
    s = settings
    hold = min(s.validation_images, len(images) // 4)
    if hold < 1 or len(images) - hold < 1:
        raise ValueError(f"fine-tuning needs labelled calibration images; got {len(images)}")
    x_val, y_val = images[:hold], labels[:hold]
    x_train, y_train = images[hold:], labels[hold:]
    set_mode(model, "float")
    with torch.no_grad():
        teacher = torch.cat([model(x_train[i:i + 256]) for i in range(0, len(x_train), 256)])
    params = [p for p in model.parameters() if p.requires_grad] + _corrections(layers)
    opt = torch.optim.Adam(params, lr=s.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: 0.5 * (1 + math.cos(math.pi * k / s.steps)))
    gen = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()

    def held_out() -> float:
        reprogram()
        set_mode(model, "hw")
        return evaluate(model, x_val, y_val, batch)

    checks = [(0, held_out())]
    best = (checks[0][1], 0, _snapshot(model, layers))
    for step in range(1, s.steps + 1):
        reprogram()
        idx = torch.randint(0, len(x_train), (s.batch,), generator=gen)
        set_mode(model, "hw_train")
        out = model(x_train[idx])
        loss = F.cross_entropy(out, y_train[idx])
        if s.kd_weight:
            soft = F.log_softmax(out / s.temperature, 1)
            loss = loss + s.kd_weight * s.temperature ** 2 * F.kl_div(
                soft, F.softmax(teacher[idx] / s.temperature, 1), reduction="batchmean")
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % s.validate_every == 0 or step == s.steps:
            checks.append((step, held_out()))
            if checks[-1][1] > best[0]:
                best = (checks[-1][1], step, _snapshot(model, layers))
            if log:
                log(f"  step {step}/{s.steps}: loss {float(loss.detach()):.4f}, held-out "
                    f"hardware accuracy {100 * checks[-1][1]:.2f} % "
                    f"({time.perf_counter() - t0:.0f} s)")
    _restore(model, layers, best[2])
    reprogram()
    return {"settings": asdict(s), "held_out_images": hold, "train_images": len(x_train),
            "checks": [{"step": k, "held_out_accuracy": a} for k, a in checks],
            "kept_step": best[1], "seconds": round(time.perf_counter() - t0, 1)}
