"""The Dataset record, input validation, task inference and the (stratified) train/test split.

A data set is n examples D = {(x^(i), y^(i))}: X: (n, n_0) float64, one row per example x^(i).
For classification, y: (n,) int64 holds the index of each example's class in ``classes`` (the
original labels, numbers or strings); for regression, y: (n,) or (n, k) float64.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ffnn.errors import FFNNError

__all__ = ["Dataset", "TASKS", "validate_X", "validate_y", "infer_task", "train_test_split"]

TASKS = ("classification", "regression")


def _rows(idx: np.ndarray, limit: int = 5) -> str:
    shown = ", ".join(str(int(i)) for i in idx[:limit])
    return shown + (f", … ({idx.size} rows)" if idx.size > limit else "")


def validate_X(X, feature_names: list[str] | None = None, *, what: str = "data") -> np.ndarray:
    """Check X: (n, n_0) is a non-empty, numeric, finite matrix; return it as float64.

    A NaN or inf raises :class:`FFNNError` naming the column and the (0-based) rows.
    """
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        raise FFNNError(
            f"the {what} features are not all numbers; ffnn takes numeric features only "
            "(encode or drop text columns)"
        ) from None
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise FFNNError(f"the {what} features must be a 2-D array (n, n_0), got shape {X.shape}")
    if X.shape[0] == 0:
        raise FFNNError(f"the {what} has no examples (0 rows)")
    if X.shape[1] == 0:
        raise FFNNError(f"the {what} has no feature columns")
    bad = ~np.isfinite(X)
    if bad.any():
        cols = np.flatnonzero(bad.any(axis=0))
        j = int(cols[0])
        name = feature_names[j] if feature_names and j < len(feature_names) else f"#{j}"
        rows = np.flatnonzero(bad[:, j])
        more = f" (and {cols.size - 1} more columns)" if cols.size > 1 else ""
        raise FFNNError(
            f"the {what} has {int(bad.sum())} NaN/inf/missing values: column {name!r} in "
            f"{rows.size} rows (rows {_rows(rows)}){more}; remove or fill them"
        )
    return X


def validate_y(y, n: int, task: str, *, what: str = "data") -> np.ndarray:
    """Check targets: n of them, finite (regression), at least 2 classes (classification)."""
    y = np.asarray(y)
    if y.shape[0] != n:
        raise FFNNError(f"the {what} has {n} examples but {y.shape[0]} targets")
    if task == "regression":
        try:
            y = y.astype(np.float64)
        except (TypeError, ValueError):
            raise FFNNError(
                f"the {what} targets are not numbers, so they cannot be regressed; "
                "use --task classification"
            ) from None
        bad = ~np.isfinite(y.reshape(n, -1)).all(axis=1)
        if bad.any():
            rows = np.flatnonzero(bad)
            raise FFNNError(
                f"the {what} targets have NaN/inf/missing values in {rows.size} rows "
                f"(rows {_rows(rows)}); remove or fill them"
            )
    elif task != "classification":
        raise FFNNError(f"unknown task {task!r}; choose 'classification' or 'regression'")
    elif y.dtype.kind == "f" and not np.isfinite(y).all():
        rows = np.flatnonzero(~np.isfinite(y.reshape(n, -1)).all(axis=1))
        raise FFNNError(
            f"the {what} labels have NaN/inf/missing values in {rows.size} rows "
            f"(rows {_rows(rows)}); remove those rows"
        )
    return y


def infer_task(y) -> str:
    """Classification for text, bool or integer labels with few distinct values, else regression.

    Integer-valued y counts as class labels when it has at most 50 distinct values and at most
    half as many distinct values as examples (so a count-valued regression target like the
    diabetes progression score stays regression).
    """
    y = np.asarray(y)
    if y.ndim > 1 and y.shape[1] > 1:
        return "regression"
    y = y.reshape(-1)
    if y.dtype.kind in "OUSb":
        try:
            yf = y.astype(np.float64)
        except (TypeError, ValueError):
            return "classification"
        if y.dtype.kind == "b":
            return "classification"
        y = yf
    if y.dtype.kind in "iu":
        k = np.unique(y).size
        return "classification" if k <= 50 and k <= max(2, y.size // 2) else "regression"
    finite = y[np.isfinite(y)]
    if finite.size and np.all(finite == np.round(finite)):
        k = np.unique(finite).size
        if k <= 50 and k <= max(2, y.size // 2):
            return "classification"
    return "regression"


def encode_labels(y, classes: list | None = None) -> tuple[np.ndarray, list]:
    """Map labels to indices 0..K-1 into ``classes`` (sorted unique labels if not given)."""
    y = np.asarray(y).reshape(-1)
    exact = y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(np.abs(y) < 2**53)
    if exact and np.all(y == np.round(y)):
        y = y.astype(np.int64)
    if y.dtype.kind == "O":
        y = y.astype(str)
    if classes is None:
        uniq = np.unique(y)
        classes = [v.item() if hasattr(v, "item") else v for v in uniq]
    lookup = {_key(c): i for i, c in enumerate(classes)}
    idx = np.empty(y.size, dtype=np.int64)
    unknown: list = []
    for i, v in enumerate(y.tolist()):
        j = lookup.get(_key(v))
        if j is None:
            if len(unknown) < 5 and v not in unknown:
                unknown.append(v)
            idx[i] = -1
        else:
            idx[i] = j
    if unknown:
        raise FFNNError(
            f"labels {unknown} are not among the classes {classes}; the data must use the labels "
            "the model was trained on"
        )
    return idx, classes


def _key(v):
    """Compare labels by value: 3, 3.0, '3' and np.int64(3) are one class."""
    if isinstance(v, str):
        try:
            f = float(v)
        except ValueError:
            return ("s", v)
        v = f
    f = float(v)
    return ("n", int(f)) if f == int(f) else ("n", f)


@dataclass
class Dataset:
    """n examples: X: (n, n_0) float64 and targets y.

    classification: y: (n,) int64, the index of each example's class in ``classes``;
    regression: y: (n,) or (n, k) float64, ``classes`` is None.
    """

    X: np.ndarray
    y: np.ndarray
    task: str
    name: str = "data"
    feature_names: list[str] = field(default_factory=list)
    classes: list | None = None
    target_name: str = "target"
    description: str = ""

    def __post_init__(self):
        if self.task not in TASKS:
            raise FFNNError(f"unknown task {self.task!r}; choose 'classification' or 'regression'")
        if not self.feature_names:
            self.feature_names = [
                f"x{j}" for j in range(np.asarray(self.X).reshape(len(self.X), -1).shape[1])
            ]
        self.X = validate_X(self.X, self.feature_names, what=f"data set {self.name!r}")
        if len(self.feature_names) != self.X.shape[1]:
            raise FFNNError(
                f"data set {self.name!r}: {len(self.feature_names)} feature names for "
                f"{self.X.shape[1]} feature columns"
            )
        y = validate_y(self.y, self.X.shape[0], self.task, what=f"data set {self.name!r}")
        if self.task == "classification":
            if self.classes is None or y.dtype.kind not in "iu":
                y, self.classes = encode_labels(y, self.classes)
            y = y.astype(np.int64).reshape(-1)
            if y.size and (y.min() < 0 or y.max() >= len(self.classes)):
                raise FFNNError(
                    f"data set {self.name!r}: class indices must lie in 0..{len(self.classes) - 1}"
                )
            if len(self.classes) < 2:
                raise FFNNError(
                    f"data set {self.name!r} has only one class ({self.classes[0]!r}); "
                    "classification needs at least two"
                )
        self.y = y

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    @property
    def n_outputs(self) -> int:
        """The width n_{L+1} of the output layer: K classes, or k regression targets."""
        if self.task == "classification":
            return len(self.classes)
        return 1 if self.y.ndim == 1 else self.y.shape[1]

    def subset(self, idx, name: str | None = None) -> Dataset:
        """The examples at ``idx`` (same classes and feature names)."""
        return replace(self, X=self.X[idx], y=self.y[idx], name=name or self.name)

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        extra = f", classes={len(self.classes)}" if self.classes is not None else ""
        return (
            f"Dataset({self.name!r}, n={self.n}, n_features={self.n_features}, "
            f"task={self.task!r}{extra})"
        )


def train_test_split(
    ds: Dataset, test_size: float = 0.2, *, rng=0, stratify: bool | None = None
) -> tuple[Dataset, Dataset]:
    """Split into (train, test), a fraction ``test_size`` of the examples held out.

    Stratified by class for classification (each class split in the same proportion, at least
    one example of every class with two or more on each side); ``rng`` seeds the shuffle.
    """
    if not 0.0 < float(test_size) < 1.0:
        raise FFNNError(
            f"the test/validation fraction must lie strictly between 0 and 1, got {test_size}"
        )
    rng = np.random.default_rng(rng)
    n = ds.n
    stratify = ds.task == "classification" if stratify is None else stratify
    if stratify:
        test = []
        for c in range(len(ds.classes)):
            idx = rng.permutation(np.flatnonzero(ds.y == c))
            k = int(round(test_size * idx.size))
            if idx.size >= 2:
                k = min(max(k, 1), idx.size - 1)
            test.append(idx[:k])
        test_idx = np.sort(np.concatenate(test))
    else:
        k = int(round(test_size * n))
        test_idx = np.sort(rng.permutation(n)[:k])
    mask = np.zeros(n, dtype=bool)
    mask[test_idx] = True
    if mask.all() or not mask.any():
        raise FFNNError(
            f"cannot split {n} examples with fraction {test_size}: one side would be empty"
        )
    train_idx = np.flatnonzero(~mask)
    return ds.subset(train_idx), ds.subset(test_idx)
