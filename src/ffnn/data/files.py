"""The user's own data: CSV (with a header), .npz and .npy files.

* CSV: the first line names the columns; ``target`` names the target column (default: a column
  called target, label, y or class). Every other column is a feature and must be numeric; an empty
  cell counts as missing and is reported. Text labels in the target column are class labels.
* .npz: arrays under keys ``X`` and ``y`` (or name them: ``x_key=``, ``target=``); an optional
  ``feature_names`` array.
* .npy: one 2-D array whose last column is the target, or ``target=`` a second .npy file of y.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ffnn.data.dataset import Dataset, infer_task
from ffnn.errors import FFNNError

__all__ = ["load_file", "read_table", "Table", "TARGET_NAMES"]

#: column names taken as the target when none is named
TARGET_NAMES = ("target", "label", "labels", "y", "class")
_MISSING = {"", "na", "nan", "n/a", "null", "none", "?"}


@dataclass
class Table:
    """Raw columns read from a file: X: (n, n_0) float64, y: (n,) or None (labels as read)."""

    X: np.ndarray
    y: np.ndarray | None
    feature_names: list[str]
    target_name: str | None
    path: Path


def _float(cell: str) -> float:
    c = cell.strip()
    if c.lower() in _MISSING:
        return np.nan
    return float(c)


def _numeric_column(values: list[str]) -> np.ndarray | None:
    try:
        return np.array([_float(v) for v in values], dtype=np.float64)
    except ValueError:
        return None


def _read_csv(path: Path, target, features, need_target: bool) -> Table:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        text = fh.read()
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise FFNNError(f"{path}: the file is empty; a CSV needs a header line and data rows")
    delim = "\t" if path.suffix.lower() == ".tsv" else ","
    if delim == "," and lines[0].count(";") > lines[0].count(","):
        delim = ";"
    rows = [r for r in csv.reader(lines, delimiter=delim) if any(c.strip() for c in r)]
    header = [h.strip() for h in rows[0]]
    data = rows[1:]
    if all(_numeric_column([h]) is not None and h.lower() not in _MISSING for h in header):
        raise FFNNError(
            f"{path}: the first line ({','.join(header[:4])}…) looks like numbers, not column "
            "names; add a header line naming the columns"
        )
    if len(set(header)) != len(header):
        dup = sorted({h for h in header if header.count(h) > 1})
        raise FFNNError(f"{path}: column names repeat in the header: {dup}")
    if not data:
        raise FFNNError(f"{path}: no data rows below the header")
    for i, r in enumerate(data):
        if len(r) != len(header):
            raise FFNNError(
                f"{path}: line {i + 2} has {len(r)} fields but the header names {len(header)} "
                "columns"
            )
    cols = {h: [r[j] for r in data] for j, h in enumerate(header)}

    if target is not None and not isinstance(target, str):
        raise FFNNError(f"{path}: name the target column by its header name, got {target!r}")
    if target is not None and target not in cols:
        raise FFNNError(f"{path}: no column named {target!r}; the columns are: {', '.join(header)}")
    if target is None:
        guess = [h for h in header if h.lower() in TARGET_NAMES and h not in (features or [])]
        if guess:
            target = guess[0]
        elif need_target:
            raise FFNNError(
                f"{path}: which column is the target? name it with --target (target=...); "
                f"the columns are: {', '.join(header)}"
            )
    if features is None:
        features = [h for h in header if h != target]
        if not features:
            raise FFNNError(f"{path}: no feature columns besides the target {target!r}")
    else:
        missing = [f for f in features if f not in cols]
        if missing:
            raise FFNNError(
                f"{path}: the model needs feature columns that the file lacks: "
                f"{', '.join(missing[:8])}{' …' if len(missing) > 8 else ''} "
                f"(the file has: {', '.join(header[:12])}{' …' if len(header) > 12 else ''})"
            )
    X = np.empty((len(data), len(features)))
    for j, f in enumerate(features):
        col = _numeric_column(cols[f])
        if col is None:
            bad = next(i for i, v in enumerate(cols[f]) if _numeric_column([v]) is None)
            raise FFNNError(
                f"{path}: feature column {f!r} is not numeric (line {bad + 2}: "
                f"{cols[f][bad]!r}); ffnn takes numeric features only: encode it as numbers or "
                "drop the column"
            )
        bad = np.flatnonzero(~np.isfinite(col))
        if bad.size:
            lines = ", ".join(str(i + 2) for i in bad[:5]) + (" …" if bad.size > 5 else "")
            raise FFNNError(
                f"{path}: feature column {f!r} has {bad.size} missing or NaN/inf values "
                f"(line {lines}); remove those rows or fill them in"
            )
        X[:, j] = col
    y = None
    if target is not None:
        raw = [v.strip() for v in cols[target]]
        num = _numeric_column(raw)
        y = num if num is not None else np.array(raw, dtype=object)
        if num is None and any(v.lower() in _MISSING for v in raw):
            rows_missing = [i + 2 for i, v in enumerate(raw) if v.lower() in _MISSING]
            raise FFNNError(
                f"{path}: target column {target!r} has {len(rows_missing)} missing values "
                f"(lines {rows_missing[:5]}); remove those rows"
            )
    return Table(X, y, list(features), target, path)


def _read_npz(path: Path, target, features, need_target: bool, x_key: str) -> Table:
    try:
        f = np.load(path, allow_pickle=False)
    except ValueError as e:
        raise FFNNError(f"{path}: cannot read as .npz without pickle ({e})") from None
    with f:
        keys = list(f.keys())
        xk = x_key if x_key in keys else ("x" if x_key == "X" and "x" in keys else None)
        if xk is None:
            raise FFNNError(
                f"{path}: no array {x_key!r} for the features; the file holds {keys} "
                "(name the keys with x_key=/target=)"
            )
        yk = target if target is not None else next((k for k in ("y", "Y") if k in keys), None)
        if target is not None and target not in keys:
            raise FFNNError(f"{path}: no array named {target!r}; the file holds {keys}")
        if yk is None and need_target:
            raise FFNNError(f"{path}: no target array 'y'; the file holds {keys}")
        X = f[xk]
        y = f[yk] if yk is not None else None
        names = [str(s) for s in f["feature_names"]] if "feature_names" in keys else None
    X = np.asarray(X)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise FFNNError(f"{path}: features {xk!r} must be 2-D (n, n_0), got shape {X.shape}")
    names = names or [f"x{j}" for j in range(X.shape[1])]
    if features is not None:
        _check_width(path, X.shape[1], features)
        names = list(features)
    return Table(X, y, names, yk, path)


def _check_width(path: Path, width: int, features) -> None:
    if width != len(features):
        raise FFNNError(
            f"{path}: the data has {width} feature columns but the model takes "
            f"{len(features)} inputs"
        )


def _read_npy(path: Path, target, features, need_target: bool) -> Table:
    try:
        A = np.load(path, allow_pickle=False)
    except ValueError as e:
        raise FFNNError(f"{path}: cannot read as .npy without pickle ({e})") from None
    if A.ndim == 1:
        A = A[:, None]
    if A.ndim != 2:
        raise FFNNError(f"{path}: expected a 2-D array (n, columns), got shape {A.shape}")
    y = None
    tname = None
    if target is not None and str(target).endswith(".npy"):
        y = np.load(target, allow_pickle=False)
        X = A
        tname = Path(target).stem
    elif features is not None:
        if A.shape[1] == len(features) + 1:
            X, y, tname = A[:, :-1], A[:, -1], "target"
        else:
            X = A
            _check_width(path, A.shape[1], features)
        if need_target and y is None:
            raise FFNNError(
                f"{path}: {A.shape[1]} columns hold only the {len(features)} features; append "
                "the target as a last column"
            )
    else:
        if A.shape[1] < 2:
            raise FFNNError(
                f"{path}: one column cannot hold both features and a target (last column); "
                "pass the targets as a second .npy file"
            )
        X, y, tname = A[:, :-1], A[:, -1], "target"
    names = list(features) if features is not None else [f"x{j}" for j in range(X.shape[1])]
    return Table(X, y, names, tname, path)


def read_table(
    path: str | os.PathLike,
    *,
    target=None,
    features: list[str] | None = None,
    need_target: bool = True,
    x_key: str = "X",
) -> Table:
    """Read features (and the target, if present or needed) from a .csv, .npz or .npy file.

    ``features``: the feature names a trained model expects (CSV columns are picked by name; for
    arrays only their number is checked).
    """
    path = Path(path)
    if not path.exists():
        raise FFNNError(f"no such file: {path}")
    if path.is_dir():
        raise FFNNError(f"{path} is a folder, not a data file")
    ext = path.suffix.lower()
    if ext in (".csv", ".tsv", ".txt"):
        return _read_csv(path, target, features, need_target)
    if ext == ".npz":
        return _read_npz(path, target, features, need_target, x_key)
    if ext == ".npy":
        return _read_npy(path, target, features, need_target)
    raise FFNNError(f"{path}: unknown file type {ext!r}; use .csv, .npz or .npy")


def load_file(
    path: str | os.PathLike,
    target=None,
    *,
    task: str | None = None,
    x_key: str = "X",
    **_,
) -> Dataset:
    """A :class:`Dataset` from a .csv (header required; ``target`` names the target column),
    .npz (keys X and y, or ``x_key`` / ``target``) or .npy (last column = target, or ``target``
    a .npy file of y). ``task`` is inferred from y unless given."""
    t = read_table(path, target=target, x_key=x_key)
    y = np.asarray(t.y)
    if task is None:
        task = infer_task(y)
    return Dataset(
        t.X,
        y,
        task,
        Path(path).stem,
        t.feature_names,
        target_name=t.target_name or "target",
        description=str(path),
    )
