"""Writers of a ChipReport: summary.json/csv, layers.csv, breakdown.csv, breakdown.png and the
printed human summary (DNN+NeuroSim-like, in mm², ns, pJ, µW, TOPS/W).

All files of one run are written into a temporary folder beside the target and moved into
place at the end, so a failure never leaves partial results. matplotlib (optional extra) is
imported lazily, its Figure and Agg canvas only (pyplot takes longer to import than an
estimate); without it the plot is skipped with a note. The CSVs are written from the
report's rows with the csv module: pandas is not imported.
"""
from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from chip.estimator import BREAKDOWN_COLUMNS
from contracts.results import RESULTS_KIND, results_to_keep
from contracts.staging import check_replaceable, staged_folder

__all__ = ["format_summary", "summary_json", "write_results", "write_rows_csv", "new_figure"]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            return value.item()
        except (AttributeError, ValueError):
            pass
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def summary_json(report) -> str:
    return json.dumps(_jsonable(report.summary), indent=2, sort_keys=False) + "\n"


def _summary_row(summary: dict) -> dict:
    """One flat row: scalars as they are, nested dicts flattened with a dot, config as keys."""
    row = {}
    for key, value in summary.items():
        if isinstance(value, dict):
            for k, v in value.items():
                row[f"{key}.{k}"] = v
        elif isinstance(value, (list, tuple)):
            row[key] = "; ".join(map(str, value))
        else:
            row[key] = value
    return row


