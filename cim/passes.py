"""The passes of step 1 over a converted network: calibration of the activation clip values,
programming the crossbars (and calibrating their ADC ranges), evaluation in batches, and the
hardware counts of a run. cim.run orchestrates them; cim.train and the benchmarks reuse them.
"""
from __future__ import annotations

import math
import sys
import time
from typing import Any, Callable

import torch
from torch import nn

from contracts.config import HardwareConfig

from .adc import ADC_CALIBRATION_IMAGES
from .convert import CIM_MODULES, NetworkAnalysis, set_mode
from .layers import CIMLayer

__all__ = ["SOFTWARE_BATCH", "HARDWARE_BATCH_ELEMENTS", "evaluate", "ordered_layers",
           "calibrate_activations", "hardware_batch", "program", "program_layer",
           "layer_statistics", "read_counts", "per_image_counts",
           "count_sequential_reads"]

#: images per batch in the float and quantized passes
SOFTWARE_BATCH = 256
#: im2col elements per hardware batch (bounds memory; the crossbar chunks further)
HARDWARE_BATCH_ELEMENTS = 1 << 22
#: a pass longer than this gets an estimate of its duration before it goes on
ANNOUNCE_AFTER_S = 30.0


def _progress(iterable, total: int, desc: str, enabled: bool):
    if not enabled:
        return iterable
    from tqdm import tqdm
    return tqdm(iterable, total=total, desc=desc, unit="batch", file=sys.stderr,
                leave=False, disable=None)  # a bar on a terminal only


def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor | None,
             batch: int, desc: str = "", progress: bool = False,
             announce: Callable[[str], None] | None = None) -> float | None:
    """Top-1 accuracy (fraction) of ``model`` over ``images`` in batches (None without labels).

    ``announce``: told once, after the batches of the first second or so, how long the whole
    pass will take when that exceeds ANNOUNCE_AFTER_S (a tqdm bar shows the rest)."""
    correct = 0
    steps = math.ceil(len(images) / batch)
    start, told = time.perf_counter(), announce is None
    with torch.no_grad():
        for i in _progress(range(steps), steps, desc, progress):
            out = model(images[i * batch:(i + 1) * batch])
            if labels is not None:
                correct += int((out.argmax(1) == labels[i * batch:(i + 1) * batch]).sum())
            elapsed = time.perf_counter() - start
            if not told and (elapsed > 1.0 or i == steps - 1):
                told = True
                done = min(len(images), (i + 1) * batch)
                projected = elapsed * len(images) / done
                if projected > ANNOUNCE_AFTER_S:
                    announce(f"note: the {desc} pass over {len(images)} images will take about "
                             f"{_duration(projected)} (measured on the first {done})")
    return None if labels is None else correct / len(images)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def count_sequential_reads(layer: CIMLayer, inputs, output) -> None:
    """Forward hook: sequential-mode layers read the sense amplifiers' codes without calling
    Crossbar.matmul, so their reads are counted here (one input vector per output position)."""
    xb = layer.crossbar
    if layer.mode != "hw" or xb is None or xb.parallel:
        return
    xb.count_reads(int(output.numel()) // max(1, xb.outputs), layer.config.activation_bits,
                   bool(layer.input_signed()))


_COUNTS = ("cells_used", "cells_allocated", "subarrays", "writes", "reads", "adc_conversions",
           "faults", "stuck_hrs", "stuck_lrs")


def layer_statistics(layers: list[CIMLayer]) -> dict[str, Any]:
    """Totals and per-layer counts of the programmed crossbars (Crossbar.statistics).

    ``writes``: cell programming operations (one per cell used, weights are written once);
    ``reads``: array read operations (one row group - or one row in sequential mode - with
    one input plane), counted over every hardware pass of the run (ADC calibration,
    evaluation, trace); ``column_reads``: reads x columns; ``adc_conversions``: the column
    reads an ADC converts (parallel mode; 0 in sequential mode, where sense amplifiers read
    one row at a time: ``sense_amp_reads``); ``utilization``: cells used / cells of the
    subarrays allocated to the layers; ``faults``: stuck-at cells injected.
    """
    per_layer = []
    for layer in layers:
        if layer.crossbar is None:
            continue
        entry = dict(layer.crossbar.statistics(), layer=layer.name)
        entry["column_reads"] = entry["adc_conversions"]
        if not layer.crossbar.parallel:
            entry["adc_conversions"] = 0
        entry["sense_amp_reads"] = entry["column_reads"] - entry["adc_conversions"]
        per_layer.append(entry)
    total = {k: sum(entry[k] for entry in per_layer)
             for k in _COUNTS + ("column_reads", "sense_amp_reads")}
    total["operation_mode"] = (layers[0].config.operation_mode if layers and
                               layers[0].crossbar is not None else None)
    total["utilization"] = (total["cells_used"] / total["cells_allocated"]
                            if total["cells_allocated"] else 0.0)
    total["fault_rate"] = total["faults"] / total["cells_used"] if total["cells_used"] else 0.0
    total["layers"] = per_layer
    return total


#: the counts that grow with every read (layer_statistics keys)
_READ_COUNTS = ("reads", "adc_conversions", "column_reads", "sense_amp_reads")


