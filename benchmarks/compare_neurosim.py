"""Compare NeuroPySim (compat mode) with DNN+NeuroSim V1.4's own output on VGG-8.

    python benchmarks/compare_neurosim.py [--shared /work/shared] [--markdown]

Reads the shared VGG-8 trace, estimates it at the NeuroSim default point in compat mode and
prints, per metric, NeuroSim's value (parsed from its printed output, never hard-coded), ours
and the relative error. Exit code 0; the table is the product.
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.shared_data import DEFAULT_SHARED, require  # noqa: E402

TRACE = "neurosim-vgg8/layer_record_VGG8.tar.xz"
OUTPUT = "neurosim-vgg8/neurosim-1.4-default-output.txt"

_NUM = r"([-+0-9.eE]+)"
# per-layer lines "layerN's <what> is: <value><unit>"
_LAYER_KEYS = {
    "readLatency": "latency_ns", "readDynamicEnergy": "dynamic_energy_pJ",
    "leakagePower": "leakage_power_uW", "leakageEnergy": "leakage_energy_pJ",
    "buffer latency": "buffer_latency_ns", "buffer readDynamicEnergy": "buffer_energy_pJ",
    "ic latency": "ic_latency_ns", "ic readDynamicEnergy": "ic_energy_pJ",
}
# breakdown lines (per layer, then once more for the chip)
_BREAK = [
    ("ADC (or S/As and precharger for SRAM) readLatency", "adc_latency_ns"),
    ("Accumulation Circuits (subarray level: adders, shiftAdds; PE/Tile/Global level: "
     "accumulation units) readLatency", "accumulation_latency_ns"),
    ("Other Peripheries (e.g. decoders, mux, switchmatrix, buffers, IC, pooling and "
     "activation units) readLatency", "other_latency_ns"),
    ("ADC (or S/As and precharger for SRAM) readDynamicEnergy", "adc_energy_pJ"),
    ("Accumulation Circuits (subarray level: adders, shiftAdds; PE/Tile/Global level: "
     "accumulation units) readDynamicEnergy", "accumulation_energy_pJ"),
    ("Other Peripheries (e.g. decoders, mux, switchmatrix, buffers, IC, pooling and "
     "activation units) readDynamicEnergy", "other_energy_pJ"),
]
_SUMMARY = [
    (r"ChipArea : " + _NUM + "um\\^2", "area_mm2", 1e-6),
    (r"Chip total CIM array : " + _NUM, "array_area_mm2", 1e-6),
    (r"Total IC Area on chip \(Global and Tile/PE local\): " + _NUM, "ic_area_mm2", 1e-6),
    (r"Total ADC \(or S/As and precharger for SRAM\) Area on chip : " + _NUM,
     "adc_area_mm2", 1e-6),
    (r"Total Accumulation Circuits \(subarray level: adders, shiftAdds; PE/Tile/Global "
     r"level: accumulation units\) on chip : " + _NUM, "accumulation_area_mm2", 1e-6),
    (r"Other Peripheries \(e.g. decoders, mux, switchmatrix, buffers, pooling and "
     r"activation units\) : " + _NUM, "other_area_mm2", 1e-6),
    (r"Chip clock period is: " + _NUM + "ns", "clock_ns", 1.0),
    (r"Chip pipeline-system-clock-cycle \(per image\) is: " + _NUM, "latency_ns", 1.0),
    (r"Chip layer-by-layer readLatency \(per image\) is: " + _NUM, "latency_ns", 1.0),
    (r"readDynamicEnergy \(per image\) is: " + _NUM, "dynamic_energy_pJ", 1.0),
    (r"leakage Energy \(per image\) is: " + _NUM, "leakage_energy_pJ", 1.0),
    (r"buffer readLatency \(per image\) is: " + _NUM, "buffer_latency_ns", 1.0),
    (r"buffer readDynamicEnergy \(per image\) is: " + _NUM, "buffer_energy_pJ", 1.0),
    (r"ic readLatency \(per image\) is: " + _NUM, "ic_latency_ns", 1.0),
    (r"ic readDynamicEnergy \(per image\) is: " + _NUM, "ic_energy_pJ", 1.0),
    (r"Energy Efficiency TOPS/W \([^)]*\): " + _NUM, "tops_per_w", 1.0),
    (r"Throughput TOPS \([^)]*\): " + _NUM, "tops", 1.0),
    (r"Throughput FPS \([^)]*\): " + _NUM, "fps", 1.0),
]


def parse_neurosim(text: str) -> dict:
    """{'chip': {metric: value}, 'layers': [{metric: value}, ...]} from NeuroSim's stdout."""
    layers: dict[int, dict] = {}
    for m in re.finditer(r"layer(\d+)'s (.+?) is: " + _NUM, text):
        key = _LAYER_KEYS.get(m.group(2))
        if key:
            layers.setdefault(int(m.group(1)), {})[key] = float(m.group(3))
    # breakdown blocks: one per layer in order, the last one is the chip's
    blocks = text.split("-------------------- Estimation of Layer ")
    summary_at = text.find("------------------------------ Summary")
    for i, block in enumerate(blocks[1:], start=1):
        block = block.split("------------------------------ Summary")[0]
        for label, key in _BREAK:
            m = re.search(re.escape(label) + r" is : " + _NUM, block)
            if m:
                layers.setdefault(i, {})[key] = float(m.group(1))
    chip: dict = {}
    tail = text[summary_at:] if summary_at >= 0 else text
    for pattern, key, scale in _SUMMARY:
        m = re.search(pattern, tail)
        if m:
            chip[key] = float(m.group(1)) * scale
    for label, key in _BREAK:
        m = re.search(re.escape(label) + r" is : " + _NUM, tail)
        if m:
            chip[key] = float(m.group(1))
    rows = ("array_area_mm2", "ic_area_mm2", "adc_area_mm2", "accumulation_area_mm2",
            "other_area_mm2")
    if "area_mm2" in chip and all(k in chip for k in rows):
        # the chip area less its printed breakdown rows: the sub-arrays' unused corners
        chip["unbooked_area_mm2"] = chip["area_mm2"] - sum(chip[k] for k in rows)
    return {"chip": chip, "layers": [layers[k] for k in sorted(layers)]}


