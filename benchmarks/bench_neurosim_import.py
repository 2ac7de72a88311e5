"""Time and peak memory of reading DNN+NeuroSim's whole VGG-8 trace (issue 6: < 20 s, < 1 GB).

Each case runs in a fresh Python process, so its peak resident set size (ru_maxrss) is its
own: the ``.tar.xz`` as shipped (streamed, nothing unpacked to disk) and an unpacked folder
(unpacked once into a temporary folder, or given with --folder).

    python benchmarks/bench_neurosim_import.py [--shared ../shared/neurosim-vgg8]
                                               [--folder /tmp/nsvgg8/layer_record_VGG8] [--json]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
from benchmarks.shared_data import require  # noqa: E402

DEFAULT_SHARED = REPO.parent / "shared" / "neurosim-vgg8"
LIMIT_S, LIMIT_BYTES = 20.0, 1 << 30

_CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {repo!r})
import numpy as np
from contracts.neurosim_reader import read_neurosim
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
start = time.perf_counter()
trace = read_neurosim({source!r}, network_csv={network!r})
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({{"seconds": seconds, "peak_bytes": peak, "baseline_bytes": base,
                   "layers": len(trace.layers),
                   "codes_bytes": sum(l.weight_codes.nbytes + l.input_codes.nbytes
                                      for l in trace.layers)}}))
"""


def run_case(source: Path, network: Path) -> dict:
    code = _CHILD.format(repo=str(REPO), source=str(source), network=str(network))
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED,
                        help="folder holding layer_record_VGG8.tar.xz and NetWork_VGG8.csv")
    parser.add_argument("--folder", type=Path, default=None,
                        help="an unpacked layer_record_VGG8 folder (default: unpack to a temp dir)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    archive = args.shared / "layer_record_VGG8.tar.xz"
    require(archive, "the NeuroSim import benchmark")
    network = args.shared / "NetWork_VGG8.csv"
    if not archive.is_file():
        print(f"{archive} not present: nothing to benchmark", file=sys.stderr)
        return 2
    results = {"archive": run_case(archive, network)}
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.folder
        if folder is None:
            with tarfile.open(archive, "r:xz") as tar:
                try:
                    tar.extractall(tmp, filter="data")
                except TypeError:          # Python without extraction filters
                    tar.extractall(tmp)
            folder = Path(tmp) / "layer_record_VGG8"
        results["folder"] = run_case(folder, network)
    ok = all(r["seconds"] < LIMIT_S and r["peak_bytes"] < LIMIT_BYTES for r in results.values())
    if args.json:
        print(json.dumps({"cases": results, "within_limits": ok}, indent=2))
    else:
        print(f"{'case':8} {'time s':>7} {'peak MB':>8} {'python+numpy MB':>16} {'codes MB':>9}")
        for name, r in results.items():
            print(f"{name:8} {r['seconds']:7.2f} {r['peak_bytes'] / 2**20:8.0f} "
                  f"{r['baseline_bytes'] / 2**20:16.0f} {r['codes_bytes'] / 2**20:9.1f}")
        print(f"limits {LIMIT_S:.0f} s and {LIMIT_BYTES / 2**20:.0f} MB: "
              f"{'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
