"""Sweep speed: 16 cells on 2 local workers against one after another, and Dask's cost per cell.

    python benchmarks/bench_sweep.py [--cells 16] [--jobs 2] [--epochs 30] [--tiny 48]

1. Speed-up. ``--cells`` train cells (digits, hidden [128, 128], adam, ``--epochs`` epochs,
   one seed each) run with ``jobs=1`` (in this process, one after another) and with ``jobs=2``
   (joblib's loky, one BLAS thread per worker). The serial run starts after a one-cell sweep
   has done its imports and loaded the data; "cold" counts starting the workers (their
   imports and data loading too), "warm" reuses the workers the cold sweep started.
   Speed-up = serial wall time / parallel wall time. Each sweep writes into a fresh folder.
2. Overhead per cell. ``--tiny`` near-empty cells (iris, hidden [2], 1 epoch) on an already
   started backend: (wall time × workers − Σ cell compute time) / cells, i.e. what the
   backend adds around each cell (submit, pickle, schedule, return, the atomic record write).
   For loky (2 workers) and Dask (a LocalCluster of 2 worker processes), when installed.

The machine's core count and load average are printed, and a control: the speed-up of fixed
pure-Python tasks on the same number of processes, the ceiling a busy machine offers right now
(with the kernel's autogroup scheduling, the processes of one session share one session's CPU
share, so on a saturated machine more workers get no more CPU).
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path


def _cells(n: int, epochs: int) -> dict:
    return {
        "sweep": {"seeds": n, "name": "bench"},
        "fixed": {
            "data": "digits",
            "hidden": [128, 128],
            "epochs": epochs,
            "patience": 0,
            "batch_size": 32,
        },
    }


def _tiny(n: int) -> dict:
    return {
        "sweep": {"seeds": n, "name": "tiny"},
        "fixed": {"data": "iris", "hidden": [2], "epochs": 1, "validation": 0.0},
    }


def _timed(spec: dict, root: Path, name: str, **backend):
    import ffnn.sweep as S

    t0 = time.perf_counter()
    res = S.sweep(spec, root / name, progress=False, **backend)
    wall = time.perf_counter() - t0
    assert res.n_run == res.n_cells and res.n_failed == 0, res.rows[:1]
    return wall, res


def speedup(root: Path, cells: int, jobs: int, epochs: int) -> None:
    spec = _cells(cells, epochs)
    _timed(_cells(1, 1), root, "serial-warmup", jobs=1)  # imports and the data, in this process
    serial, res = _timed(spec, root, "serial", jobs=1)
    per_cell = sum(r["wall_s"] for r in res.rows) / cells
    cold, _ = _timed(spec, root, "cold", jobs=jobs)
    warm, _ = _timed(spec, root, "warm", jobs=jobs)
    print(f"{cells} cells (digits, [128, 128], {epochs} epochs), {per_cell:.2f} s each alone")
    print(f"  one after another      {serial:7.2f} s")
    print(f"  {jobs} workers, cold       {cold:7.2f} s   speed-up {serial / cold:.2f}x")
    print(f"  {jobs} workers, warm       {warm:7.2f} s   speed-up {serial / warm:.2f}x")
    ceiling = capacity(jobs)
    print(f"  control: {jobs} pure-Python tasks on {jobs} processes, speed-up {ceiling:.2f}x")


def _burn(n: int) -> int:
    """Pure-Python work of a fixed size (no BLAS, no I/O)."""
    acc = 0
    for i in range(n):
        acc = (acc + i * i) % 1_000_003
    return acc


def capacity(jobs: int, n: int = 3_000_000) -> float:
    """The parallel speed-up this machine offers right now: ``jobs`` fixed pure-Python tasks on
    ``jobs`` processes against one after another here (the ceiling for the sweep's speed-up)."""
    from joblib.externals.loky import get_reusable_executor

    ex = get_reusable_executor(max_workers=jobs)
    list(ex.map(_burn, [1000] * jobs))  # workers started
    t0 = time.perf_counter()
    for _ in range(jobs):
        _burn(n)
    serial = time.perf_counter() - t0
    t0 = time.perf_counter()
    list(ex.map(_burn, [n] * jobs))
    return serial / (time.perf_counter() - t0)


def overhead(root: Path, n: int, name: str, workers: int, **backend) -> None:
    _timed(_tiny(4), root, f"{name}-warmup", **backend)  # start workers, imports, data
    wall, res = _timed(_tiny(n), root, f"{name}-tiny", **backend)
    compute = sum(r["wall_s"] for r in res.rows)
    per = (wall * workers - compute) / n
    print(
        f"  {name:<22} {1e3 * per:7.1f} ms per cell  ({n} cells in {wall:.2f} s, "
        f"{1e3 * compute / n:.1f} ms compute each)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=16)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--tiny", type=int, default=48)
    args = ap.parse_args()
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f} at start"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        speedup(root, args.cells, args.jobs, args.epochs)
        print(f"overhead per cell ({args.tiny} near-empty cells, workers already started)")
        overhead(root, args.tiny, "loky, 2 workers", 2, jobs=2)
        try:
            import distributed  # noqa: F401
        except ImportError:
            print('  dask: not installed (pip install "ffnn[dask]")')
        else:
            _dask_overhead(root, args.tiny)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


def _dask_overhead(root: Path, n: int) -> None:
    import logging

    import distributed

    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        dashboard_address=":0",
        host="127.0.0.1",
        silence_logs=logging.ERROR,
    ) as cluster:
        overhead(root, n, "dask LocalCluster, 2", 2, scheduler=cluster.scheduler_address)


if __name__ == "__main__":
    main()
