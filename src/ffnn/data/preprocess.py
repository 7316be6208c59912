"""Preprocessing that travels with the model: standardized inputs and encoded targets.

Inputs are standardized column by column, x̃_j = (x_j − μ_j) / s_j with the training set's mean μ_j
and standard deviation s_j (s_j = 1 for a constant column). Class labels become indices
0..K-1 into ``classes`` (one-hot rows on request); regression targets are standardized the same way
as inputs, and predictions mapped back. Everything is stored as JSON (``to_dict`` / ``from_dict``)
in the model file's metadata, so ``ffnn predict`` reads raw data and answers in the user's labels.
"""

from __future__ import annotations

import numpy as np

from ffnn.data.dataset import Dataset, encode_labels, validate_X
from ffnn.errors import FFNNError

__all__ = ["Preprocessor"]


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
            self.mean = X.mean(axis=0)
            std = X.std(axis=0)
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
                self.y_mean = y.mean(axis=0)
                s = y.std(axis=0)
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
        return (X - self.mean) / self.std

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
        return ((flat - self.y_mean) / self.y_std).reshape(yf.shape)

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
