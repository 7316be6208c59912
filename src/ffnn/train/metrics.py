"""Metrics of a prediction f = f(X): (n, n_out) against targets y, for the history.

* ``accuracy``  fraction of correct classes: argmax of f against integer labels (n,) or the argmax
  of one-hot rows (n, K); for one output (sigmoid), f > 1/2 against labels in {0, 1}.
* ``mse``       1/n Σ_i ‖y_i − f_i‖², the notes' mean squared error (summed over outputs).
* ``r2``        coefficient of determination 1 − Σ(y − f)² / Σ(y − ȳ)², averaged over outputs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ffnn.errors import FFNNError

__all__ = ["accuracy", "mse", "r2", "METRICS", "get_metric", "check_metric"]


def _labels(y: np.ndarray, n_out: int) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1)
    y = y.reshape(-1)
    if n_out == 1:
        return (y > 0.5).astype(np.int64)  # labels or probabilities in [0, 1]
    return y.astype(np.int64)


def accuracy(y, f) -> float:
    """Fraction of examples whose predicted class is the target class."""
    f = np.asarray(f)
    if f.ndim == 1:
        f = f[:, None]
    n_out = f.shape[1]
    pred = (f[:, 0] > 0.5).astype(np.int64) if n_out == 1 else f.argmax(axis=1)
    labels = _labels(y, n_out)
    if labels.shape != pred.shape:
        raise FFNNError(f"accuracy: {labels.shape[0]} targets for {pred.shape[0]} predictions")
    return float(np.mean(labels == pred)) if pred.size else float("nan")


def _as_2d(y, f) -> tuple[np.ndarray, np.ndarray]:
    f = np.asarray(f, dtype=np.float64)
    f = f[:, None] if f.ndim == 1 else f
    y = np.asarray(y, dtype=np.float64)
    y = y.reshape(f.shape) if y.size == f.size else y
    if y.shape != f.shape:
        raise FFNNError(f"targets of shape {y.shape} do not match predictions of shape {f.shape}")
    return y, f


def mse(y, f) -> float:
    """1/n Σ_i ‖y_i − f_i‖² (summed over outputs, as in the notes)."""
    y, f = _as_2d(y, f)
    return float(np.sum((y - f) ** 2) / max(1, y.shape[0]))


def r2(y, f) -> float:
    """R² = 1 − Σ(y − f)² / Σ(y − ȳ)², per output, averaged uniformly over outputs."""
    y, f = _as_2d(y, f)
    ss_res = np.sum((y - f) ** 2, axis=0)
    ss_tot = np.sum((y - y.mean(axis=0)) ** 2, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0), 0.0)
    return float(np.mean(r))


METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "accuracy": accuracy,
    "mse": mse,
    "r2": r2,
}


def get_metric(name: str) -> Callable[[np.ndarray, np.ndarray], float]:
    try:
        return METRICS[name]
    except (KeyError, TypeError):
        raise FFNNError(f"unknown metric {name!r}; choose among {', '.join(METRICS)}") from None


def check_metric(name: str, output_name: str) -> None:
    """Raise :class:`FFNNError` if the metric does not fit the network's output activation."""
    get_metric(name)
    if name == "accuracy" and output_name not in ("softmax", "sigmoid"):
        raise FFNNError(
            f"metric 'accuracy' needs a classifier (output 'softmax' or 'sigmoid'), but the "
            f"network's output is '{output_name}'; use 'mse' or 'r2' for regression"
        )