def new_figure(width_in: float, height_in: float, cols: int = 1):
    """(figure, axes) on matplotlib's Agg canvas without pyplot, or (None, note) when
    matplotlib is not installed."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return None, "matplotlib is not installed: plot skipped (pip install neuropysim[plot])"
    fig = Figure(figsize=(width_in, height_in))
    FigureCanvasAgg(fig)
    return fig, fig.subplots(1, cols)


def _plot(report, path: Path) -> str | None:
    """breakdown.png: area and dynamic energy per category. Returns a note when skipped."""
    fig, axes = new_figure(13, 4, cols=3)
    if fig is None:
        return "matplotlib is not installed: breakdown.png skipped (pip install neuropysim[plot])"
    # the summary's split: unused layout inside bounding boxes is shown apart from "other"
    area_mm2 = report.summary["area_breakdown_mm2"]
    energy = report.tree.by_category("dynamic_energy_J")
    axes[0].bar(list(area_mm2), list(area_mm2.values()), color="tab:blue")
    axes[0].set_title(f"{report.network}: area by category")
    axes[0].set_ylabel("mm²")
    axes[1].bar(list(energy), [e * 1e12 for e in energy.values()], color="tab:orange")
    axes[1].set_title("dynamic energy per image by category")
    axes[1].set_ylabel("pJ")
    layers = report.layer_rows
    axes[2].bar([r["layer"] for r in layers], [r["dynamic_energy_pJ"] for r in layers],
                color="tab:green")
    axes[2].set_title("dynamic energy per layer")
    axes[2].set_ylabel("pJ")
    for ax in axes:
        ax.tick_params(axis="x", rotation=60, labelsize=7)
    # fixed margins (room for the rotated labels): tight_layout measures every text first,
    # a third of the plot's time
    fig.subplots_adjust(left=0.05, right=0.99, bottom=0.3, top=0.92, wspace=0.28)
    fig.savefig(path, dpi=110)
    return None


def write_rows_csv(path: Path, rows: list[dict], columns=None) -> None:
    """``rows`` (dicts) as a CSV with a header (``columns``: default the first row's keys)."""
    columns = list(columns) if columns is not None else list(rows[0]) if rows else []
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def write_results(report, out_dir: str | Path, plot: bool = True) -> tuple[Path, list[str]]:
    """Write every result file of ``report`` into ``out_dir`` atomically; returns the folder
    and notes (e.g. a skipped plot, step 1's accuracy.json of another trace config dropped).
    The user's own files in the folder are kept (contracts.staging)."""
    target = Path(out_dir)
    notes: list[str] = []
    check_replaceable(target, RESULTS_KIND, what="out")      # before reading the report
    keep, dropped = results_to_keep(target, 2, report.summary.get("trace_config_hash"))
    if dropped:
        notes.append(dropped)
    with staged_folder(target, RESULTS_KIND, what="out", keep=keep) as staging:
        (staging / "summary.json").write_text(summary_json(report))
        row = _summary_row(_jsonable(report.summary))
        with open(staging / "summary.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(row))
            writer.writeheader()
            writer.writerow(row)
        write_rows_csv(staging / "layers.csv", report.layer_rows)
        write_rows_csv(staging / "breakdown.csv", report.breakdown_rows, BREAKDOWN_COLUMNS)
        if plot:
            note = _plot(report, staging / "breakdown.png")
            if note:
                notes.append(note)
    return target, notes


def format_summary(report) -> str:
    """Human summary in the spirit of DNN+NeuroSim's printout, in readable units."""
    s = report.summary
    out = io.StringIO()
    p = lambda text="": print(text, file=out)  # noqa: E731
    mode = "pipelined" if report.config.pipeline else "layer-by-layer"
    if report.provenance is not None:
        p(report.provenance.head_line())
    p(f"------------------------------ FloorPlan ({report.network}) ------------------------------")
    for line in s.get("floorplan", []):
        p(f"  {line}")
    lay = report.layer_rows
    p(f"  tiles per layer:        {', '.join(str(r['tiles']) for r in lay)}")
    p(f"  speed-up per layer:     {', '.join(str(r['duplication']) for r in lay)}")
    p(f"  utilization per layer:  {', '.join(format(r['utilization'], '.3f') for r in lay)}")
    p(f"  memory utilization:     {100 * s['memory_utilization']:.2f} %")
    p("------------------------------ Layers ------------------------------")
    p(f"  {'layer':<20}{'latency ns':>14}{'dyn. energy pJ':>16}{'leak. energy pJ':>17}"
      f"{'leak. uW':>12}")
    for r in lay:
        p(f"  {r['layer']:<20}{r['latency_ns']:>14.5g}{r['dynamic_energy_pJ']:>16.5g}"
          f"{r['leakage_energy_pJ']:>17.5g}{r['leakage_power_uW']:>12.5g}")
    p("------------------------------ Summary ------------------------------")
    p(f"  chip area:                 {s['area_mm2']:.4g} mm²")
    for key, label in (("array_area_mm2", "CIM arrays"), ("adc_area_mm2", "ADC"),
                       ("accumulation_area_mm2", "accumulation"),
                       ("interconnect_area_mm2", "interconnect"),
                       ("buffer_area_mm2", "buffers"), ("other_area_mm2", "other"),
                       ("unused_area_mm2", "unused layout")):
        if key in s:
            p(f"    {label + ':':<25}{s[key]:.4g} mm²")
    p(f"  clock period:              {s['clock_period_ns']:.4g} ns")
    bound = (f" (set by the shared {s['pipeline_period_set_by']} unit, which the layers take "
             f"turns on)" if s.get("pipeline_period_set_by") else "")
    p(f"  latency per image ({mode}): {s['latency_per_image_ns']:.5g} ns{bound}")
    p(f"  dynamic energy per image:  {s['dynamic_energy_per_image_pJ']:.5g} pJ")
    for cat, value in s.get("energy_breakdown_pJ", {}).items():
        if value:
            p(f"    {cat + ':':<25}{value:.5g} pJ")
    p(f"  leakage energy per image:  {s['leakage_energy_per_image_pJ']:.5g} pJ")
    p(f"  leakage power:             {s['leakage_power_uW']:.5g} µW")
    p(f"  write (load all weights):  {s['write_energy_pJ']:.5g} pJ, "
      f"{s['write_latency_ns']:.5g} ns")
    if "dynamic_matmul_policy" in s:
        _dynamic_lines(s, p)
    if "rewrite_energy_pJ" in s:
        p(f"  rewrite (changed cells):   {s['rewrite_energy_pJ']:.5g} pJ, "
          f"{s['rewrite_latency_ns']:.5g} ns, {s['rewrite_cells']} cells")
    p("------------------------------ Performance ------------------------------")
    zeta = s.get("calibration_factors", {}).get("zeta")
    if zeta:
        p(f"  energy efficiency:         {s['tops_per_w']:.4g} TOPS/W (= ops / (dynamic + "
          f"leakage energy) / {zeta['value']:g}, NeuroSim's post-layout factor zeta; "
          f"{s['tops_per_w_without_zeta']:.4g} without it)")
    else:
        p(f"  energy efficiency:         {s['tops_per_w']:.4g} TOPS/W (= ops / (dynamic + "
          f"leakage energy))")
    p(f"  throughput:                {s['tops']:.4g} TOPS, {s['fps']:.5g} FPS")
    p(f"  compute efficiency:        {s['tops_per_mm2']:.4g} TOPS/mm²")
    p(f"  operations per image:      {s['ops_per_image']:.4g}")
    factors = s.get("calibration_factors") or {}
    if factors:
        p("  calibration factors (NeuroSim V1.4 'validated' mode; calibration_factors=False "
          "turns them off):")
        for name, f in factors.items():
            p(f"    {name} = {f['value']:g}: {f['scales']}")
    else:
        p("  calibration factors: none applied (calibration_factors=False)")
    return out.getvalue()


def _dynamic_lines(s: dict, p) -> None:
    """The dynamic products (attention's activation x activation products, chip.dynamic)."""
    policy = s["dynamic_matmul_policy"]
    p(f"  dynamic products ({s['dynamic_matmul_layers']} layers, dynamic_matmul_policy="
      f"{policy!r}): {s['dynamic_matmul_latency_ns']:.5g} ns, "
      f"{s['dynamic_matmul_energy_pJ']:.5g} pJ per image")
    if policy == "digital":
        p(f"    digital MAC unit:        {s['digital_mac_units']} lanes, "
          f"{s['digital_unit_area_mm2']:.4g} mm² with its K/V buffer")
        return
    bound = (" (one traced image: against an erased array, an upper bound; trace >= 2 "
             "images for the changes between inputs)" if s.get("dynamic_writes_from_erased")
             else "")
    p(f"    rewrites per inference:  {s['dynamic_cell_writes_per_inference']:.6g} cells, "
      f"{s['dynamic_write_energy_pJ']:.5g} pJ{bound}")
    p(f"    cell writes per second:  {s['dynamic_writes_per_cell_per_s']:.4g} per cell (mean), "
      f"{s['dynamic_worst_cell_writes_per_s']:.4g} (worst cell)")
    if s.get("inferences_to_endurance"):
        p(f"    endurance:               {s['inferences_to_endurance']:.4g} inferences "
          f"({s['seconds_to_endurance']:.4g} s at this throughput) to "
          f"{s['endurance_cycles']:.0e} writes of the worst cell")
