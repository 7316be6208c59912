"""Running one cell: a pure function of (cell spec, seed) → one record, in any process.

The record holds the cell's key, parameters, status ("ok" or "error" with the error text),
metrics, wall time and the worker that ran it; files asked for (model, history) travel back as
bytes inside it, so the process that owns the sweep folder writes them, wherever the cell ran.
The data set is loaded once per process (a cache keyed by what defines it), not once per cell.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import time
import traceback
from pathlib import Path

from ffnn.sweep.spec import Cell

__all__ = ["run_cell"]


def run_cell(cell: Cell) -> dict:
    """Run ``cell`` with one BLAS thread; never raises for an error inside the cell."""
    from threadpoolctl import threadpool_limits

    t0 = time.perf_counter()
    record = {
        "key": cell.key,
        "kind": cell.kind,
        "target": cell.target,
        "seed": cell.seed,
        "params": cell.params,
        "label": cell.label,
        "worker": f"{socket.gethostname()}:{os.getpid()}",
        "pid": os.getpid(),
    }
    try:
        with threadpool_limits(limits=1):
            run = _train_cell if cell.kind == "train" else _lab_cell
            metrics, files = run(cell)
        record.update(status="ok", metrics=metrics, error=None, files=files)
    except Exception as e:  # a cell's failure is its result; the sweep goes on
        msg = " ".join(str(e).split())
        record.update(
            status="error",
            metrics={},
            error=f"{type(e).__name__}: {msg}",
            traceback=traceback.format_exc(limit=8),
            files={},
        )
    record["wall_s"] = time.perf_counter() - t0
    return record


def _train_cell(cell: Cell) -> tuple[dict, dict]:
    """One training run of :mod:`ffnn.runs` on the per-process cached data set."""
    from ffnn.sweep.train_run import run_config, train_run

    net, hist, metrics, meta = train_run(run_config(cell.params, cell.seed))
    files = {}
    if "history" in cell.save:
        files["history.json"] = hist.to_json().encode()
    if "model" in cell.save:
        from ffnn.io import save_model

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.safetensors"
            save_model(path, net, meta)
            files["model.safetensors"] = path.read_bytes()
    return metrics, files


def _lab_cell(cell: Cell) -> tuple[dict, dict]:
    """One lab experiment (``ffnn.lab.run``) with the cell's parameters and seed: its verdict,
    summary and tolerance; its table's rows go into the cell's record."""
    import ffnn.lab as lab

    result = lab.run(
        cell.target, params=cell.params, seed=cell.seed, quick=cell.quick, progress=False
    )
    metrics = {
        "agrees": bool(result.agrees),
        "summary": str(result.summary),
        "tolerance": str(getattr(result, "tolerance", "")),
    }
    return metrics, {"rows.json": json.dumps(result.rows, default=float).encode()}
