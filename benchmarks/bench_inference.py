"""Speed of hardware-in-the-loop inference relative to float inference (step 1).

    python benchmarks/bench_inference.py            # both cases, 1 thread
    python benchmarks/bench_inference.py --threads 2 --vgg-images 20

Cases: the default network (LeNet-5 on the mnist5k test split, shipped checkpoint) and VGG-8
on 100 synthetic CIFAR-shape images (seeded init). For each hardware setting the wall time of
one evaluation pass over the images is divided by the float pass of the same network; setup
(calibration, programming the arrays) is reported apart. Target: <= 10x for conventional
parallel mode with 8-bit inputs and 1-bit cells.

    python benchmarks/bench_inference.py --step1 --threads 2 --repeat 3   # whole step-1 runs

``--step1`` times ``cim.run.run`` on the default network (LeNet-5, all 1,000 mnist5k test
images, no trace written) for the cases of STEP1_CASES: wall time, the process' CPU time
(user + sys, every thread) and the 1-minute load average, best of ``--repeat``. Targets:
parallel mode <= 20 s, sequential mode with read noise <= 30 s.

Why the ratio has a floor: parallel mode converts every (row group, input bit, cell slice,
column) partial sum with the ADC; that is MACs x (input bits x cells per weight) / rows read
at once conversions - 0.5 per MAC for VGG-8 at 8-bit inputs, 1-bit cells, 128 rows - each an
element-wise decision, against a float MAC at a few picoseconds in a tuned convolution.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

import models  # noqa: E402
from contracts.config import HardwareConfig  # noqa: E402
from cim.convert import convert, set_mode  # noqa: E402
from cim.passes import (SOFTWARE_BATCH, calibrate_activations, evaluate,  # noqa: E402
                       hardware_batch, ordered_layers, program)

SETTINGS = {
    "sequential": dict(operation_mode="sequential"),
    "parallel 5-bit ADC": dict(operation_mode="parallel", adc_bits=5),
    "parallel 8-bit ADC": dict(operation_mode="parallel", adc_bits=8),
}


def conversions_per_image(layers, cfg) -> int:
    """ADC conversions per image in parallel mode (partial sums read)."""
    total = 0
    for layer in layers:
        xb = layer.crossbar
        groups = int(xb.groups.shape[0])
        vectors = layer.output_hw[0] * layer.output_hw[1] if layer.kind == "conv2d" else 1
        total += vectors * groups * cfg.activation_bits * xb.mapping.columns
    return total


def bench(network: str, images: torch.Tensor, labels, checkpoint: Path | None, repeat: int):
    model = models.build(network, seed=0)
    meta = {}
    if checkpoint is not None and checkpoint.is_file():
        meta = models.checkpoints.load_checkpoint(model, checkpoint)
    cim_model, analysis = convert(model)
    layers = ordered_layers(cim_model, analysis)
    macs = None

    def timed(mode: str, batch: int) -> tuple[float, float | None]:
        set_mode(cim_model, mode)
        best, acc = float("inf"), None
        for _ in range(repeat):
            t = time.perf_counter()
            acc = evaluate(cim_model, images, labels, batch)
            best = min(best, time.perf_counter() - t)
        return best, acc

    t_float, acc_float = timed("float", SOFTWARE_BATCH)
    rows = []
    for name, changes in SETTINGS.items():
        cfg = HardwareConfig(**changes)
        t = time.perf_counter()
        calibrate_activations(cim_model, layers, images[:64], cfg, meta.get("activation_clip"))
        batch = hardware_batch(layers)
        program(cim_model, layers, cfg, 0, images[:64], batch)
        setup = time.perf_counter() - t
        t_hw, acc = timed("hw", batch)
        if macs is None:
            macs = sum(layer.crossbar.rows * layer.crossbar.outputs *
                       (layer.output_hw[0] * layer.output_hw[1] if layer.kind == "conv2d" else 1)
                       for layer in layers)
        conv = conversions_per_image(layers, cfg) if cfg.operation_mode == "parallel" else None
        rows.append(dict(network=network, images=len(images), setting=name,
                         float_s=round(t_float, 4), hardware_s=round(t_hw, 4),
                         ratio=round(t_hw / t_float, 1), setup_s=round(setup, 2),
                         accuracy_float=acc_float, accuracy_hw=acc,
                         macs_per_image=macs, adc_conversions_per_image=conv))
    return rows


#: whole step-1 runs of --step1: name -> (config fields, target wall time in s)
NOISE = dict(read_noise_sigma=0.02, programming_error_sigma=0.05, stuck_at_fault_rate=0.01)
STEP1_CASES = {
    "parallel, 5-bit ADC": (dict(operation_mode="parallel"), 20.0),
    "sequential, read noise": (dict(NOISE), 30.0),
    "sequential, read noise, 4-bit cells": (dict(NOISE, cell_bits=4), 30.0),
    "parallel, read noise": (dict(NOISE, operation_mode="parallel"), None),
}


def step1_runs(repeat: int) -> list[dict]:
    """Best-of-``repeat`` wall and CPU time of whole step-1 runs (see module docstring)."""
    import os
    import resource

    from cim.run import run

    def cpu() -> float:
        use = resource.getrusage(resource.RUSAGE_SELF)
        return use.ru_utime + use.ru_stime

    rows = []
    for name, (fields, target) in STEP1_CASES.items():
        best = None
        for _ in range(repeat):
            load = os.getloadavg()[0]
            t, c = time.perf_counter(), cpu()
            result = run(HardwareConfig(**fields), write_trace=False)
            wall, used = time.perf_counter() - t, cpu() - c
            if best is None or wall < best["wall_s"]:
                best = dict(case=name, wall_s=round(wall, 2), cpu_s=round(used, 2),
                            load=round(load, 2), hardware_s=round(result.timings_s["hardware"], 2),
                            accuracy_hw=result.accuracy["hardware"], target_s=target,
                            threads=torch.get_num_threads())
        rows.append(best)
    return rows


def print_step1(rows: list[dict]) -> None:
    print(f"{'case':38} {'wall s':>7} {'cpu s':>7} {'hw pass s':>9} {'load':>5} {'acc hw':>7} "
          f"{'target':>7}")
    for r in rows:
        target = "-" if r["target_s"] is None else (
            f"{'met' if r['wall_s'] <= r['target_s'] else 'MISSED'} {r['target_s']:.0f}")
        print(f"{r['case']:38} {r['wall_s']:7.2f} {r['cpu_s']:7.2f} {r['hardware_s']:9.2f} "
              f"{r['load']:5.2f} {100 * r['accuracy_hw']:6.2f}% {target:>7}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--vgg-images", type=int, default=100)
    p.add_argument("--repeat", type=int, default=1, help="best of N passes")
    p.add_argument("--json", action="store_true")
    p.add_argument("--step1", action="store_true",
                   help="whole step-1 runs of LeNet-5 (1,000 images) instead of the ratios")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.step1:
        rows = step1_runs(args.repeat)
        if args.json:
            print(json.dumps(rows, indent=2))
        else:
            print_step1(rows)
        return 0
    from models import datasets
    test = datasets.load_dataset("mnist5k", "test")
    ckpt = models.checkpoints.default_checkpoint_path("lenet5", "mnist5k")
    rows = bench("lenet5", test.images, test.labels, ckpt, args.repeat)
    synth = datasets.load_dataset("synthetic", synthetic_shape=(3, 32, 32),
                                  synthetic_count=args.vgg_images, seed=0)
    rows += bench("vgg8", synth.images, None, None, args.repeat)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'network':8} {'images':>6} {'setting':20} {'float s':>8} {'hw s':>8} {'ratio':>6} "
          f"{'setup s':>7} {'ADC conv/MAC':>12} {'acc hw':>7}")
    for r in rows:
        conv = (f"{r['adc_conversions_per_image'] / r['macs_per_image']:.2f}"
                if r["adc_conversions_per_image"] else "-")
        acc = f"{100 * r['accuracy_hw']:.2f}%" if r["accuracy_hw"] is not None else "-"
        print(f"{r['network']:8} {r['images']:6d} {r['setting']:20} {r['float_s']:8.3f} "
              f"{r['hardware_s']:8.3f} {r['ratio']:5.1f}x {r['setup_s']:7.2f} {conv:>12} {acc:>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
