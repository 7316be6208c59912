"""Sweeps on real Dask clusters on 127.0.0.1: a LocalCluster with two worker processes, and a
`dask scheduler` with two `dask worker` processes started as commands."""

import os
import signal
import sys

import pytest

from ffnn.errors import FFNNError
from ffnn.sweep import sweep

from .conftest import by_key, free_port


@pytest.fixture(scope="module")
def serial_rows(tmp_path_factory):
    from .conftest import TINY

    d = tmp_path_factory.mktemp("serial")
    (d / "tiny.toml").write_text(TINY.format(epochs=40))
    return sweep(d / "tiny.toml", d / "out", jobs=1, progress=False).rows


def test_local_cluster_with_a_killed_worker_gives_the_serial_metrics(
    tiny_spec, tmp_path, serial_rows
):
    """--dask-local 2: a LocalCluster of two worker processes; one is killed mid-sweep, its
    cells run again elsewhere, and every cell's metrics equal the serial run's."""
    pytest.importorskip("distributed")
    killed = []

    def kill_first_worker(record):
        if not killed:
            killed.append(record["pid"])
            os.kill(record["pid"], signal.SIGKILL)

    res = sweep(tiny_spec(epochs=40), tmp_path / "o", dask_local=2, on_record=kill_first_worker)
    assert res.backend.startswith("dask") and "2 workers" in res.backend
    assert killed and res.n_run == 8 and res.n_failed == 0
    assert by_key(res.rows) == by_key(serial_rows)


def test_dask_processes_give_the_serial_metrics(dask_processes, tiny_spec, tmp_path, serial_rows):
    res = sweep(tiny_spec(epochs=40), tmp_path / "out", scheduler=dask_processes, progress=False)
    assert res.n_run == 8 and res.n_failed == 0
    assert len({r["worker"] for r in res.rows}) == 2  # both workers took cells
    assert by_key(res.rows) == by_key(serial_rows)
    again = sweep(tiny_spec(epochs=40), tmp_path / "out", scheduler=dask_processes)
    assert (again.n_run, again.n_skipped) == (0, 8)


def test_unreachable_scheduler_is_one_line_with_its_address(tiny_spec, tmp_path):
    pytest.importorskip("distributed")
    address = f"tcp://127.0.0.1:{free_port()}"
    with pytest.raises(FFNNError) as e:
        sweep(tiny_spec(), tmp_path / "o", scheduler=address, connect_timeout=1)
    assert address in str(e.value) and "\n" not in str(e.value)
    assert not list((tmp_path / "o" / "cells").glob("*.json"))


def test_missing_dask_names_the_extra(tiny_spec, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed → ImportError
    with pytest.raises(FFNNError, match=r'pip install "ffnn\[dask\]"'):
        sweep(tiny_spec(), tmp_path / "o", dask_local=2)
