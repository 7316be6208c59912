"""Per-example weights w_i ≥ 0 in the loss: L_w = Σ_i w_i ℓ_i / Σ_i w_i (scikit-learn's definition).

On a batch B the weighted loss and its δ^(L+1) are

    L_B = Σ_{i∈B} w_i ℓ_i / Σ_{i∈B} w_i,      δ_i = w_i ∂ℓ_i/∂z_i / Σ_{i∈B} w_i,

the weighted mean, so that an integer weight k acts as k copies of the example (exactly so for
full-batch training: the mean over the duplicated data set is this weighted mean). A batch whose
weights sum to 0 contributes L_B = 0 and δ = 0. Weights are scale-free: w and c·w give the same L.

The loss computes the unweighted δ = ∂ℓ_i/∂z_i / B; :func:`weigh` rescales its rows by
c_i = B w_i / Σ_B w and takes L_B from the per-example losses ℓ_i (:func:`per_example`).
"""

from __future__ import annotations

import numpy as np

from ffnn.core.losses import MAE, MSE, BinaryCrossEntropy, CrossEntropy, Huber, Loss
from ffnn.errors import FFNNError

__all__ = ["check_weights", "per_example", "weigh"]


def check_weights(w, n: int, what: str = "sample_weight") -> np.ndarray:
    """w as a float64 vector (n,) of finite weights ≥ 0 with a positive sum, or FFNNError."""
    w = np.asarray(w)
    if w.ndim == 0:
        w = np.full(n, float(w))
    if w.ndim != 1 or w.shape[0] != n:
        raise FFNNError(f"{what} must have shape ({n},) (one weight per example), got {w.shape}")
    if not (np.issubdtype(w.dtype, np.number) or w.dtype == np.bool_):
        raise FFNNError(f"{what} must be numeric, got dtype {w.dtype}")
    w = np.asarray(w, dtype=np.float64)
    if not np.isfinite(w).all() or (w < 0).any():
        raise FFNNError(f"{what} must hold finite weights >= 0")
    if not w.sum() > 0:
        raise FFNNError(f"{what} sums to 0: at least one example needs a positive weight")
    return w


def per_example(loss: Loss, z: np.ndarray, Y: np.ndarray, output) -> np.ndarray:
    """ℓ_i for every row of z: (n, n_out) against Y: (n, n_out), as a float64 vector (n,).

    The built-in losses by their formulas; a loss with a ``per_example(z, Y, output)`` method
    by it; any other loss by ``value_and_delta`` on each row (correct, slower)."""
    own = getattr(loss, "per_example", None)
    if own is not None:
        return np.asarray(own(z, Y, output), dtype=np.float64)
    kind = type(loss)
    if kind in (MSE, MAE, Huber):
        ell, _ = loss.elementwise(output.apply(z) - Y)
        return ell.sum(axis=1, dtype=np.float64)
    if kind is BinaryCrossEntropy:
        ell = np.maximum(z, 0) - Y * z + np.log1p(np.exp(-np.abs(z)))
        return ell.sum(axis=1, dtype=np.float64)
    if kind is CrossEntropy:
        m = z.max(axis=1, keepdims=True)
        lse = m + np.log(np.exp(z - m).sum(axis=1, keepdims=True))
        ell = Y.sum(axis=1, keepdims=True) * lse - np.sum(Y * z, axis=1, keepdims=True)
        return ell[:, 0].astype(np.float64)
    return np.array(
        [loss.value_and_delta(z[i : i + 1], Y[i : i + 1], output)[0] for i in range(z.shape[0])]
    )


def weigh(loss: Loss, z, Y, output, delta: np.ndarray, w: np.ndarray) -> tuple[float, np.ndarray]:
    """(L_B, δ) weighted by w: (B,), from the unweighted δ: (B, n_out) (rescaled in place)."""
    total = float(w.sum())
    if total <= 0:
        delta[...] = 0
        return 0.0, delta
    c = w * (z.shape[0] / total)
    delta *= c.astype(delta.dtype, copy=False)[:, None]
    return float(per_example(loss, z, Y, output).dot(w) / total), delta
