"""The playground's data: the 2-D sets, the input feature map, and the user's CSV (parsed in
memory; nothing is written to disk).

A 2-D set has raw coordinates (x1, x2); the network is fed a feature map φ(x1, x2) chosen from
``FEATURES`` (x1, x2, x1², x2², x1·x2, sin x1, sin x2), standardized with the training set's mean
and standard deviation (:class:`ffnn.data.Preprocessor`, stored with an exported model).
"""

from __future__ import annotations

import csv
import io

import numpy as np

from ffnn.data import Dataset, circles, infer_task, moons, spirals, xor
from ffnn.errors import FFNNError

__all__ = [
    "FEATURES",
    "SETS",
    "make_set",
    "feature_map",
    "parse_csv",
    "MAX_UPLOAD_BYTES",
    "MAX_ROWS",
    "MAX_COLUMNS",
]

#: name -> φ_j(x1, x2), each taking the two raw coordinates (n,) and giving a column (n,)
FEATURES = {
    "x1": lambda a, b: a,
    "x2": lambda a, b: b,
    "x1^2": lambda a, b: a * a,
    "x2^2": lambda a, b: b * b,
    "x1*x2": lambda a, b: a * b,
    "sin(x1)": lambda a, b: np.sin(a),
    "sin(x2)": lambda a, b: np.sin(b),
}

SETS = ("circle", "xor", "gaussians", "spirals", "moons", "regression")
MAX_UPLOAD_BYTES = 2_000_000
MAX_ROWS = 5000
MAX_COLUMNS = 50


def gaussians(n: int = 400, *, noise: float = 0.1, rng=0) -> Dataset:
    """Two Gaussian clouds centred at ±(0.6, 0.6), standard deviation 0.15 + noise: X: (n, 2)."""
    rng = np.random.default_rng(rng)
    y = np.arange(n) % 2
    centre = np.where(y[:, None] == 1, 0.6, -0.6)
    X = centre + (0.15 + noise) * rng.standard_normal((n, 2))
    return Dataset(X, y, "classification", "gaussians", ["x1", "x2"], [0, 1])


def surface(n: int = 400, *, noise: float = 0.1, rng=0) -> Dataset:
    """A regression surface y = sin(2 x1) cos(2 x2) + noise · ε on [-1.5, 1.5]²: X: (n, 2)."""
    rng = np.random.default_rng(rng)
    X = rng.uniform(-1.5, 1.5, (n, 2))
    y = np.sin(2 * X[:, 0]) * np.cos(2 * X[:, 1]) + noise * rng.standard_normal(n)
    return Dataset(X, y, "regression", "regression", ["x1", "x2"], target_name="y")


_MAKERS = {
    "circle": circles,
    "xor": xor,
    "gaussians": gaussians,
    "spirals": spirals,
    "moons": moons,
    "regression": surface,
}


def make_set(name: str, n: int, noise: float, seed: int) -> Dataset:
    """One of the 2-D sets ``SETS`` with n examples: X: (n, 2) raw coordinates (x1, x2)."""
    if name not in _MAKERS:
        raise FFNNError(f"unknown data set {name!r}; choose one of {', '.join(SETS)}")
    return _MAKERS[name](int(n), noise=float(noise), rng=int(seed))


def feature_map(X2: np.ndarray, names: list[str]) -> np.ndarray:
    """φ(x1, x2) for the named features: X2: (n, 2) -> (n, len(names)) float64."""
    a, b = X2[:, 0], X2[:, 1]
    return np.column_stack([FEATURES[f](a, b) for f in names]).astype(np.float64)


# --- the user's CSV ------------------------------------------------------------------------------
def _rows(text: str) -> list[list[str]]:
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = [r for r in csv.reader(io.StringIO(text), dialect) if any(c.strip() for c in r)]
    if len(rows) < 3 or len(rows[0]) < 2:
        raise FFNNError(
            "this is not a table: a CSV needs a header line naming at least two columns "
            "(features and a target) and at least two data rows"
        )
    width = len(rows[0])
    for i, r in enumerate(rows[1:], start=2):
        if len(r) != width:
            raise FFNNError(
                f"this is not a table: line {i} has {len(r)} cells, the header has {width}"
            )
    return rows