def read_counts(layers: list[CIMLayer]) -> dict[str, int]:
    """The read counts of :func:`layer_statistics` so far (a pass's counts are the
    difference of two of them)."""
    total = layer_statistics(layers)
    return {k: total[k] for k in _READ_COUNTS}


def per_image_counts(before: dict[str, int], after: dict[str, int], images: int
                     ) -> dict[str, float]:
    """Counts of one inference: the reads between two :func:`read_counts` over the images
    read in between."""
    if images < 1:
        raise ValueError(f"images={images!r} must be a positive integer")
    return {k: (after[k] - before[k]) / images for k in _READ_COUNTS}


def ordered_layers(model: nn.Module, analysis: NetworkAnalysis) -> list[CIMLayer]:
    by_name = {m.name: m for m in model.modules() if isinstance(m, CIM_MODULES)}
    return [by_name[n] for n in analysis.compute]


def calibrate_activations(model: nn.Module, layers: list[CIMLayer], calib: torch.Tensor,
                          cfg: HardwareConfig, stored: dict | None) -> None:
    """Set every layer's clip value: stored (trained) values first, else observed maxima."""
    for layer in layers:
        layer.config = cfg
        layer.amax, layer.amin, layer.signed = 0.0, 0.0, None
    set_mode(model, "calibrate")
    evaluate(model, calib, None, SOFTWARE_BATCH)
    for layer in layers:
        if stored and layer.name in stored:
            values = stored[layer.name]        # dynamic products: also the weight operand's
            layer.amax, layer.amin = float(values[0]), float(values[1])
            if layer.kind == "dynamic_matmul" and len(values) > 2:
                layer.wmax = float(values[2])
        if layer.amax <= 0 and layer.amin >= 0:
            layer.amax = 1.0                                       # dead input: any grid works
        layer.signed = layer.input_signed()


def hardware_batch(layers: list[CIMLayer]) -> int:
    """Images per hardware batch so one layer's im2col stays under HARDWARE_BATCH_ELEMENTS."""
    worst = 1
    for layer in layers:
        if layer.kind == "dynamic_matmul":      # one input vector of H*K codes per token
            worst = max(worst, layer.heads * layer.k * layer.m)
            continue
        inner = layer.inner
        if layer.kind == "linear":
            worst = max(worst, inner.in_features * layer.output_hw[0])
        else:
            kernel = layer.geometry_2d()[0]
            rows = inner.in_channels * kernel[0] * kernel[1]
            worst = max(worst, rows * layer.output_hw[0] * layer.output_hw[1])
    return int(max(1, min(SOFTWARE_BATCH, HARDWARE_BATCH_ELEMENTS // worst)))


def program(model: nn.Module, layers: list[CIMLayer], cfg: HardwareConfig, seed: int,
            calib: torch.Tensor, batch: int) -> None:
    """Program the crossbars; calibrate the ADC ranges when the config asks for it.

    Each layer keeps the generator state its crossbar was drawn from (``program_state``), so
    :func:`program_layer` can program it again onto the same chip (the same faults and
    device draws) with other weights or settings."""
    generator = torch.Generator().manual_seed(seed)
    for layer in layers:
        layer.program_state = generator.get_state()
        layer.program(cfg, generator)
    if cfg.operation_mode == "parallel" and cfg.adc_range == "calibrated":
        set_mode(model, "hw")
        static = [layer for layer in layers if layer.kind != "dynamic_matmul"]
        dynamic = [layer for layer in layers if layer.kind == "dynamic_matmul"]
        for layer in static:
            _start_adc_calibration(layer)
        for layer in dynamic:
            layer.begin_adc_calibration()
        evaluate(model, calib[:ADC_CALIBRATION_IMAGES], None, batch)
        for layer in dynamic:
            layer.end_adc_calibration()
        for layer in static:
            _finish_adc_calibration(layer, cfg)


def program_layer(layer: CIMLayer, cfg: HardwareConfig, adc_inputs: torch.Tensor | None
                  ) -> None:
    """Program one layer again onto its chip (the generator state :func:`program` kept) and
    calibrate its ADC range on ``adc_inputs``: the inputs the layer sees in program()'s ADC
    calibration pass (cim.calibration captures them)."""
    layer.program(cfg, torch.Generator().set_state(layer.program_state))
    if cfg.operation_mode == "parallel" and cfg.adc_range == "calibrated":
        mode, layer.mode = layer.mode, "hw"
        _start_adc_calibration(layer)
        with torch.no_grad():
            layer(adc_inputs)
        _finish_adc_calibration(layer, cfg)
        layer.mode = mode


def _start_adc_calibration(layer: CIMLayer) -> None:
    layer.crossbar.observed_max = 0.0
    layer.crossbar.observed_hist = None
    layer.calibrate_adc = True


def _finish_adc_calibration(layer: CIMLayer, cfg: HardwareConfig) -> None:
    """The calibrated range (times the layer's calibration factor ``adc_scale``) sets the
    ADC (cim.adc range rule)."""
    layer.calibrate_adc = False
    signed = layer.input_signed()
    layer.crossbar.set_adc(cfg.activation_bits, signed, layer.adc_scale *
                           layer.crossbar.calibrated_range(cfg.activation_bits, signed))
