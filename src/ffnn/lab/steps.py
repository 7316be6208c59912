"""GD's steps to a tolerance (notes 004): err^t ~ β^t, so T = log(tol / err^0) / log β.

Near a minimum θ* with Hessian H (exactly, for least squares), GD θ ← θ − η ∇L contracts the error
e_t = θ_t − θ* by I − ηH, so

    err^t = ‖θ_t − θ*‖ ≤ β^t err^0,    β = max(|1 − η λ_min|, |1 − η λ_max|),

and the steps needed to reach ``tol`` are at most T(tol) = ⌈log(tol / err^0) / log β⌉; for large t
the slowest eigen-direction dominates, so T grows by exactly −1/log β per factor e of tol
(:func:`predicted_steps`, :func:`steps_to_tolerance`, :func:`slope_fit`). λ_min and λ_max come
from the Hessian by Lanczos (``ffnn.lab.spectrum.extreme_eigenvalues`` on
``ffnn.lab.hessian.hessian_operator``).
"""

from __future__ import annotations

import numpy as np

from ffnn.core.graph import Network
from ffnn.errors import FFNNError
from ffnn.lab.gd import gd
from ffnn.lab.hessian import hessian_operator
from ffnn.lab.spectrum import extreme_eigenvalues

__all__ = [
    "contraction",
    "hessian_extremes",
    "gd_errors",
    "steps_to_tolerance",
    "predicted_steps",
    "slope_fit",
]


def contraction(lr: float, lam_min: float, lam_max: float) -> float:
    """β = max(|1 − η λ_min|, |1 − η λ_max|): GD's worst-case contraction per step."""
    return max(abs(1 - lr * lam_min), abs(1 - lr * lam_max))


def hessian_extremes(net: Network, X, y, loss) -> tuple[float, float]:
    """(λ_min, λ_max) of the loss Hessian at net's θ, by Lanczos on the R-operator products."""
    return extreme_eigenvalues(hessian_operator(net, X, y, loss), tol=1e-10)


def gd_errors(net: Network, X, y, loss, theta_star, *, lr: float, steps: int) -> np.ndarray:
    """err^t = ‖θ_t − θ*‖ along the lab's GD from net's θ (in place), t = 0..steps: (steps+1,)."""
    theta_star = np.asarray(theta_star, dtype=np.float64)
    err = np.empty(steps + 1)

    def record(t, L, g):
        err[t] = np.linalg.norm(net.theta - theta_star)

    gd(net, X, y, loss, lr=lr, steps=steps, callback=record)
    return err


def steps_to_tolerance(err, tols) -> np.ndarray:
    """For each tol the first t with err^t ≤ tol (−1 when never reached): int (len(tols),)."""
    err = np.asarray(err)
    out = np.full(len(tols), -1)
    for j, tol in enumerate(tols):
        hit = np.flatnonzero(err <= tol)
        out[j] = hit[0] if hit.size else -1
    return out


def predicted_steps(beta: float, err0: float, tols) -> np.ndarray:
    """T(tol) = ⌈log(tol / err^0) / log β⌉ (0 where tol ≥ err^0): the notes' bound, (len(tols),)."""
    if not 0 < beta < 1:
        raise FFNNError(f"GD converges only for a contraction 0 < β < 1, got β = {beta:.4g}")
    T = np.ceil(np.log(np.asarray(tols, float) / err0) / np.log(beta))
    return np.maximum(T, 0).astype(int)


def slope_fit(tols, T) -> tuple[float, float]:
    """Least-squares slope dT / d log(1/tol) and its standard error (needs ≥ 3 points)."""
    x = -np.log(np.asarray(tols, float))
    T = np.asarray(T, float)
    if x.size < 3:
        raise FFNNError(f"a slope with an error bar needs at least 3 tolerances, got {x.size}")
    A = np.c_[x, np.ones_like(x)]
    coef, res, *_ = np.linalg.lstsq(A, T, rcond=None)
    r = T - A @ coef
    s2 = float(r @ r) / (x.size - 2)
    se = np.sqrt(s2 / np.sum((x - x.mean()) ** 2))
    return float(coef[0]), float(se)
