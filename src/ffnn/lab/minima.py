"""Local minima: many restarts of narrow and wide networks on the same data (notes 002, 004).

SGD is not guaranteed to reach a global minimum of the non-convex training loss (notes 002). A
narrow network gets stuck: its restarts end at a spread of training losses, many far above the
best, at points where the gradient vanishes and the Hessian has no negative direction (local
minima). Overparameterization removes them: with enough width, every restart reaches about the
same, near-zero loss (notes 000: #params ≫ #data).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

import ffnn
from ffnn.errors import FFNNError

__all__ = ["RestartResult", "restarts", "stuck_fraction"]


@dataclass
class RestartResult:
    """One training run: its width, seed, final loss, gradient norm and Hessian extremes."""

    width: int
    seed: int
    loss: float
    grad_norm: float
    lambda_min: float | None = None
    lambda_max: float | None = None


def restarts(
    X,
    y,
    widths: Sequence[int],
    *,
    n_restarts: int = 20,
    activation: str = "tanh",
    loss: str = "mse",
    optimizer: str = "adam",
    lr: float = 0.01,
    epochs: int = 3000,
    schedule: str | None = "cosine",
    hessian_max_params: int = 200,
    first_seed: int = 0,
) -> list[RestartResult]:
    """Train n_0-width-n_out networks from ``n_restarts`` seeds each (``first_seed``, ``first_seed``
    + 1, …), full batch, with ``fit``.

    The default cosine schedule lets the step size decay, so each run ends at a stationary
    point rather than oscillating around one.

    For networks with at most ``hessian_max_params`` parameters the dense Hessian at the end
    gives λ_min and λ_max (is the end point a local minimum or a saddle?).
    """
    from ffnn.lab.hessian import Curvature
    from ffnn.train import fit

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if n_restarts < 1 or not widths:
        raise FFNNError("restarts needs at least one width and one restart")
    n_out = 1 if y.ndim == 1 else y.shape[1]
    out = []
    for w in widths:
        for seed in range(first_seed, first_seed + n_restarts):
            net = ffnn.mlp([X.shape[1], w, n_out], activation, rng=seed, dtype=np.float64)
            fit(
                net,
                X,
                y,
                loss,
                optimizer=optimizer,
                schedule=schedule,
                lr=lr,
                batch_size=None,
                epochs=epochs,
                rng=seed,
                progress=False,
            )
            C = Curvature(net, X, y, loss)
            r = RestartResult(w, seed, C.value, float(np.linalg.norm(C.gradient)))
            if net.n_params <= hessian_max_params:
                lam = np.linalg.eigvalsh(C.full())
                r.lambda_min, r.lambda_max = float(lam[0]), float(lam[-1])
            out.append(r)
    return out


def stuck_fraction(
    losses: Sequence[float], reference: float, *, factor: float = 2.0, slack: float = 1e-3
) -> float:
    """Fraction of runs whose loss exceeds factor · reference + slack (stuck above the best)."""
    losses = np.asarray(losses, dtype=float)
    return float(np.mean(losses > factor * reference + slack))