def ours(report) -> dict:
    """The same metrics from a ChipReport (compat mode)."""
    b = report.breakdown
    s = report.summary
    # SubArray.cpp books a sub-array's unused corner (emptyArea) in no breakdown row: ours is
    # the summary's unused area
    whitespace = s["unused_area_mm2"]
    chip = {
        "area_mm2": s["area_mm2"], "array_area_mm2": s["array_area_mm2"],
        "ic_area_mm2": s["interconnect_area_mm2"],
        # tables §6.1: NeuroSim books the SRAM precharger under ADC area; so does our model
        "adc_area_mm2": s["adc_area_mm2"],
        "accumulation_area_mm2": s["accumulation_area_mm2"],
        "other_area_mm2": s["other_area_mm2"] + s["buffer_area_mm2"],
        "unbooked_area_mm2": whitespace,
        "clock_ns": s["clock_period_ns"], "latency_ns": s["latency_per_image_ns"],
        "dynamic_energy_pJ": s["dynamic_energy_per_image_pJ"],
        "leakage_energy_pJ": s["leakage_energy_per_image_pJ"],
        "tops_per_w": s["tops_per_w"], "tops": s["tops"], "fps": s["fps"],
    }
    layers = []
    for _, row in report.layers.iterrows():
        sub = b[b.layer == row["layer"]]
        lat = sub[sub.metric == "latency"]
        en = sub[sub.metric == "dynamic_energy"]
        d = {"latency_ns": row["latency_ns"], "dynamic_energy_pJ": row["dynamic_energy_pJ"],
             "leakage_energy_pJ": row["leakage_energy_pJ"],
             "buffer_latency_ns": lat[lat.category == "buffer"].value.sum() * 1e9,
             "buffer_energy_pJ": en[en.category == "buffer"].value.sum() * 1e12,
             "ic_latency_ns": lat[lat.category == "interconnect"].value.sum() * 1e9,
             "ic_energy_pJ": en[en.category == "interconnect"].value.sum() * 1e12,
             # tables §6.1: NeuroSim books the array read energy under "ADC"
             "adc_energy_pJ": en[en.category.isin(("adc", "array"))].value.sum() * 1e12,
             "accumulation_energy_pJ": en[en.category == "accumulation"].value.sum() * 1e12}
        d["other_energy_pJ"] = d["dynamic_energy_pJ"] - d["adc_energy_pJ"] - \
            d["accumulation_energy_pJ"]
        layers.append(d)
    for key in ("buffer_energy_pJ", "ic_energy_pJ", "adc_energy_pJ", "accumulation_energy_pJ",
                "other_energy_pJ"):
        chip[key] = sum(d[key] for d in layers)
    # NeuroSim's pipelined summary reports the slowest layer's buffer and ic latency
    slow = max(range(len(layers)), key=lambda i: layers[i]["latency_ns"])
    chip["buffer_latency_ns"] = layers[slow]["buffer_latency_ns"]
    chip["ic_latency_ns"] = layers[slow]["ic_latency_ns"]
    return {"chip": chip, "layers": layers}