def _number_column(name: str, cells: list[str]) -> np.ndarray:
    out = np.empty(len(cells))
    for i, c in enumerate(cells):
        if c.strip().lower() in ("", "na", "n/a", "null", "none", "?"):
            out[i] = np.nan  # a missing cell
            continue
        try:
            out[i] = float(c)
        except ValueError:
            raise FFNNError(
                f"feature column {name!r} holds text ({c.strip()!r} on data row {i + 1}); "
                "features must be numbers — make it the target, or drop the column"
            ) from None
    if not np.all(np.isfinite(out)):
        i = int(np.flatnonzero(~np.isfinite(out))[0])
        raise FFNNError(
            f"feature column {name!r} has a missing or non-finite value (NaN/inf) on data row "
            f"{i + 1}; fill or drop such rows first"
        )
    return out


def _default_target(header: list[str]) -> str:
    for h in header:
        if h.strip().lower() in ("target", "label", "labels", "y", "class"):
            return h
    return header[-1]


def parse_csv(
    data: bytes | str, *, target: str | None = None, features: list[str] | None = None
) -> Dataset:
    """A :class:`Dataset` from the text of an uploaded CSV with a header line.

    ``target`` names the target column (default: one called target/label/y/class, else the last);
    ``features`` the columns trained on (default: every other column). Raises
    :class:`FFNNError` saying what is wrong: not a table, too large, text or NaN in a feature,
    one class only.
    """
    if len(data) > MAX_UPLOAD_BYTES:
        raise FFNNError(
            f"the file is too large ({len(data) / 1e6:.1f} MB); the playground takes up to "
            f"{MAX_UPLOAD_BYTES / 1e6:.0f} MB"
        )
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise FFNNError("this is not a text table (not UTF-8 text); upload a .csv") from None
    if "\x00" in data:
        raise FFNNError("this is not a text table (it holds binary bytes); upload a .csv")
    rows = _rows(data)
    header = [h.strip() for h in rows[0]]
    if len(set(header)) != len(header) or "" in header:
        raise FFNNError("the header line must name every column, each name once")
    if len(rows) - 1 > MAX_ROWS or len(header) > MAX_COLUMNS:
        raise FFNNError(
            f"the table is too large ({len(rows) - 1} rows, {len(header)} columns); the "
            f"playground takes up to {MAX_ROWS} rows and {MAX_COLUMNS} columns"
        )
    target = _default_target(header) if target is None else target
    if target not in header:
        raise FFNNError(f"no column named {target!r}; the columns are {', '.join(header)}")
    features = [h for h in header if h != target] if features is None else list(features)
    unknown = [f for f in features if f not in header or f == target]
    if not features or unknown:
        raise FFNNError(
            f"choose at least one feature among the columns other than the target {target!r}"
            + (f" (not usable: {', '.join(unknown)})" if unknown else "")
        )
    cols = {h: [r[j] for r in rows[1:]] for j, h in enumerate(header)}
    X = np.column_stack([_number_column(f, cols[f]) for f in features])
    y = _target_values(cols[target])
    task = infer_task(y)
    if task == "regression" and not np.all(np.isfinite(y.astype(np.float64))):
        raise FFNNError(f"the target column {target!r} has missing or non-finite values")
    if task == "classification" and len(set(y.tolist())) < 2:
        raise FFNNError(
            f"the target column {target!r} holds only one class ({y[0]!r}); classification "
            "needs at least two"
        )
    return Dataset(X, y, task, "csv", features, target_name=target)


def _target_values(cells: list[str]) -> np.ndarray:
    stripped = [c.strip() for c in cells]
    try:
        v = np.array([float(c) for c in stripped])
    except ValueError:
        if any(c == "" for c in stripped):
            raise FFNNError("the target column has empty cells; fill or drop such rows") from None
        return np.array(stripped, dtype=object)
    if np.all(np.isfinite(v)) and np.all(v == np.round(v)):
        return v.astype(np.int64)
    return v
