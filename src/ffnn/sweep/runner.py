"""Run a sweep: check the spec, skip finished cells, run the rest on a backend, keep each record
as it comes back, retry cells whose worker died, and write the table."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ffnn.errors import FFNNError
from ffnn.sweep.backends import WorkerLost, make_backend
from ffnn.sweep.spec import Cell, Spec, expand, load_spec
from ffnn.sweep.store import SweepFolder, table_rows
from ffnn.sweep.summary import metric_names

__all__ = ["sweep", "SweepResult"]


@dataclass
class SweepResult:
    """What a sweep did: its folder, a row per cell (the table), what ran, failed, was kept."""

    spec: Spec
    out: Path
    rows: list[dict]
    n_cells: int
    n_run: int
    n_skipped: int
    n_failed: int
    n_retried: int
    interrupted: bool
    backend: str
    seconds: float
    metrics: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame(self.rows)


def sweep(
    spec: str | Path | Mapping,
    out: str | Path | None = None,
    *,
    jobs: int | None = None,
    scheduler: str | None = None,
    dask_local: int | None = None,
    retry_failed: bool = False,
    retries: int = 3,
    progress: bool | None = None,
    connect_timeout: float = 10.0,
    on_record: Callable[[dict], None] | None = None,
) -> SweepResult:
    """Run every cell of ``spec`` (a TOML path or a dict) not yet finished in ``out``.

    Backends: ``jobs`` local processes (default one per core; 1 runs in this process),
    ``scheduler`` a Dask scheduler's address, or ``dask_local`` workers of a Dask LocalCluster.
    A cell whose worker dies is run again (up to ``retries`` more times); a cell that raises is
    recorded with its error. ``on_record(record)`` is called after each record is written.
    Ctrl-C stops at once and keeps every finished cell (``interrupted`` is then True).
    """
    t0 = time.perf_counter()
    s = load_spec(spec)
    cells = expand(s)
    folder = SweepFolder(out if out is not None else Path("sweeps") / _slug(s.name))
    if not isinstance(spec, Mapping):
        shutil.copyfile(spec, folder.path / "spec.toml")
    records = {c.key: r for c in cells if (r := folder.read(c.key)) is not None}
    todo = [c for c in cells if c.key not in records or _rerun(records[c.key], retry_failed)]
    for c in todo:
        records.pop(c.key, None)
    state = {"run": 0, "failed": 0, "retried": 0}
    backend = make_backend(jobs, scheduler, dask_local, connect_timeout) if todo else None
    interrupted = False
    bar = _bar(len(cells), len(cells) - len(todo), progress)
    try:
        if todo:
            _drive(backend, todo, folder, records, state, retries, bar, on_record)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
        if backend is not None:
            backend.close(cancel=interrupted)
    rows = table_rows(cells, records)
    files = folder.write_table(rows) if rows else []
    return SweepResult(
        spec=s,
        out=folder.path,
        rows=rows,
        n_cells=len(cells),
        n_run=state["run"],
        n_skipped=len(cells) - len(todo),
        n_failed=sum(r["status"] != "ok" for r in rows),
        n_retried=state["retried"],
        interrupted=interrupted,
        backend=backend.name if backend is not None else "none (all cells were finished)",
        seconds=time.perf_counter() - t0,
        metrics=metric_names(records.values()),
        files=files,
    )


def _rerun(record: dict, retry_failed: bool) -> bool:
    return retry_failed and record.get("status") != "ok"


def _drive(backend, todo: list[Cell], folder, records, state, retries, bar, on_record) -> None:
    """Submit every cell; keep each record as it arrives; resubmit cells whose worker died."""
    attempts = {c.key: 1 for c in todo}
    futures = {backend.submit(c): c for c in todo}
    while futures:
        done, _ = backend.wait(set(futures))
        lost = []
        for f in done:
            cell = futures.pop(f)
            try:
                record = backend.result(f)
            except WorkerLost as e:
                if attempts[cell.key] > retries:
                    record = _lost_record(cell, e)
                else:
                    lost.append(cell)
                    continue
            record["attempts"] = attempts[cell.key]
            folder.write(record)
            record.pop("files", None)
            records[cell.key] = record
            state["run"] += 1
            bar.update(1)
            if on_record is not None:
                on_record(record)
        if lost:
            backend.recover()
            for cell in lost:
                attempts[cell.key] += 1
                state["retried"] += 1
                futures[backend.submit(cell)] = cell


def _lost_record(cell: Cell, e: Exception) -> dict:
    return {
        "key": cell.key,
        "kind": cell.kind,
        "target": cell.target,
        "seed": cell.seed,
        "params": cell.params,
        "label": cell.label,
        "status": "error",
        "metrics": {},
        "error": f"worker lost on every attempt: {e}",
        "wall_s": None,
    }


def _bar(total: int, done: int, progress: bool | None):
    import sys

    from tqdm.auto import tqdm

    disable = not (sys.stderr.isatty() if progress is None else progress)
    return tqdm(total=total, initial=done, unit="cell", desc="sweep", disable=disable)


def _slug(name: str) -> str:
    import re

    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.")
    if not slug:
        raise FFNNError("the sweep's name gives no folder name; pass out=… (-o DIR)")
    return slug
