"""Output folders are rewritten only when empty or ours (contracts.staging), atomically, and
a user's own files in them are kept."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from contracts.neurosim_writer import export_neurosim
from contracts.results import ACCURACY_FILE, RESULTS_KIND, results_to_keep
from contracts.staging import (FolderNotOursError, Terminated, check_replaceable,
                               exit_cleanly_on_sigterm, remove_stale_siblings, staged_folder,
                               write_text_atomic)
from contracts.trace import TRACE_KIND, LayerGeometry, LayerTrace, read_trace, write_trace


def _layers(seed=0, images=1):
    rng = np.random.default_rng(seed)
    fc = LayerGeometry(name="fc", kind="linear", in_channels=16, out_channels=4)
    return [LayerTrace(fc, rng.integers(-128, 128, fc.weight_shape), 1 / 128,
                       rng.integers(0, 128, fc.input_shape(images)), 1 / 255)]  # NeuroSim: 8 bits


def _user_folder(path: Path) -> Path:
    path.mkdir()
    (path / "thesis.tex").write_text("years of work")
    (path / "data").mkdir()
    (path / "data" / "x.csv").write_text("1,2")
    return path


def _files(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): p.read_text() for p in sorted(path.rglob("*"))
            if p.is_file()}


def _no_leftovers(parent: Path) -> None:
    assert not [p.name for p in parent.iterdir() if p.name.startswith(".")]


def test_trace_into_a_user_folder_is_refused_and_the_files_survive(tmp_path):
    docs = _user_folder(tmp_path / "mydocs")
    before = _files(docs)
    with pytest.raises(FolderNotOursError, match=r"^trace_dir='.*mydocs' exists and holds "
                                                  r"files this tool did not write"):
        write_trace(docs, "T", _layers(), {}, "h")
    assert _files(docs) == before
    _no_leftovers(tmp_path)


def test_a_json_file_of_someone_else_is_not_our_marker(tmp_path):
    docs = tmp_path / "other"
    docs.mkdir()
    (docs / "manifest.json").write_text(json.dumps({"format": "someone-else"}))
    with pytest.raises(FolderNotOursError):
        write_trace(docs, "T", _layers(), {}, "h")
    (docs / "manifest.json").write_text("not json at all")
    with pytest.raises(FolderNotOursError):
        write_trace(docs, "T", _layers(), {}, "h")
    assert [p.name for p in docs.iterdir()] == ["manifest.json"]


def test_an_existing_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(FolderNotOursError, match="is an existing file"):
        write_trace(tmp_path / "f", "T", _layers(), {}, "h")
    assert (tmp_path / "f").read_text() == "x"


def test_empty_folders_and_our_traces_are_replaced_keeping_the_users_files(tmp_path):
    target = tmp_path / "rec"
    target.mkdir()
    write_trace(target, "T", _layers(0), {}, "h1")                 # empty: fine
    (target / "notes.txt").write_text("mine")                      # the user's
    (target / "plots").mkdir()
    (target / "plots" / "a.csv").write_text("1")
    write_trace(target, "T", _layers(1), {}, "h2")                 # ours: rewritten
    assert read_trace(target).manifest["config_hash"] == "h2"
    assert (target / "notes.txt").read_text() == "mine"
    assert (target / "plots" / "a.csv").read_text() == "1"
    assert check_replaceable(target, TRACE_KIND) == ["notes.txt", "plots"]
    _no_leftovers(tmp_path)


def test_a_users_file_under_a_name_we_write_stops_the_swap(tmp_path):
    target = tmp_path / "rec"
    write_trace(target, "T", _layers(0), {}, "h1")
    (target / "layer001_fc.npz").write_bytes(b"user data")         # not in the manifest
    write_trace(target, "T", _layers(1), {}, "h2")                 # writes layer000 only
    assert (target / "layer001_fc.npz").read_bytes() == b"user data"
    clash = [LayerTrace(g.geometry, g.weight_codes, g.weight_scale, g.input_codes, g.input_scale)
             for g in _layers(2)] * 2                                # layer000 and layer001
    with pytest.raises(FolderNotOursError, match="holds 'layer001_fc.npz', which this tool did "
                                                 "not write"):
        write_trace(target, "T", clash, {}, "h3")
    assert read_trace(target).manifest["config_hash"] == "h2"
    assert (target / "layer001_fc.npz").read_bytes() == b"user data"
    _no_leftovers(tmp_path)


def test_failure_mid_write_leaves_the_old_trace_intact(tmp_path):
    target = tmp_path / "rec"
    write_trace(target, "T", _layers(0), {}, "old")
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    with pytest.raises(RuntimeError, match="disk full"):
        with staged_folder(target, TRACE_KIND) as st:
            (st / "manifest.json").write_text("{}")
            raise RuntimeError("disk full")
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    _no_leftovers(tmp_path)


def test_failure_of_the_final_rename_puts_the_old_folder_back(tmp_path, monkeypatch):
    target = tmp_path / "rec"
    write_trace(target, "T", _layers(0), {}, "old")
    real_rename = Path.rename

    def rename(self, dest):
        if Path(dest) == target and self.name.startswith(".rec.staging-"):
            raise OSError("rename failed")                  # staging -> target
        return real_rename(self, dest)

    monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(OSError, match="rename failed"):
        write_trace(target, "T", _layers(1), {}, "new")
    monkeypatch.undo()
    assert read_trace(target).manifest["config_hash"] == "old"
    _no_leftovers(tmp_path)


def test_a_symlinked_trace_folder_is_written_through(tmp_path):
    real = tmp_path / "disk" / "rec"
    write_trace(real, "T", _layers(0), {}, "old")
    link = tmp_path / "rec"
    link.symlink_to(real, target_is_directory=True)
    write_trace(link, "T", _layers(1), {}, "new")
    assert link.is_symlink() and read_trace(link).manifest["config_hash"] == "new"


def test_neurosim_export_replaces_its_own_export_only(tmp_path):
    write_trace(tmp_path / "rec", "T", _layers(), {}, "h")
    trace = read_trace(tmp_path / "rec")
    out = export_neurosim(trace, tmp_path / "ns")
    export_neurosim(trace, out)                                     # ours: replaced
    docs = _user_folder(tmp_path / "docs")
    with pytest.raises(FolderNotOursError, match="^neurosim_export="):
        export_neurosim(trace, docs)
    assert _files(docs) == {"data/x.csv": "1,2", "thesis.tex": "years of work"}


def _summary(trace_hash: str) -> str:
    return json.dumps({"format": "neuropysim-chip-summary", "network": "net", "area_mm2": 1.0,
                       "tops_per_w": 2.0, "config_hash": "c", "latency_per_image_ns": 3.0,
                       "trace_config_hash": trace_hash})


def test_results_folder_keeps_the_other_steps_files_of_the_same_trace_only(tmp_path):
    results = tmp_path / "results" / "net"
    results.mkdir(parents=True)
    (results / ACCURACY_FILE).write_text(json.dumps({"format": "neuropysim-accuracy",
                                                     "config_hash": "h1"}))
    (results / "notes.txt").write_text("mine")
    assert RESULTS_KIND.owned(results) == {ACCURACY_FILE}
    keep, note = results_to_keep(results, 2, "h1")                  # step 2 on trace h1
    assert keep == [ACCURACY_FILE] and note is None
    with staged_folder(results, RESULTS_KIND, keep=keep) as st:
        (st / "summary.json").write_text(_summary("h1"))
    assert sorted(p.name for p in results.iterdir()) == [ACCURACY_FILE, "notes.txt",
                                                          "summary.json"]
    keep, note = results_to_keep(results, 1, "h2")                  # step 1 made a new trace
    assert keep == [] and "step 2's chip results (trace config h1)" in note
    with staged_folder(results, RESULTS_KIND, keep=keep) as st:
        (st / ACCURACY_FILE).write_text(json.dumps({"format": "neuropysim-accuracy",
                                                    "config_hash": "h2"}))
    assert sorted(p.name for p in results.iterdir()) == [ACCURACY_FILE, "notes.txt"]
    keep, note = results_to_keep(results, 2, "h1")                  # step 2 on an older trace
    assert keep == [] and "step 1's accuracy.json (trace config h2)" in note


def test_chip_results_into_a_user_folder_are_refused_before_any_work(tmp_path):
    from chip.report import write_results

    docs = _user_folder(tmp_path / "docs")
    with pytest.raises(FolderNotOursError, match="^out="):
        write_results(object(), docs)                       # refused before reading the report
    assert _files(docs) == {"data/x.csv": "1,2", "thesis.tex": "years of work"}


def test_check_replaceable_accepts_missing_and_empty(tmp_path):
    check_replaceable(tmp_path / "missing", None)
    (tmp_path / "empty").mkdir()
    check_replaceable(tmp_path / "empty", None)
    with pytest.raises(FolderNotOursError):
        check_replaceable(_user_folder(tmp_path / "u"), None)


def test_stale_siblings_of_dead_processes_are_removed_live_ones_kept(tmp_path):
    target = tmp_path / "rec"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = tmp_path / f".rec.staging-{dead}-0123456789ab"
    stale.mkdir()
    (stale / "manifest.json").write_text("{}")
    old = tmp_path / f".rec.old-{dead}-0123456789ab"
    old.mkdir()
    live = tmp_path / f".rec.staging-{os.getpid()}-0123456789ab"   # this process: in use
    live.mkdir()
    other = tmp_path / f".other.staging-{dead}-0123456789ab"        # another target's
    other.mkdir()
    assert sorted(p.name for p in remove_stale_siblings(target)) == sorted([stale.name, old.name])
    assert live.exists() and other.exists() and not stale.exists()
    write_trace(target, "T", _layers(), {}, "h")                   # a writer cleans up too
    assert live.exists()


def test_sigterm_while_writing_leaves_no_staging_folder(tmp_path):
    previous = signal.getsignal(signal.SIGTERM)
    exit_cleanly_on_sigterm()
    try:
        with pytest.raises(Terminated):
            with staged_folder(tmp_path / "rec", TRACE_KIND) as staging:
                (staging / "manifest.json").write_text("{}")
                os.kill(os.getpid(), signal.SIGTERM)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert list(tmp_path.iterdir()) == []


def test_write_text_atomic_replaces_and_leaves_no_temporary(tmp_path):
    path = write_text_atomic(tmp_path / "a" / "r.json", "1")
    write_text_atomic(path, "2")
    assert path.read_text() == "2" and [p.name for p in path.parent.iterdir()] == ["r.json"]
