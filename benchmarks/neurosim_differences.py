"""How much each deliberate difference from DNN+NeuroSim V1.4 moves the VGG-8 figures.

    python benchmarks/neurosim_differences.py [--shared /work/shared] [--markdown]
    python benchmarks/neurosim_differences.py --registry    # the quirk table of the docs

On NeuroSim's own VGG-8 trace at its default point (preset ``neurosim-1.4-default``), runs
our model (compat="none") and then our model with exactly one NeuroSim convention switched
on (``compat_quirks=NAME``, registry in chip/compat.py), and prints the relative change of
chip area, latency per image, dynamic energy, leakage energy and TOPS/W. The last row
switches all of them on (compat="neurosim-1.4"). Quirks act together non-additively, so the
rows need not sum to the last one.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.shared_data import DEFAULT_SHARED, require  # noqa: E402

TRACE = "neurosim-vgg8/layer_record_VGG8.tar.xz"
FIGURES = (("area", "area_mm2"), ("latency", "latency_per_image_ns"),
           ("dyn. energy", "dynamic_energy_per_image_pJ"),
           ("leakage", "leakage_energy_per_image_pJ"), ("TOPS/W", "tops_per_w"))


def _pct(new: float, base: float) -> str:
    if base == 0:
        return "n/a"
    d = (new - base) / base * 100.0
    return "0" if abs(d) < 0.05 else f"{d:+.1f} %"


def run(shared: Path, names=None):
    """[(name, summary)] for the base model, each quirk alone and full compat."""
    from chip import estimate
    from chip.compat import QUIRKS
    from contracts.presets import preset
    from contracts.neurosim_reader import read_neurosim

    trace = read_neurosim(str(shared / TRACE))
    base_cfg = preset("neurosim-1.4-default")
    rows = [("(ours, compat=none)", estimate(trace, base_cfg).summary)]
    for name in names or QUIRKS:
        rows.append((name, estimate(trace, base_cfg.replace(compat_quirks=name)).summary))
    rows.append(("(all: compat=neurosim-1.4)",
                 estimate(trace, base_cfg.replace(compat="neurosim-1.4")).summary))
    return rows


def table(rows, md: bool = False) -> str:
    base = rows[0][1]
    head = ["quirk switched on"] + [label for label, _ in FIGURES]
    body = [[rows[0][0]] + [f"{base[k]:.5g}" for _, k in FIGURES]]
    for name, s in rows[1:]:
        body.append([name] + [_pct(s[k], base[k]) for _, k in FIGURES])
    if md:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(r) + " |" for r in body]
        return "\n".join(out)
    w = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w[i]) if i == 0 else c.rjust(w[i])
                               for i, c in enumerate(r)) for r in [head] + body)


def registry_table() -> str:
    """The quirk registry (chip/compat.py) as the Markdown table of
    docs/neurosim-differences.md, "The quirks"."""
    from chip.compat import markdown_table
    return markdown_table()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--only", nargs="*", help="quirk names (default: all)")
    ap.add_argument("--registry", action="store_true",
                    help="print only the quirk registry table (no estimates)")
    args = ap.parse_args(argv)
    if args.registry:
        print(registry_table())
        return 0
    t0 = time.perf_counter()
    require(args.shared / TRACE, "the NeuroSim differences table")
    rows = run(args.shared, args.only)
    print(table(rows, md=args.markdown))
    print(f"\n(base row: absolute values, mm² / ns / pJ / pJ / TOPS/W; {len(rows)} estimates "
          f"in {time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
