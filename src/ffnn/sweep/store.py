"""The sweep folder: one file per finished cell, written atomically as it finishes, and the table.

OUT/cells/KEY.json          the cell's record (parameters, status, metrics, error, wall time)
OUT/cells/KEY/…             its model.safetensors / history.json, when the spec asks for them
OUT/results.csv             one row per cell of the spec (results.parquet where pyarrow is)
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable
from pathlib import Path

from ffnn.io import atomic_write_bytes
from ffnn.sweep.spec import Cell

__all__ = ["SweepFolder", "table_rows"]


class SweepFolder:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.cells = self.path / "cells"
        self.cells.mkdir(parents=True, exist_ok=True)

    def read(self, key: str) -> dict | None:
        """The finished record of cell ``key``, or None (never run, or a torn file)."""
        f = self.cells / f"{key}.json"
        try:
            return json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def write(self, record: dict) -> None:
        """Write the record's files first, then the record: a record on disk means done."""
        record = dict(record)
        files = record.pop("files", None) or {}
        if files:
            folder = self.cells / record["key"]
            folder.mkdir(exist_ok=True)
            for name, data in files.items():
                atomic_write_bytes(folder / name, data)
            record["files"] = sorted(files)
        text = json.dumps(record, indent=1, default=_plain, allow_nan=True)
        atomic_write_bytes(self.cells / f"{record['key']}.json", text.encode())

    def write_table(self, rows: list[dict]) -> list[Path]:
        """results.csv (and results.parquet where pyarrow is installed), atomically."""
        cols: list[str] = []
        for r in rows:
            cols += [k for k in r if k not in cols]
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        w.writerows({k: _cell_text(r.get(k)) for k in cols} for r in rows)
        paths = [self.path / "results.csv"]
        atomic_write_bytes(paths[0], buf.getvalue().encode())
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            return paths
        table = pa.Table.from_pylist([{k: _parquet(r.get(k)) for k in cols} for r in rows])
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        paths.append(self.path / "results.parquet")
        atomic_write_bytes(paths[1], sink.getvalue().to_pybytes())
        return paths


def _plain(v):
    import numpy as np

    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, tuple):
        return list(v)
    raise TypeError(f"not JSON: {type(v).__name__}")


def _cell_text(v):
    if isinstance(v, list):
        return ",".join(str(x) for x in v) if v else "none"
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    return "" if v is None else v


def _parquet(v):
    return _cell_text(v) if isinstance(v, list) else v


def table_rows(cells: Iterable[Cell], records: dict[str, dict]) -> list[dict]:
    """The tidy table: a row per cell with a record — key, seed, parameters, metrics, status."""
    rows = []
    for c in cells:
        r = records.get(c.key)
        if r is None:
            continue
        row = {"key": c.key, "seed": c.seed, **c.label}
        row.update({k: v for k, v in c.params.items() if k not in row})
        row.update(r.get("metrics") or {})
        row.update(
            status=r["status"],
            error=r.get("error") or "",
            wall_s=r.get("wall_s"),
            attempts=r.get("attempts", 1),
            worker=r.get("worker", ""),
        )
        rows.append(row)
    return rows
