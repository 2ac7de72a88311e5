"""neuropysim's exploration: point keys, the results store (append, torn tail, refusals), a
two-network sweep over accuracy and cost on a 2-worker Dask LocalCluster that is interrupted
and resumed, the NSGA-II search against the grid, and the command line's bad input."""
from __future__ import annotations

import csv
import json
import warnings

import numpy as np
import pytest

from chip.sweep import front_mask, pareto_mask, parse_axis, parse_objectives
from chip.synthetic import _conv, _linear, write_synthetic_trace
from conftest import cannot_run
from contracts.config import ConfigError, HardwareConfig
from contracts.staging import FolderNotOursError

try:
    import dask.distributed  # noqa: F401
    import optuna  # noqa: F401
except ImportError:                     # pragma: no cover - CI installs the test extra
    dask = None

from neuropysim.space import Source, Space, Step1Settings, accuracy_signature
from neuropysim.store import ResultStore, row_columns

PARALLEL = HardwareConfig(operation_mode="parallel")


@pytest.fixture(scope="module")
def cluster():
    """One LocalCluster of 2 workers (threads of this process: the test stays fast; the
    code path is the one a process or remote cluster takes)."""
    if dask is None:
        cannot_run("module", "dask.distributed / optuna not installed (pip install "
                             "'neuropysim[cluster]')")
    from neuropysim.backend import open_client
    with open_client(workers=2, processes=False) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        yield client


@pytest.fixture(scope="module")
def tiny_trace(tmp_path_factory):
    geoms = [_conv("c1", 3, 8, 3, 8), _conv("c2", 8, 8, 3, 8, after=("relu", "maxpool2x2")),
             _linear("fc", 128, 10)]
    return write_synthetic_trace(tmp_path_factory.mktemp("t") / "layer_record_TINY", "tiny",
                                 geoms=geoms)


# --- point keys ---------------------------------------------------------------------------
def test_points_share_step1_exactly_when_only_cost_or_dead_fields_differ():
    space = Space([Source.from_network("lenet5")], PARALLEL, Step1Settings(eval_images=50))
    points = space.grid([parse_axis("adc_bits=4,5"), parse_axis("cols_per_adc=4,8")])
    assert len({p.key for p in points}) == 4
    assert len({p.step1_key for p in points}) == 2          # one per ADC resolution
    by = {(p.values["adc_bits"], p.values["cols_per_adc"]): p for p in points}
    assert by[4, 4].step1_key == by[4, 8].step1_key != by[5, 4].step1_key
    # sequential mode: adc_bits computes nothing, so it splits no step-1 run there
    both = Space([Source.from_network("lenet5")]).grid([
        parse_axis("operation_mode=sequential,parallel"), parse_axis("adc_bits=4,5")])
    assert len({p.step1_key for p in both}) == 3
    assert [p.no_effect for p in both] == ["adc_bits", "adc_bits", "", ""]
    assert "adc_bits" not in accuracy_signature(HardwareConfig())
    # another seed or image count is another run
    other = Space([Source.from_network("lenet5")], PARALLEL, Step1Settings(eval_images=60))
    assert other.grid([parse_axis("adc_bits=4,5")])[0].step1_key != by[4, 4].step1_key


def test_a_trace_source_runs_no_step1_and_refuses_axes_without_cost_effect(tiny_trace):
    space = Space([Source.from_trace(tiny_trace)])
    points = space.grid([parse_axis("technology_node_nm=22,45")])
    assert all(p.step1_key is None for p in points)
    with pytest.raises(ConfigError, match="read_noise_sigma: no effect on the chip's cost"):
        space.grid([parse_axis("read_noise_sigma=0,0.01")])
    # with step 1, a device non-ideality is a fine axis (it moves the accuracy)
    Space([Source.from_network("lenet5")]).grid([parse_axis("read_noise_sigma=0,0.01")])
    with pytest.raises(ConfigError, match="not a trace folder"):
        Source.from_trace(tiny_trace.parent)


