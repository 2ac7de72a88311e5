"""Golden figures: every figure of summary.json, layers.csv and breakdown.csv stays as recorded.

The cases (tests/golden/cases.py) are every preset x compat mode on seeded synthetic
LeNet-5, VGG-8 and ResNet-18 (ImageNet) traces and on NeuroSim's VGG-8 trace import, every
variant of benchmarks/compare_neurosim.py, and a few non-default points. Each figure must
equal its recording to a relative 1e-9 (breakdown.csv compared as sums per layer/category,
sums per layer/level and all values per layer and metric, the last two as bags without
names, so renaming a node or level of the cost tree changes nothing). A failure lists
every figure that moved.

    python -m pytest tests/test_golden.py                         # CI subset (15-25 s)
    NEUROPYSIM_GOLDEN=all python -m pytest tests/test_golden.py   # all cases (about 2 min)
    python tests/golden/record.py --only 'vgg8/*'                 # re-record (intended change)

Re-record only for an intended change and paste the recorder's summary of changed figures
into the commit message (docs/golden-figures.md). NeuroSim's cases skip without ../shared.
"""
from __future__ import annotations

import copy
import os

import pytest

from tests.conftest import shared_path
from tests.golden import api
from tests.golden import figures as golden
from tests.golden.cases import all_cases

FULL = os.environ.get("NEUROPYSIM_GOLDEN", "").strip().lower() == "all"
CASES = all_cases()
SELECTED = [c for c in CASES if FULL or c.ci]


@pytest.fixture(scope="module")
def traces():
    cache = golden.TraceCache()
    yield cache
    cache.close()


@pytest.mark.parametrize("case", SELECTED, ids=[c.name for c in SELECTED])
def test_figures_as_recorded(case, traces):
    path = golden.recording_path(case)
    assert path.exists(), (f"{case.name}: no recording {path.name}; record it with "
                           f"`python tests/golden/record.py --only '{case.name}'`")
    if case.needs_shared:
        shared_path("neurosim-vgg8", golden.NEUROSIM_TRACE.name)
    mismatches = golden.compare(golden.load(path), golden.run_case(case, traces))
    assert not mismatches, golden.format_mismatches(case.name, mismatches)


def test_full_set():
    """Placeholder that says how to run the other cases."""
    if not FULL:
        pytest.skip(f"{len(CASES) - len(SELECTED)} more golden cases run with "
                    f"NEUROPYSIM_GOLDEN=all")


def test_every_case_recorded_and_no_stale_recordings():
    expected = {golden.recording_path(c).name for c in CASES}
    present = {p.name for p in golden.RECORDED_DIR.glob("*.json.gz")}
    assert not expected - present, f"cases without a recording: {sorted(expected - present)}"
    assert not present - expected, (f"recordings of no defined case (record.py removes "
                                    f"them): {sorted(present - expected)}")


def test_ci_subset_covers_every_preset_compat_mode_and_network():
    from tests.golden.cases import COMPAT_MODES, NEUROSIM, SYNTHETIC
    ci = [c for c in CASES if c.ci]
    covered = {(c.preset, c.compat) for c in ci if c.source == "lenet5" and not c.changes}
    assert covered == {(p, m) for p in api.PRESETS for m in COMPAT_MODES}
    for source in SYNTHETIC:
        assert {"default", "neurosim-1.4-default"} <= {c.preset for c in ci
                                                        if c.source == source}
    assert any(c.source == NEUROSIM for c in ci)


# --- the comparator fails on a changed figure ---------------------------------------------
@pytest.fixture(scope="module")
def recording():
    case = next(c for c in CASES if c.name == "lenet5/default/none")
    return golden.load(golden.recording_path(case))


def _perturbed(recording, factor: float):
    """A copy with one figure of each kind scaled by ``factor``; returns (copy, names)."""
    new = copy.deepcopy(recording)
    s = new["scalars"]
    picks = ["summary.dynamic_energy_per_image_pJ", "summary.area_breakdown_mm2.adc",
             next(k for k in s if k.startswith("layers[") and k.endswith("].latency_ns")),
             next(k for k in s if k.startswith("breakdown.by_category["))]
    for key in picks:
        s[key] *= factor
    for kind in ("breakdown.level_sums[", "breakdown.values["):
        bag = next(k for k, v in new["multisets"].items() if k.startswith(kind) and len(v) > 2)
        new["multisets"][bag][1] *= factor
        new["multisets"][bag].sort()
        picks.append(f"{bag} value")
    return new, picks


