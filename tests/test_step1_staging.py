"""Output folders are replaced only when empty or ours (contracts.staging), atomically."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from contracts.neurosim_writer import export_neurosim
from contracts.staging import (ACCURACY_FILE, FolderNotOursError, check_replaceable,
                         results_folder_is_ours, staged_folder, write_text_atomic)
from contracts.trace import LayerGeometry, LayerTrace, read_trace, write_trace


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


def test_empty_folders_and_our_traces_are_replaced(tmp_path):
    target = tmp_path / "rec"
    target.mkdir()
    write_trace(target, "T", _layers(0), {}, "h1")                 # empty: fine
    (target / "layer999_stale.npz").write_bytes(b"old")            # a file of an older trace
    write_trace(target, "T", _layers(1), {}, "h2")                 # ours: replaced whole
    assert read_trace(target).manifest["config_hash"] == "h2"
    assert not (target / "layer999_stale.npz").exists()
    _no_leftovers(tmp_path)


def test_failure_mid_write_leaves_the_old_trace_intact(tmp_path):
    target = tmp_path / "rec"
    write_trace(target, "T", _layers(0), {}, "old")
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    with pytest.raises(RuntimeError, match="disk full"):
        with staged_folder(target, ("manifest.json", "format", "neuropysim-trace")) as st:
            (st / "manifest.json").write_text("{}")
            raise RuntimeError("disk full")
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    _no_leftovers(tmp_path)


def test_failure_of_the_final_rename_puts_the_old_folder_back(tmp_path, monkeypatch):
    target = tmp_path / "rec"
    write_trace(target, "T", _layers(0), {}, "old")
    real_rename = Path.rename

    def rename(self, dest):
        if Path(dest) == target and self.name.startswith(".rec.") and "old-" not in self.name:
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


def test_results_folder_keeps_step_1_accuracy_report(tmp_path):
    results = tmp_path / "results" / "net"
    write_text_atomic(results / ACCURACY_FILE,
                      json.dumps({"format": "neuropysim-accuracy", "network": "net"}))
    assert results_folder_is_ours(results)
    with staged_folder(results, results_folder_is_ours, keep=(ACCURACY_FILE,)) as st:
        (st / "summary.json").write_text(json.dumps(
            {"network": "net", "area_mm2": 1.0, "tops_per_w": 2.0, "config_hash": "h",
             "latency_per_image_ns": 3.0}))
    assert sorted(p.name for p in results.iterdir()) == [ACCURACY_FILE, "summary.json"]
    (results / ACCURACY_FILE).unlink()
    assert results_folder_is_ours(results)                  # step 2's summary.json alone
    with staged_folder(results, results_folder_is_ours, keep=(ACCURACY_FILE,)) as st:
        (st / "summary.json").write_text("{}")
    assert [p.name for p in results.iterdir()] == ["summary.json"]


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


def test_write_text_atomic_replaces_and_leaves_no_temporary(tmp_path):
    path = write_text_atomic(tmp_path / "a" / "r.json", "1")
    write_text_atomic(path, "2")
    assert path.read_text() == "2" and [p.name for p in path.parent.iterdir()] == ["r.json"]
