import json
import os
import signal

import pytest

from ffnn.sweep import sweep
from ffnn.sweep.spec import expand, load_spec

from .conftest import by_key


def test_serial_sweep_writes_a_record_per_cell_and_the_table(tiny_spec, tmp_path):
    res = sweep(tiny_spec(), tmp_path / "out", jobs=1, progress=False)
    assert (res.n_cells, res.n_run, res.n_skipped, res.n_failed) == (8, 8, 0, 0)
    cells = expand(load_spec(tiny_spec()))
    for c in cells:
        rec = json.loads((res.out / "cells" / f"{c.key}.json").read_text())
        assert rec["status"] == "ok" and rec["params"] == c.params
    lines = (res.out / "results.csv").read_text().splitlines()
    assert len(lines) == 9
    head = lines[0].split(",")
    for col in ("key", "seed", "width", "lr", "hidden", "test_accuracy", "wall_s", "status"):
        assert col in head
    assert all(0 <= r["test_accuracy"] <= 1 for r in res.rows)


def test_rerun_skips_finished_cells(tiny_spec, tmp_path):
    first = sweep(tiny_spec(), tmp_path / "out", jobs=1, progress=False)
    again = sweep(tiny_spec(), tmp_path / "out", jobs=1, progress=False)
    assert (again.n_run, again.n_skipped) == (0, 8)
    assert by_key(again.rows) == by_key(first.rows)


def test_half_finished_sweep_resumes_to_the_same_table(tiny_spec, tmp_path):
    seen = []

    def stop_after_three(record):
        seen.append(record["key"])
        if len(seen) == 3:
            raise KeyboardInterrupt

    cut = sweep(tiny_spec(), tmp_path / "out", jobs=1, progress=False, on_record=stop_after_three)
    assert cut.interrupted and len(cut.rows) == 3
    rest = sweep(tiny_spec(), tmp_path / "out", jobs=1, progress=False)
    assert (rest.n_skipped, rest.n_run) == (3, 5)
    whole = sweep(tiny_spec(), tmp_path / "fresh", jobs=1, progress=False)
    assert by_key(rest.rows) == by_key(whole.rows)


def test_a_failing_cell_is_recorded_and_the_others_run(tmp_path):
    spec = {
        "sweep": {"seeds": 1},
        "fixed": {"epochs": 2, "validation": 0.0, "hidden": [4]},
        "grid": {"data": ["iris", str(tmp_path / "missing.csv"), "wine"]},
    }
    res = sweep(spec, tmp_path / "out", jobs=1, progress=False)
    status = {r["data"]: r["status"] for r in res.rows}
    assert list(status.values()) == ["ok", "error", "ok"]
    bad = next(r for r in res.rows if r["status"] == "error")
    assert "missing.csv" in bad["error"]
    assert sweep(spec, tmp_path / "out", jobs=1, progress=False).n_run == 0
    assert sweep(spec, tmp_path / "out", jobs=1, progress=False, retry_failed=True).n_run == 1


def test_files_kept_when_asked(tmp_path):
    from ffnn import load_model

    spec = {
        "sweep": {"save": ["model", "history"]},
        "fixed": {"data": "iris", "epochs": 3},
        "grid": {"width": [4], "depth": [1]},
    }
    res = sweep(spec, tmp_path / "out", jobs=1, progress=False)
    folder = res.out / "cells" / res.rows[0]["key"]
    net, meta = load_model(folder / "model.safetensors")
    assert net.widths == [4, 4, 3]
    assert len(json.loads((folder / "history.json").read_text())["records"]) == 3


def test_two_local_processes_give_the_serial_metrics(tiny_spec, tmp_path):
    serial = sweep(tiny_spec(), tmp_path / "a", jobs=1, progress=False)
    loky = sweep(tiny_spec(), tmp_path / "b", jobs=2, progress=False)
    assert loky.backend.startswith("loky") and loky.n_run == 8
    assert by_key(loky.rows) == by_key(serial.rows)
    assert len({r["worker"] for r in loky.rows}) >= 1