def test_comparator_reports_every_changed_figure(recording):
    assert golden.compare(recording, copy.deepcopy(recording)) == []
    new, changed = _perturbed(recording, 1 + 1e-6)
    found = golden.compare(recording, new)
    assert sorted(m.figure for m in found) == sorted(changed)
    for m in found:
        assert m.relative == pytest.approx(1e-6, rel=1e-3)
    message = golden.format_mismatches("lenet5/default/none", found)
    assert all(name in message for name in changed) and "6 figure(s)" in message


def test_comparator_tolerates_float_noise_only(recording):
    new, _ = _perturbed(recording, 1 + 1e-12)
    assert golden.compare(recording, new) == []


def test_comparator_reports_gone_new_and_zero_figures(recording):
    new = copy.deepcopy(recording)
    gone = "summary.tops_per_w"
    del new["scalars"][gone]
    new["scalars"]["summary.brand_new_pJ"] = 1.0
    zero = next(k for k, v in recording["scalars"].items() if v == 0 and not isinstance(v, bool))
    new["scalars"][zero] = 1e-12            # from an exact zero: absolute tolerance 1e-15
    bag = next(iter(new["multisets"]))
    new["multisets"][bag] = new["multisets"][bag] + [7.0]
    found = {m.figure: m for m in golden.compare(recording, new)}
    assert set(found) == {gone, "summary.brand_new_pJ", zero, f"{bag} value"}
    assert found[gone].new is golden.MISSING and found["summary.brand_new_pJ"].old is \
        golden.MISSING
    assert found[f"{bag} value"].new == 7.0
    assert "now missing" in found[gone].line() and "from zero" in found[zero].line()


@pytest.fixture(scope="module")
def results(tmp_path_factory, traces):
    """Result files of one LeNet-5 case (written once) and their figures."""
    case = next(c for c in CASES if c.name == "lenet5/neurosim-1.4-default/neurosim-1.4")
    with pytest.warns(api.ProvenanceWarning):         # priced on another config on purpose
        report = api.estimate(traces.get(case.source), case.config())
    folder, _ = api.write_results(report, tmp_path_factory.mktemp("golden") / "a", plot=False)
    return folder, golden.figures_of_results(folder)


def _edited_breakdown(folder, dest, edit):
    """A copy of the result ``folder`` at ``dest`` whose breakdown.csv rows went through
    ``edit(rows) -> rows``."""
    import csv
    import shutil

    shutil.copytree(folder, dest)
    with open(folder / "breakdown.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    with open(dest / "breakdown.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(edit(rows))
    return dest


def test_figures_do_not_depend_on_breakdown_row_order_or_names(results, tmp_path):
    """Renaming components and levels and shuffling breakdown.csv rows leaves every figure
    as it was, bit for bit."""
    folder, before = results

    def rename_and_reverse(rows):
        for i, row in enumerate(rows):
            row["component"] = f"renamed_{i}"
            row["level"] = row["level"].upper()
        return rows[::-1]

    renamed = _edited_breakdown(folder, tmp_path / "b", rename_and_reverse)
    assert golden.figures_of_results(renamed) == before


@pytest.mark.parametrize("column, other", [("category", "buffer"), ("level", "tile")])
def test_a_node_moved_to_another_category_or_level_is_reported(results, tmp_path, column,
                                                               other):
    folder, before = results

    def move_one(rows):
        row = next(r for r in rows if r[column] != other and r["metric"] == "dynamic_energy"
                   and r["layer"] != "chip")
        row[column] = other
        return rows

    found = golden.compare(before, golden.figures_of_results(
        _edited_breakdown(folder, tmp_path / "b", move_one)))
    kind = "by_category" if column == "category" else "level_sums"
    assert found and all(kind in m.figure for m in found)


def test_recorder_summary_names_each_changed_kind_of_figure(recording):
    from tests.golden import record
    case = next(c for c in CASES if c.name == "lenet5/default/none")
    new, changed = _perturbed(recording, 1.01)
    del new["scalars"]["summary.tops"]
    text = record.summary_text([record.Outcome(case, recording, new,
                                               golden.compare(recording, new))], [], False)
    assert "1 changed" in text and "summary.tops: 1 cases, 1 figures, 1 gone" in text
    assert "summary.dynamic_energy_per_image_pJ: 1 cases, 1 figures, +1.000e-02" in text
    assert "breakdown.by_category[*/" in text and "breakdown.level_sums[*/" in text
    assert all(f"    {name}: " in text for name in changed)         # per-case lines
