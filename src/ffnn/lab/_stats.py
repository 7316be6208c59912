"""Sampling error of the lab's verdicts: means with standard errors, and the quantiles that turn a
standard error into a tolerance (two-sided, family-wise level α over k comparisons)."""

from __future__ import annotations

import numpy as np
from scipy import stats

from ffnn.errors import FFNNError

__all__ = ["mean_se", "paired", "t_factor", "z_factor"]


def mean_se(a, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error (std with ddof=1 over √count) along ``axis``."""
    a = np.asarray(a, dtype=np.float64)
    k = a.shape[axis]
    if k < 2:
        raise FFNNError(f"a standard error needs at least two samples (seeds), got {k}")
    return a.mean(axis), a.std(axis, ddof=1) / np.sqrt(k)


def paired(a, b) -> tuple[float, float]:
    """Mean and standard error of a − b over paired samples (one per seed)."""
    m, se = mean_se(np.asarray(a, float) - np.asarray(b, float))
    return float(m), float(se)


def t_factor(dof: int, k: int = 1, alpha: float = 0.01) -> float:
    """Student-t quantile t_{1 − α/(2k)}(dof): |mean − μ| ≤ t·SE for all k tests w.p. ≥ 1 − α."""
    return float(stats.t.ppf(1 - alpha / (2 * k), dof))


def z_factor(k: int = 1, alpha: float = 0.01) -> float:
    """Normal quantile z_{1 − α/(2k)}, for means over many draws."""
    return float(stats.norm.ppf(1 - alpha / (2 * k)))
