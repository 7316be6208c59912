"""Preprocessing that travels with the model: standardized inputs and encoded targets.

Inputs are standardized column by column, x̃_j = (x_j − μ_j) / s_j with the training set's mean μ_j
and standard deviation s_j (s_j = 1 for a constant column). Class labels become indices
0..K-1 into ``classes`` (one-hot rows on request); regression targets are standardized the same way
as inputs, and predictions mapped back. Everything is stored as JSON (``to_dict`` / ``from_dict``)
in the model file's metadata, so ``ffnn predict`` reads raw data and answers in the user's labels.
"""

from __future__ import annotations

import numpy as np

from ffnn.data.dataset import Dataset, encode_labels, validate_X, validate_y
from ffnn.errors import FFNNError

__all__ = ["Preprocessor"]


def _moments(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations of A: (n, k), without overflow for values near the
    float64 limit (±1.7e308): such columns are scaled by max |a| first."""
    scale = np.max(np.abs(A), axis=0)
    if not (scale > 1e150).any():
        return A.mean(axis=0), A.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    B = A / scale
    return B.mean(axis=0) * scale, B.std(axis=0) * scale


def _standardize(A: np.ndarray, mu: np.ndarray, s: np.ndarray, what: str) -> np.ndarray:
    """(A − μ) / s, computed as A/s − μ/s where A − μ would overflow float64."""
    with np.errstate(over="ignore", invalid="ignore"):
        Z = (A - mu) / s
        if not np.isfinite(Z).all():
            Z = A / s - mu / s
    if not np.isfinite(Z).all():
        j = int(np.flatnonzero(~np.isfinite(Z).all(axis=0))[0])
        raise FFNNError(
            f"{what} column {j} holds values (up to {np.max(np.abs(A[:, j])):.3g}) too far from "
            f"the training data (mean {mu[j]:.3g}, s {s[j]:.3g}) to standardize in float64; "
            "rescale the column"
        )
    return Z


def _numbers(d: dict, key: str, n: int | None = None) -> None:
    v = d.get(key)
    ok = isinstance(v, list) and all(
        isinstance(x, int | float) and not isinstance(x, bool) and np.isfinite(x) for x in v
    )
    if not ok or (n is not None and len(v) != n):
        size = f"{n} " if n is not None else ""
        raise FFNNError(
            f"not a valid ffnn preprocessor description: {key!r} must be a list of "
            f"{size}finite numbers, got {str(v)[:60]}"
        )


def _check_dict(d) -> None:
    """A stored preprocessor's fields have the types :meth:`Preprocessor.to_dict` writes."""
    bad = lambda what: FFNNError(f"not a valid ffnn preprocessor description: {what}")
    if not isinstance(d, dict):
        raise bad(f"a {type(d).__name__}, not an object")
    if d.get("task") not in ("classification", "regression"):
        raise bad(f"task is {str(d.get('task'))[:40]!r}, not 'classification' or 'regression'")
    if d.get("standardize", True) is not False:
        _numbers(d, "mean")
        _numbers(d, "std", len(d["mean"]))
    names = d.get("feature_names")
    if names is not None and not (
        isinstance(names, list) and all(isinstance(x, str) for x in names)
    ):
        raise bad("feature_names must be a list of strings")
    if d["task"] == "classification":
        classes = d.get("classes")
        if not isinstance(classes, list) or len(classes) < 2:
            raise bad(f"classes must be a list of two or more labels, got {str(classes)[:40]}")
        if not all(isinstance(c, str | int | float) and not isinstance(c, bool) for c in classes):
            raise bad("classes must be numbers or strings")
    elif d.get("y_mean") is not None:
        _numbers(d, "y_mean")
        _numbers(d, "y_std", len(d["y_mean"]))
    if not isinstance(d.get("target_name", "t"), str):
        raise bad("target_name must be a string")


def _jsonable(v):
    if isinstance(v, np.generic):
        return v.item()
    return v


class Preprocessor:
    """Standardize X; encode y (class index / one-hot, or standardized regression targets).

    Attributes after :meth:`fit`: ``mean``, ``std``: (n_0,); ``task``; ``classes`` (list of the
    original labels, classification); ``y_mean``, ``y_std``: (k,) (regression); ``feature_names``,
    ``target_name``.
    """

    def __init__(self, standardize: bool = True, standardize_target: bool = True):
        self.standardize = bool(standardize)
        self.standardize_target = bool(standardize_target)
        self.task: str | None = None
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None
        self.classes: list | None = None
        self.y_mean: np.ndarray | None = None
        self.y_std: np.ndarray | None = None
        self.y_ndim = 1
        self.feature_names: list[str] = []
        self.target_name = "target"

    # --- fitting ------------------------------------------------------------------------------
    def fit(self, ds: Dataset) -> Preprocessor:
        """Learn μ, s (and the target encoding) from the training set ``ds``."""
        X = ds.X
        n0 = X.shape[1]
        if self.standardize:
            self.mean, std = _moments(X)
            self.std = np.where(std > 1e-12 * (1 + np.abs(self.mean)), std, 1.0)
        else:
            self.mean, self.std = np.zeros(n0), np.ones(n0)
        self.task = ds.task
        self.feature_names = list(ds.feature_names)
        self.target_name = ds.target_name
        if ds.task == "classification":
            self.classes = [_jsonable(c) for c in ds.classes]
        else:
            y = ds.y.reshape(ds.n, -1)
            self.y_ndim = ds.y.ndim
            if self.standardize_target:
                self.y_mean, s = _moments(y)
                self.y_std = np.where(s > 1e-12 * (1 + np.abs(self.y_mean)), s, 1.0)
            else:
                self.y_mean, self.y_std = np.zeros(y.shape[1]), np.ones(y.shape[1])
        return self

    def _need_fit(self) -> None:
        if self.task is None:
            raise FFNNError("the Preprocessor is not fitted; call fit(dataset) first")

    @property
    def n_inputs(self) -> int:
        self._need_fit()
        return self.mean.size

    @property
    def n_outputs(self) -> int:
        self._need_fit()
        return len(self.classes) if self.task == "classification" else self.y_mean.size

    # --- inputs -------------------------------------------------------------------------------
    def transform_X(self, X) -> np.ndarray:
        """x̃ = (x − μ) / s row by row: X: (n, n_0) -> (n, n_0) float64."""
        self._need_fit()
        X = validate_X(X, self.feature_names)
        if X.shape[1] != self.mean.size:
            raise FFNNError(
                f"the data has {X.shape[1]} feature columns but the model takes "
                f"{self.mean.size} inputs ({', '.join(self.feature_names[:6])}"
                f"{' …' if len(self.feature_names) > 6 else ''})"
            )
        return _standardize(X, self.mean, self.std, "feature")

    # --- targets ------------------------------------------------------------------------------
    def encode_y(self, y) -> np.ndarray:
        """Classification: labels (as in ``classes``) -> indices (n,) int64; regression:
        (y − μ_y) / s_y with the shape of y."""
        self._need_fit()
        y = np.asarray(y)
        if self.task == "classification":
            idx, _ = encode_labels(y, self.classes)
            return idx
        try:
            yf = y.astype(np.float64)
        except (TypeError, ValueError):
            raise FFNNError("the targets are not numbers, but the model is a regression") from None
        flat = yf.reshape(yf.shape[0], -1)
        if flat.shape[1] != self.y_mean.size:
            raise FFNNError(
                f"the targets have {flat.shape[1]} columns but the model predicts "
                f"{self.y_mean.size}"
            )
        validate_y(flat, flat.shape[0], "regression", what="evaluation data")
        return _standardize(flat, self.y_mean, self.y_std, "target").reshape(yf.shape)

    def encode_dataset(self, ds: Dataset) -> np.ndarray:
        """Targets of a Dataset (whose y holds indices into ds.classes) in the model's encoding."""
        if self.task == "classification":
            if ds.task != "classification":
                raise FFNNError("the data is a regression set but the model is a classifier")
            return self.encode_y(np.array(ds.classes, dtype=object)[ds.y])
        return self.encode_y(ds.y)

    def one_hot(self, idx) -> np.ndarray:
        """Class indices (n,) -> one-hot rows (n, K)."""
        idx = np.asarray(idx, dtype=np.int64)
        Y = np.zeros((idx.size, len(self.classes)))
        Y[np.arange(idx.size), idx] = 1.0
        return Y

    def decode(self, f: np.ndarray):
        """Network outputs f = φ_out(z): (n, n_out) -> predictions in the user's terms.

        Classification: the labels of argmax_k f_k, as an array of the original labels.
        Regression: μ_y + s_y f, shaped like the training targets.
        """
        self._need_fit()
        f = np.asarray(f)
        if self.task == "classification":
            labels = np.array(self.classes, dtype=object)[np.argmax(f, axis=1)]
            if all(isinstance(c, int | float) for c in self.classes):
                labels = labels.astype(np.asarray(self.classes).dtype)
            return labels
        out = f.astype(np.float64) * self.y_std + self.y_mean
        return out[:, 0] if self.y_ndim == 1 and out.shape[1] == 1 else out

    # --- storage ------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """A JSON-able description (lists of floats, labels as strings or numbers)."""
        self._need_fit()
        lst = lambda a: None if a is None else [float(v) for v in np.asarray(a).ravel()]
        return {
            "format": "ffnn.preprocessor/1",
            "task": self.task,
            "standardize": self.standardize,
            "standardize_target": self.standardize_target,
            "mean": lst(self.mean),
            "std": lst(self.std),
            "feature_names": list(self.feature_names),
            "target_name": self.target_name,
            "classes": None if self.classes is None else [_jsonable(c) for c in self.classes],
            "y_mean": lst(self.y_mean),
            "y_std": lst(self.y_std),
            "y_ndim": self.y_ndim,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Preprocessor:
        """Rebuild from :meth:`to_dict`, checking the dict as data (a model file's metadata)."""
        _check_dict(d)
        try:
            p = cls(d.get("standardize", True), d.get("standardize_target", True))
            p.task = d["task"]
            p.mean = np.asarray(d["mean"], dtype=np.float64)
            p.std = np.asarray(d["std"], dtype=np.float64)
            p.feature_names = list(d.get("feature_names") or [f"x{j}" for j in range(p.mean.size)])
            p.target_name = d.get("target_name", "target")
            p.classes = d.get("classes")
            if d.get("y_mean") is not None:
                p.y_mean = np.asarray(d["y_mean"], dtype=np.float64)
                p.y_std = np.asarray(d["y_std"], dtype=np.float64)
            p.y_ndim = int(d.get("y_ndim", 1))
        except (KeyError, TypeError, ValueError) as e:
            raise FFNNError(f"not a valid ffnn preprocessor description ({e!r})") from None
        if p.task not in ("classification", "regression"):
            raise FFNNError(f"preprocessor has unknown task {p.task!r}")
        return p

    def __repr__(self) -> str:
        if self.task is None:
            return "Preprocessor(unfitted)"
        what = (
            f"classes={self.classes}" if self.task == "classification" else "targets standardized"
        )
        return f"Preprocessor({self.task}, n_inputs={self.n_inputs}, {what})"