def test_a_killed_local_worker_loses_only_running_cells(tiny_spec, tmp_path):
    killed = []

    def kill_first_worker(record):
        if not killed:
            killed.append(record["pid"])
            os.kill(record["pid"], signal.SIGKILL)

    spec = tiny_spec(epochs=40)
    res = sweep(spec, tmp_path / "out", jobs=2, progress=False, on_record=kill_first_worker)
    assert killed and res.n_run == 8 and res.n_failed == 0
    # only the cell given to the dead worker (if any) runs again; the other worker's running
    # cell and the queued ones are untouched
    assert res.n_retried <= 1
    assert sum(r["attempts"] > 1 for r in res.rows) == res.n_retried
    serial = sweep(spec, tmp_path / "serial", jobs=1, progress=False)
    assert by_key(res.rows) == by_key(serial.rows)


def test_a_worker_killed_mid_cell_loses_that_cell_only(tiny_spec, tmp_path):
    """Kill the other worker while it runs a cell: that one cell runs again, nothing else."""
    from ffnn.sweep.backends import Loky

    killed = []

    def kill_the_other_worker(record):
        if killed:
            return
        pids = [pid for ex in Loky._pool[2] for pid in (getattr(ex, "_processes", {}) or {})]
        other = [pid for pid in pids if pid != record["pid"]]
        if other:
            killed.append(other[0])
            os.kill(other[0], signal.SIGKILL)

    spec = tiny_spec(epochs=150)
    res = sweep(spec, tmp_path / "out", jobs=2, progress=False, on_record=kill_the_other_worker)
    assert killed and res.n_run == 8 and res.n_failed == 0
    assert res.n_retried == 1
    assert sorted(r["attempts"] for r in res.rows) == [1] * 7 + [2]


def test_interrupt_on_local_processes_keeps_finished_cells(tiny_spec, tmp_path):
    def stop(record):
        raise KeyboardInterrupt

    res = sweep(tiny_spec(epochs=40), tmp_path / "out", jobs=2, progress=False, on_record=stop)
    assert res.interrupted and len(res.rows) == 1
    assert len(list((res.out / "cells").glob("*.json"))) == 1


def test_bad_backend_options_refused(tiny_spec, tmp_path):
    from ffnn.errors import FFNNError

    with pytest.raises(FFNNError, match="not both"):
        sweep(tiny_spec(), tmp_path / "o", scheduler="tcp://127.0.0.1:1", dask_local=2)
    with pytest.raises(FFNNError, match="--jobs"):
        sweep(tiny_spec(), tmp_path / "o", jobs=0)


def test_a_cell_whose_fit_took_ctrl_c_is_not_recorded(monkeypatch, tiny_spec, tmp_path):
    import ffnn.train

    real = ffnn.train.fit

    def fit(*args, **kwargs):  # fit stops on Ctrl-C and returns what it has
        hist = real(*args, **kwargs)
        hist.stop_reason = "interrupted"
        return hist

    monkeypatch.setattr(ffnn.train, "fit", fit)
    res = sweep(tiny_spec(), tmp_path / "out", jobs=1, progress=False)
    assert res.interrupted and res.rows == []
    assert not list((res.out / "cells").glob("*.json"))


def test_ffnn_sweep_is_callable_from_import_ffnn(tmp_path):
    import ffnn

    res = ffnn.sweep({"fixed": {"data": "iris", "epochs": 1}, "grid": {"width": [2]}}, tmp_path)
    assert res.n_run == 1 and ffnn.sweep.report is not None


def test_parquet_table_where_pyarrow_is_installed(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    spec = {"sweep": {"seeds": 2}, "fixed": {"data": "iris", "epochs": 2}}
    spec["grid"] = {"hidden": [[2], [3, 3]]}
    res = sweep(spec, tmp_path / "out", jobs=1, progress=False)
    table = pq.read_table(res.out / "results.parquet")
    assert table.num_rows == 4
    assert table.column("hidden").to_pylist() == ["2", "2", "3,3", "3,3"]
    assert table.column("test_accuracy").to_pylist() == [r["test_accuracy"] for r in res.rows]