CHIP_ROWS = [
    ("chip area (mm²)", "area_mm2"), ("  CIM array area (mm²)", "array_area_mm2"),
    ("  IC area (mm²)", "ic_area_mm2"), ("  ADC area (mm²)", "adc_area_mm2"),
    ("  accumulation area (mm²)", "accumulation_area_mm2"),
    ("  other area incl. buffers (mm²)", "other_area_mm2"),
    ("  not in a breakdown row (mm²)", "unbooked_area_mm2"),
    ("clock period (ns)", "clock_ns"), ("latency per image (ns)", "latency_ns"),
    ("dynamic energy per image (pJ)", "dynamic_energy_pJ"),
    ("  ADC energy (pJ)", "adc_energy_pJ"),
    ("  accumulation energy (pJ)", "accumulation_energy_pJ"),
    ("  other energy (pJ)", "other_energy_pJ"),
    ("buffer latency, slowest layer (ns)", "buffer_latency_ns"),
    ("buffer energy (pJ)", "buffer_energy_pJ"),
    ("ic latency, slowest layer (ns)", "ic_latency_ns"), ("ic energy (pJ)", "ic_energy_pJ"),
    ("leakage energy per image (pJ)", "leakage_energy_pJ"), ("TOPS/W", "tops_per_w"),
    ("TOPS", "tops"), ("FPS", "fps"),
]
LAYER_ROWS = [("latency (ns)", "latency_ns"), ("dynamic energy (pJ)", "dynamic_energy_pJ"),
              ("buffer latency (ns)", "buffer_latency_ns"),
              ("ic latency (ns)", "ic_latency_ns"),
              ("leakage energy (pJ)", "leakage_energy_pJ")]


def _row(name, ref, val, md):
    err = (val - ref) / ref * 100 if ref else float("nan")
    if md:
        return f"| {name} | {ref:.5g} | {val:.5g} | {err:+.1f} % |"
    return f"{name:<38s} {ref:>13.5g} {val:>13.5g} {err:>+8.1f} %"


def table(ref: dict, got: dict, md: bool = False) -> str:
    head = ("| metric | NeuroSim 1.4 | NeuroPySim | error |\n|---|---|---|---|" if md else
            f"{'metric':<38s} {'NeuroSim 1.4':>13s} {'NeuroPySim':>13s} {'error':>10s}")
    lines = [head]
    for name, key in CHIP_ROWS:
        if key in ref["chip"] and key in got["chip"]:
            lines.append(_row(name, ref["chip"][key], got["chip"][key], md))
    for i, (r, g) in enumerate(zip(ref["layers"], got["layers"]), start=1):
        for name, key in LAYER_ROWS:
            if key in r and key in g:
                lines.append(_row(f"layer {i} {name}", r[key], g[key], md))
    return "\n".join(lines)