# --- the store ----------------------------------------------------------------------------
def test_store_appends_reopens_and_drops_a_torn_last_line(tmp_path):
    columns = row_columns(["adc_bits"])
    store = ResultStore(tmp_path / "out", columns)
    store.append({"point": "a", "network": "n", "adc_bits": 4, "status": "ok",
                  "tops_per_w": 1.5, "error": ""})
    store.append({"point": "b", "network": "n", "adc_bits": 5, "status": "error",
                  "error": 'step 1: ValueError: bad, "quoted"\n'})
    path = tmp_path / "out" / "points.csv"
    with open(path, "a") as fh:                         # a crash in the middle of a line
        fh.write("c,n,6,ok,,0.5")
    again = ResultStore(tmp_path / "out", columns)
    assert set(again.rows) == {"a", "b"}
    assert again.rows["b"]["error"] == 'step 1: ValueError: bad, "quoted"\n'
    assert again.done() == {"a", "b"} and again.done(retry_failed=True) == {"a"}
    assert path.read_text().endswith("\n")
    assert float(again.table()["tops_per_w"].iloc[0]) == 1.5
    with pytest.raises(FolderNotOursError, match="other columns"):
        ResultStore(tmp_path / "out", row_columns(["cols_per_adc"]))
    (tmp_path / "users").mkdir()
    (tmp_path / "users" / "thesis.tex").write_text("mine")
    with pytest.raises(FolderNotOursError, match="did not write"):
        ResultStore(tmp_path / "users", columns)
    with pytest.raises(ValueError, match="not in points.csv: bogus"):
        again.append({"point": "d", "bogus": 1})


def test_front_mask_three_objectives_by_hand():
    v = np.array([[0.9, 5.0, -2.0],      # best accuracy
                  [0.8, 9.0, -3.0],      # best TOPS/W
                  [0.8, 4.0, -3.0],      # beaten by both above
                  [0.7, 5.0, -1.0],      # smallest area
                  [0.9, 5.0, -2.0],      # equal to the first: not marked again
                  [np.nan, 99.0, 0.0]])  # not measured: never on the front
    assert front_mask(v).tolist() == [True, True, False, True, False, False]
    assert parse_objectives("accuracy:max, area_mm2:min") == {"accuracy": "max",
                                                              "area_mm2": "min"}
    for bad in ("accuracy", "area_mm2:small", "a:max,a:min"):
        with pytest.raises(ConfigError):
            parse_objectives(bad)
    import pandas as pd
    with pytest.raises(ConfigError, match="'fps' is not a figure"):
        pareto_mask(pd.DataFrame({"area_mm2": [1.0]}), objectives={"fps": "max"})


