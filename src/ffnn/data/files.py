"""The user's own data: CSV (with a header), .npz and .npy files, read as untrusted data.

* CSV (:mod:`ffnn.data.csvfile`): the first line names the columns; ``target`` names the target
  column (default: a column called target, label, y or class); ``sep`` the delimiter (default:
  detected); ``drop`` columns to ignore. Every other column is a feature and must be numeric
  (True/False read as 1/0); an empty cell counts as missing and is reported. Text labels in the
  target column are class labels. A pandas index column is dropped with a warning.
* .npz: arrays under keys ``X`` and ``y`` (or name them: ``x_key=``, ``target=``); an optional
  ``feature_names`` array.
* .npy: one 2-D array whose last column is the target, or ``target=`` a second .npy file of y.

Arrays are checked from their headers before they are read (:mod:`ffnn.data.arrays`: no pickle,
numeric dtypes only, declared sizes against the file and the limit of :mod:`ffnn.limits`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ffnn.data.arrays import read_npy, read_npz
from ffnn.data.csvfile import MISSING, TARGET_NAMES, read_csv, to_float
from ffnn.data.dataset import Dataset, infer_task
from ffnn.errors import FFNNError

__all__ = ["load_file", "read_table", "Table", "TARGET_NAMES"]


@dataclass
class Table:
    """Raw columns read from a file: X: (n, n_0) float64, y: (n,) or None (labels as read)."""

    X: np.ndarray
    y: np.ndarray | None
    feature_names: list[str]
    target_name: str | None
    path: Path


def _numeric_column(values: list[str]) -> np.ndarray | None:
    try:
        return np.array([to_float(v) for v in values], dtype=np.float64)
    except ValueError:
        return None


def _read_csv(path: Path, target, features, need_target: bool, sep, drop, limit) -> Table:
    X, raw, names, target = read_csv(path, target, features, need_target, sep, drop, limit)
    y = None
    if raw is not None:
        num = _numeric_column(raw)
        y = num if num is not None else np.array(raw, dtype=object)
        if num is None and any(v.lower() in MISSING for v in raw):
            rows_missing = [i + 2 for i, v in enumerate(raw) if v.lower() in MISSING]
            raise FFNNError(
                f"{path}: target column {target!r} has {len(rows_missing)} missing values "
                f"(lines {rows_missing[:5]}); remove those rows"
            )
    return Table(X, y, list(names), target, path)


def _read_npz(path: Path, target, features, need_target: bool, x_key: str, limit) -> Table:
    with read_npz(path, limit) as f:
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


def _read_npy(path: Path, target, features, need_target: bool, limit) -> Table:
    A = read_npy(path, limit)
    if A.ndim == 1:
        A = A[:, None]
    if A.ndim != 2:
        raise FFNNError(f"{path}: expected a 2-D array (n, columns), got shape {A.shape}")
    y = None
    tname = None
    if target is not None and str(target).endswith(".npy"):
        tpath = Path(target)
        if not tpath.is_file():
            raise FFNNError(f"no such target file: {tpath}")
        y = read_npy(tpath, limit)
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
    sep: str | None = None,
    drop=(),
    limit: int | None = None,
) -> Table:
    """Read features (and the target, if present or needed) from a .csv, .npz or .npy file.

    ``features``: the feature names a trained model expects (CSV columns are picked by name; for
    arrays only their number is checked). ``sep``: the CSV delimiter (None: detect comma,
    semicolon or tab). ``drop``: CSV column names to ignore. ``limit``: the most bytes the data
    may take (default: :func:`ffnn.limits.memory_limit`).
    """
    path = Path(path)
    if not path.exists():
        raise FFNNError(f"no such file: {path}")
    if path.is_dir():
        raise FFNNError(f"{path} is a folder, not a data file")
    ext = path.suffix.lower()
    if ext in (".csv", ".tsv", ".txt"):
        return _read_csv(path, target, features, need_target, sep, drop, limit)
    if drop or sep is not None:
        raise FFNNError(f"{path}: sep= and drop= apply to CSV files only; select arrays by key")
    if ext == ".npz":
        return _read_npz(path, target, features, need_target, x_key, limit)
    if ext == ".npy":
        return _read_npy(path, target, features, need_target, limit)
    raise FFNNError(f"{path}: unknown file type {ext!r}; use .csv, .npz or .npy")


def load_file(
    path: str | os.PathLike,
    target=None,
    *,
    sep: str | None = None,
    drop=(),
    task: str | None = None,
    x_key: str = "X",
    limit: int | None = None,
    **_,
) -> Dataset:
    """A :class:`Dataset` from a .csv (header required; ``target`` names the target column,
    ``sep`` the delimiter, None = detect comma / semicolon / tab; ``drop`` column names to
    ignore), .npz (keys X and y, or ``x_key`` / ``target``) or .npy (last column = target, or
    ``target`` a .npy file of y). ``task`` is inferred from y unless given. ``limit``: the most
    bytes the data may take (see :mod:`ffnn.limits`). Every problem raises FFNNError."""
    t = read_table(path, target=target, x_key=x_key, sep=sep, drop=drop, limit=limit)
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