# --- variants (issue 6 item 5): one change at a time against the default point ------------
# name -> config changes over preset neurosim-1.4-default (compat mode)
VARIANTS = {
    "default (SRAM 22 nm, 5-bit ADC, 128x128, 128 rows)": {},
    "ADC 4 bits": dict(adc_bits=4),
    # NeuroSim: Param.cpp numRowSubArray = numColSubArray = 64 and subArray 64 on the command
    # line (main.cpp overwrites numRowSubArray from argv[4]); every rule then uses 64
    "sub-array 64x64 (64 rows in parallel)": dict(subarray_rows=64, subarray_cols=64,
                                                  rows_in_parallel=64),
    # NeuroSim with only the command line changed: numColSubArray stays 128, so its
    # sub-arrays are 64 rows x 128 columns (SubArray::Initialize(numRow, numColSubArray)),
    # tiles/PEs are sized in numRowSubArray units and a PE is laid out as a square grid
    "sub-array 64 rows by command line (64x128)": dict(subarray_rows=64, rows_in_parallel=64),
    "rows in parallel 32": dict(rows_in_parallel=32),
    "rows in parallel 64": dict(rows_in_parallel=64),
    "RRAM": dict(memory_cell="rram"),
    "7 nm": dict(technology_node_nm=7),
    "layer-by-layer": dict(pipeline=False),
    "H-tree global bus": dict(global_interconnect="htree"),
    # Table VII points (4-bit ADC, 22 nm)
    "Table VII: SRAM 22 nm, ADC 4, 32 rows": dict(adc_bits=4, rows_in_parallel=32),
    "Table VII: SRAM 22 nm, ADC 4, 64 rows": dict(adc_bits=4, rows_in_parallel=64),
    "Table VII: RRAM 22 nm, ADC 4, 32 rows": dict(memory_cell="rram", adc_bits=4,
                                                  rows_in_parallel=32),
    "Table VII: RRAM 22 nm, ADC 4, 64 rows": dict(memory_cell="rram", adc_bits=4,
                                                  rows_in_parallel=64),
}
# manual V1.4 Table VII (reference §8): (area mm², TOPS, TOPS/W)
TABLE7 = {
    "Table VII: SRAM 22 nm, ADC 4, 32 rows": (85.97, 6.06, 8.76),
    "Table VII: SRAM 22 nm, ADC 4, 64 rows": (84.39, 8.01, 17.13),
    "Table VII: RRAM 22 nm, ADC 4, 32 rows": (381.90, 6.25, 11.25),
    "Table VII: RRAM 22 nm, ADC 4, 64 rows": (378.06, 8.16, 19.88),
}
VARIANT_KEYS = (("area mm²", "area_mm2"), ("clock ns", "clock_period_ns"),
                ("latency ns", "latency_per_image_ns"),
                ("dyn. energy pJ", "dynamic_energy_per_image_pJ"),
                ("leakage pJ", "leakage_energy_per_image_pJ"), ("TOPS/W", "tops_per_w"),
                ("TOPS", "tops"))


def variant_figures(trace) -> dict:
    """{variant: summary} on ``trace`` in compat mode."""
    import warnings

    from chip import estimate
    from chip.estimator import ProvenanceWarning
    from contracts.presets import preset
    base = preset("neurosim-1.4-default").replace(compat="neurosim-1.4")
    with warnings.catch_warnings():          # the variants change the array on purpose
        warnings.simplefilter("ignore", ProvenanceWarning)
        return {name: estimate(trace, base.replace(**changes)).summary
                for name, changes in VARIANTS.items()}


def variants_table(figs: dict, md: bool = False) -> str:
    base = next(iter(figs.values()))
    head = ["variant"] + [k for k, _ in VARIANT_KEYS] + ["Table VII (area / TOPS / TOPS/W)"]
    rows = []
    for name, s in figs.items():
        cells = [name]
        for _, key in VARIANT_KEYS:
            d = (s[key] - base[key]) / base[key] * 100 if base[key] else 0.0
            cells.append(f"{s[key]:.4g}" if s is base else f"{s[key]:.4g} ({d:+.1f} %)")
        t7 = TABLE7.get(name)
        cells.append(" / ".join(f"{v:g}" for v in t7) if t7 else "—")
        rows.append(cells)
    if md:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        return "\n".join(out + ["| " + " | ".join(r) + " |" for r in rows])
    w = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w[i]) for i, c in enumerate(r)) for r in [head] + rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    ap.add_argument("--variants", action="store_true",
                    help="also print the variants table (one change at a time, compat mode)")
    args = ap.parse_args(argv)
    from chip import estimate
    from contracts.presets import preset
    from contracts.neurosim_reader import read_neurosim

    require(args.shared / OUTPUT, "the comparison with NeuroSim")
    ref = parse_neurosim((args.shared / OUTPUT).read_text())
    t0 = time.perf_counter()
    trace = read_neurosim(str(args.shared / TRACE))
    t1 = time.perf_counter()
    report = estimate(trace, preset("neurosim-1.4-default").replace(compat="neurosim-1.4"))
    t2 = time.perf_counter()
    print(table(ref, ours(report), md=args.markdown))
    print(f"\n(trace read {t1 - t0:.1f} s, estimate {t2 - t1:.1f} s)")
    if args.variants:
        print()
        print(variants_table(variant_figures(trace), md=args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
