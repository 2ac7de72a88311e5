"""Record the golden figures: estimate every case, print what changed against the previous
recording, then rewrite the recordings that changed.

    python tests/golden/record.py                    # every case (NeuroSim's: ../shared)
    python tests/golden/record.py --only 'vgg8/*'    # glob on case names (or a substring)
    python tests/golden/record.py --check            # diff only, exit 1 on a change
    python tests/golden/record.py --list             # case names, CI subset marked

Re-record only for an intended change, and paste the printed summary of changed figures
into the commit message. Recordings whose figures are all within tolerance are left as they
are (byte-identical), so a commit shows exactly the cases that changed.
"""
from __future__ import annotations

import argparse
import fnmatch
import math
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.golden import figures as golden               # noqa: E402
from tests.golden.cases import Case, all_cases           # noqa: E402

PER_CASE_LINES = 8


@dataclass
class Outcome:
    case: Case
    old: dict | None            # previous recording, None if there was none
    new: dict
    mismatches: list[golden.Mismatch]


def select(cases: list[Case], patterns: list[str]) -> list[Case]:
    """Cases whose name matches a glob (or contains a plain pattern); all without patterns."""
    if not patterns:
        return cases

    def hit(name: str, pattern: str) -> bool:
        if any(ch in pattern for ch in "*?["):
            return fnmatch.fnmatchcase(name, pattern)
        return pattern in name

    chosen = [c for c in cases if any(hit(c.name, p) for p in patterns)]
    if not chosen:
        raise SystemExit(f"error: --only {' '.join(patterns)} matches no case (see --list)")
    return chosen


def _family(figure: str) -> str:
    """The figure with its layer name replaced by '*': one line per kind of figure."""
    figure = re.sub(r"^layers\[[^\]]*\]", "layers[*]", figure)
    return re.sub(r"^(breakdown\.\w+)\[[^/\]]*/", r"\1[*/", figure)


def _rel(m: golden.Mismatch) -> str:
    r = m.relative
    return f"{r:+.3e}" if math.isfinite(r) else ("new" if m.old is golden.MISSING else
                                                   "gone" if m.new is golden.MISSING else
                                                   "from zero")


def summary_text(outcomes: list[Outcome], gone: list[Path], verbose: bool) -> str:
    """What changed, by how much: per kind of figure over all cases, then per case."""
    changed = [o for o in outcomes if o.old is not None and o.mismatches]
    new = [o for o in outcomes if o.old is None]
    same = len(outcomes) - len(changed) - len(new)
    lines = [f"golden figures vs the previous recording: {len(outcomes)} cases run; {same} "
             f"unchanged, {len(changed)} changed, {len(new)} new, {len(gone)} gone"]
    families: dict[str, list[tuple[str, golden.Mismatch]]] = {}
    for o in changed:
        for m in o.mismatches:
            families.setdefault(_family(m.figure), []).append((o.case.name, m))
    if families:
        lines.append("changed figures (kind: cases, figures, relative change min .. max):")
    for fam, hits in sorted(families.items(), key=lambda kv: golden.ordered([kv[0]])):
        rels = sorted(m.relative for _, m in hits if math.isfinite(m.relative))
        kinds = [_rel(m) for _, m in hits if not math.isfinite(m.relative)]
        parts = [f"{rels[0]:+.3e} .. {rels[-1]:+.3e}"] if rels else []
        parts += [f"{kinds.count(k)} {k}" for k in ("new", "gone", "from zero") if k in kinds]
        span = ", ".join(parts)
        lines.append(f"  {fam}: {len({c for c, _ in hits})} cases, {len(hits)} figures, "
                     f"{span}")
    for o in changed:
        lines.append(f"{o.case.name}: {len(o.mismatches)} figure(s) changed")
        shown = o.mismatches if verbose else o.mismatches[:PER_CASE_LINES]
        lines += [f"    {m.line()}" for m in shown]
        if len(shown) < len(o.mismatches):
            lines.append(f"    ... {len(o.mismatches) - len(shown)} more (--verbose lists all)")
    lines += [f"new case: {o.case.name}" for o in new]
    lines += [f"gone (recording of no defined case, removed): {p.name}" for p in gone]
    return "\n".join(lines)


def _print(text: str) -> None:
    """Print; a reader that stops early (``| head``) does not stop the recording."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def run(cases: list[Case], quiet: bool = False) -> list[Outcome]:
    traces = golden.TraceCache()
    outcomes = []
    try:
        for i, case in enumerate(cases, start=1):
            t0 = time.perf_counter()
            new = golden.run_case(case, traces)
            path = golden.recording_path(case)
            old = golden.load(path) if path.exists() else None
            diff = golden.compare(old, new) if old is not None else []
            outcomes.append(Outcome(case, old, new, diff))
            if not quiet:
                print(f"[{i}/{len(cases)}] {case.name}: {time.perf_counter() - t0:.2f} s"
                      f"{'' if old is None else f', {len(diff)} changed'}", file=sys.stderr)
    finally:
        traces.close()
    return outcomes


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", action="append", default=[], metavar="PATTERN",
                    help="cases whose name matches this glob or contains it (repeatable)")
    ap.add_argument("--check", action="store_true", help="print the diff, write nothing, "
                    "exit 1 if a figure changed")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--verbose", action="store_true", help="list every changed figure")
    ap.add_argument("--quiet", action="store_true", help="no per-case progress lines")
    args = ap.parse_args(argv)
    cases = select(all_cases(), args.only)
    if args.list:
        _print("\n".join(f"{'ci  ' if c.ci else 'full'} {c.name}" for c in cases))
        return 0
    if not golden.NEUROSIM_TRACE.exists():
        kept = [c for c in cases if c.needs_shared]
        cases = [c for c in cases if not c.needs_shared]
        if kept:
            print(f"note: {golden.NEUROSIM_TRACE} absent: {len(kept)} NeuroSim cases not run, "
                  f"their recordings kept", file=sys.stderr)
    outcomes = run(cases, args.quiet)
    defined = {golden.recording_path(c) for c in all_cases()}
    gone = [] if args.only else sorted(p for p in golden.RECORDED_DIR.glob("*.json.gz")
                                       if p not in defined)
    _print(summary_text(outcomes, gone, args.verbose))
    if args.check:
        return 1 if gone or any(o.old is None or o.mismatches for o in outcomes) else 0
    golden.RECORDED_DIR.mkdir(parents=True, exist_ok=True)
    for o in outcomes:
        if o.old is None or o.mismatches:
            golden.save(o.case, o.new)
    for path in gone:
        path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