# --- the Dask sweep over two networks, interrupted and resumed -----------------------------
def test_two_network_sweep_on_a_local_cluster_resumes_without_losing_or_repeating(
        cluster, tmp_path):
    from neuropysim.explore import Backend, run_grid
    from chip.estimator import estimate
    from contracts.trace import read_trace
    space = Space([Source.from_network("lenet5"), Source.from_network("mlp"),
                   Source.from_network("no_such_network")], PARALLEL,
                  Step1Settings(eval_images=40))
    axes = [parse_axis("adc_bits=4,6"), parse_axis("cols_per_adc=4,8")]
    out = tmp_path / "explore"
    seen: list[str] = []

    def interrupt_after_five(row):
        seen.append(row["point"])
        if len(seen) == 5:
            raise KeyboardInterrupt                      # as Ctrl-C in the loop would

    backend = Backend(client=cluster)
    with pytest.raises(KeyboardInterrupt):
        run_grid(space, axes, out, backend=backend, on_row=interrupt_after_five, plot=False)
    first = {r["point"]: r for r in csv.DictReader(open(out / "points.csv"))}
    assert list(first) == seen                           # every finished point, in order

    outcome = run_grid(space, axes, out, backend=backend, plot=False)
    rows = list(csv.DictReader(open(out / "points.csv")))
    keys = [r["point"] for r in rows]
    assert len(keys) == len(set(keys)) == 12             # nothing lost, nothing twice
    assert outcome.ran == 12 - 5 and outcome.skipped == 5
    for key, row in first.items():                       # the first run's rows stand
        assert next(r for r in rows if r["point"] == key) == row
    # the unknown network: every point recorded with its step-1 error, the others ran
    bad = [r for r in rows if r["network"] == "no_such_network"]
    assert len(bad) == 4 and all(r["status"] == "error" and r["error"].startswith("step 1:")
                                 for r in bad)
    good = [r for r in rows if r["status"] == "ok"]
    assert not [r["error"] for r in rows if r["network"] != "no_such_network"
                and r["status"] != "ok"]
    assert {r["network"] for r in good} == {"lenet5", "mlp"} and len(good) == 8
    # one step-1 run per network and ADC resolution (cols_per_adc changes only the cost)
    assert len({r["step1_key"] for r in good}) == 4
    # a row is the step-1 trace's accuracy and chip.estimate's figures on it
    row = next(r for r in good if r["network"] == "lenet5" and r["adc_bits"] == "6"
               and r["cols_per_adc"] == "8")
    trace = read_trace(out / "traces" / f"lenet5-{row['step1_key']}")
    assert float(row["accuracy"]) == trace.manifest["accuracy"]["hardware"]
    config = PARALLEL.replace(adc_bits=6, cols_per_adc=8)
    with warnings.catch_warnings():      # the trace's own config may differ in cost fields
        warnings.simplefilter("ignore")
        figures = estimate(trace, config).summary
    assert float(row["tops_per_w"]) == figures["tops_per_w"]
    assert row["config_hash"] == config.config_hash()
    # the front: per network, over accuracy, TOPS/W and area
    assert set(outcome.front["network"]) == {"lenet5", "mlp"}
    meta = json.loads((out / "exploration.json").read_text())
    assert meta["axes"] == ["adc_bits", "cols_per_adc"] and meta["mode"] == "grid"


def test_step1_runs_count_computed_traces_not_cached_ones(cluster, tmp_path):
    """A second exploration sharing the first one's trace cache reads its trace: no step-1
    run; a network that fails step 1 runs (and fails) again and counts."""
    from neuropysim.explore import Backend, run_grid
    space = Space([Source.from_network("mlp"), Source.from_network("no_such_network")],
                  PARALLEL, Step1Settings(eval_images=20))
    axes = [parse_axis("cols_per_adc=4,8")]
    cache = tmp_path / "traces"
    first = run_grid(space, axes, tmp_path / "a", backend=Backend(client=cluster), plot=False,
                     trace_cache=str(cache))
    second = run_grid(space, axes, tmp_path / "b", backend=Backend(client=cluster), plot=False,
                      trace_cache=str(cache))
    assert first.ran == second.ran == 4
    assert first.step1_runs == 2 and second.step1_runs == 1      # mlp's trace read, not run
    rows = [list(csv.DictReader(open(tmp_path / d / "points.csv"))) for d in ("a", "b")]
    accuracy = [{r["point"]: r["accuracy"] for r in table} for table in rows]
    assert accuracy[0] == accuracy[1] and len(accuracy[0]) == 4
    assert all("_step1_reused" not in r for r in rows[0])        # not a column


# --- the search ---------------------------------------------------------------------------
def test_search_evaluates_fewer_points_and_its_front_is_not_dominated_by_the_grid(
        cluster, tiny_trace, tmp_path):
    from neuropysim.explore import Backend, run_grid
    from neuropysim.search import parse_range, run_search
    space = Space([Source.from_trace(tiny_trace)], PARALLEL)
    backend = Backend(client=cluster)
    grid = run_grid(space, [parse_axis("adc_bits=3,4,5,6"), parse_axis("cols_per_adc=4,8,16")],
                    tmp_path / "grid", backend=backend, plot=False)
    ranges = [parse_range("adc_bits=3..6"), parse_range("cols_per_adc=4,8,16")]
    found = run_search(space, ranges, tmp_path / "search", 6, population=4, seed=1,
                       backend=backend, plot=False)
    assert len(grid.table) == 12 and found.ran == 6 and len(found.table) == 6
    objectives = ("tops_per_w", "area_mm2")
    grid_points = {tuple(r) for r in grid.table[["adc_bits", "cols_per_adc"]].to_numpy()}
    for _, row in found.front.iterrows():                # a searched point is a grid point,
        assert (row["adc_bits"], row["cols_per_adc"]) in grid_points
        match = grid.table[(grid.table.adc_bits == row.adc_bits)
                           & (grid.table.cols_per_adc == row.cols_per_adc)].iloc[0]
        assert [row[k] for k in objectives] == [match[k] for k in objectives]
    again = run_search(space, ranges, tmp_path / "search", 6, population=4, seed=1,
                       backend=backend, plot=False)
    # a re-run asks again (the order results come back in may steer it elsewhere): the
    # points it meets that are known cost nothing, none is evaluated twice
    keys = [r["point"] for r in csv.DictReader(open(tmp_path / "search" / "points.csv"))]
    assert len(keys) == len(set(keys)) == 6 + again.ran
    assert again.ran + again.skipped == 6 and again.skipped >= 1
    with pytest.raises(ConfigError, match="LOW must be below HIGH"):
        parse_range("adc_bits=6..3")
    with pytest.raises(ConfigError, match="numeric field"):
        parse_range("memory_cell=rram..sram")


# --- the command line ---------------------------------------------------------------------
@pytest.mark.parametrize("argv, fragment", [
    (["--sweep", "adc_bits=4,5"], "at least one --network"),
    (["--network", "lenet5"], "give grid axes"),
    (["--network", "lenet5", "--sweep", "adc_bits=4,5", "--search", "5"], "cannot be combined"),
    (["--network", "lenet5", "--sweep", "adc_bit=4,5"], "unknown config key 'adc_bit'"),
    (["--network", "lenet5", "--range", "adc_bits=3..5", "--sweep", "adc_bits=4"],
     "--range needs --search"),
    (["--network", "lenet5", "--sweep", "cols_per_adc=4,8", "--workers", "0"], "workers=0"),
    # options that would change nothing are refused, not ignored (review)
    (["--trace", "t", "--sweep", "cols_per_adc=4,8", "--eval-images", "7"],
     "--eval-images applies to --network points"),
    (["--network", "lenet5", "--sweep", "adc_bits=4,5", "--population", "4"],
     "--population applies to --search"),
    (["--network", "lenet5", "--search", "4", "--range", "adc_bits=3..5", "--retry-failed"],
     "--retry-failed applies to a grid"),
    (["--network", "lenet5", "--sweep", "adc_bits=4,5", "--objectives", "foo:max"],
     "--objectives names 'foo'"),
    # misspelt sources fail before the cluster starts, not as points every re-run skips
    (["--network", "lenet55", "--sweep", "adc_bits=4,5"], "lenet55"),
    (["--network", "lenet5", "--dataset", "mnist6k", "--sweep", "adc_bits=4,5"],
     "--dataset 'mnist6k' is neither a data set"),
])
def test_cli_bad_input_is_one_line_and_exit_2(argv, fragment, tmp_path, capsys):
    from neuropysim.sweep import main
    code = main([*argv, "--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and fragment in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o" / "points.csv").exists()


def test_cli_cost_only_trace_sweep(cluster, tiny_trace, tmp_path, capsys, monkeypatch):
    import contextlib
    import neuropysim.explore
    from neuropysim.sweep import main
    # the command line's local cluster is the module's (the same code, without a start-up)
    monkeypatch.setattr(neuropysim.explore, "open_client",
                        lambda *a, **k: contextlib.nullcontext(cluster))
    code = main(["--trace", str(tiny_trace), "--set", "operation_mode=parallel",
                 "--sweep", "cols_per_adc=4,8", "--activity", "stats",
                 "--out", str(tmp_path / "o")])
    out = capsys.readouterr().out
    assert code == 0 and "2 points (2 run now" in out
    rows = list(csv.DictReader(open(tmp_path / "o" / "points.csv")))
    assert [r["activity_model"] for r in rows] == ["stats", "stats"]
    assert all(r["accuracy"] == "" for r in rows)      # the synthetic trace has none
    assert (tmp_path / "o" / "points.png").is_file()
    assert (tmp_path / "o" / "pareto.csv").is_file()
