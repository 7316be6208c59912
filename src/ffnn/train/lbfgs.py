"""Full-batch L-BFGS on the flat θ (SciPy's L-BFGS-B), and the L2 penalty on the weights W.

``lbfgs(net, X, Y, loss)`` minimizes L(θ) = 1/n Σ_i ℓ(y_i, f(x_i; θ)) (+ α/(2n) Σ_l ‖W^(l)‖²_F
with an :class:`L2OnWeights`) over the whole data set, in float64 as SciPy works, and leaves the
minimizer in ``net.theta``. The estimators' ``solver="lbfgs"`` and the lab's ``find_minimum``
both call it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ffnn.core.graph import Network
from ffnn.core.losses import Loss
from ffnn.train.weights import check_weights, weigh

__all__ = ["L2OnWeights", "lbfgs"]


class L2OnWeights:
    """α/2 Σ_l ‖W^(l)‖²_F on the weight blocks of θ (the biases b are not penalized).

    ``value(θ, scale)`` = α/(2·scale) Σ_l ‖W^(l)‖²_F; ``add_gradient(g, θ, lam)``: g_W ← g_W + λ W
    (λ = α/scale), in place, optionally through the buffer ``tmp`` (θ's shape); ``add_to(L, g, θ,
    scale)``: both onto an objective, block by block (L-BFGS's order of the sums)."""

    def __init__(self, net: Network, alpha: float):
        self.slices = [sl for name, sl in net.param_blocks() if name.endswith(".W")]
        self.alpha = float(alpha)

    def value(self, theta: np.ndarray, scale: float) -> float:
        if not self.alpha:
            return 0.0
        total = sum(float(np.dot(theta[sl], theta[sl])) for sl in self.slices)
        return 0.5 * self.alpha * total / scale

    def add_to(self, L: float, g: np.ndarray, theta: np.ndarray, scale: float) -> float:
        for sl in self.slices:
            L += 0.5 * self.alpha * float(np.dot(theta[sl], theta[sl])) / scale
        self.add_gradient(g, theta, self.alpha / scale)
        return L

    def add_gradient(self, g: np.ndarray, theta: np.ndarray, lam: float, tmp=None) -> np.ndarray:
        if lam:
            for sl in self.slices:
                if tmp is None:
                    g[sl] += lam * theta[sl]
                else:
                    np.multiply(theta[sl], lam, out=tmp[sl])
                    g[sl] += tmp[sl]
        return g


def lbfgs(
    net: Network,
    X: np.ndarray,
    Y: np.ndarray,
    loss: Loss,
    *,
    penalty: L2OnWeights | None = None,
    max_iter: int = 15000,
    max_fun: int | None = None,
    gtol: float | None = None,
    tol: float | None = None,
    maxcor: int | None = None,
    callback: Callable[[float], None] | None = None,
    sample_weight: np.ndarray | None = None,
):
    """Minimize the full-batch loss of ``net`` on (X: (n, n_0), Y: (n, n_out)) from its θ.

    Y is checked beforehand (float, the network's targets). Options as SciPy's L-BFGS-B
    (``maxiter``, ``maxfun``, ``gtol``, ``maxcor``; ``tol`` its generic tolerance);
    ``callback(L)`` after each iteration. θ* goes into ``net.theta``; returns SciPy's result
    (``x``, ``fun``, ``nit``, ``status``, ``message``). Overflow on the way is left to the
    caller's check of θ (no warning). ``sample_weight`` (n,): minimize the weighted mean
    Σ w_i ℓ_i / Σ w_i instead, with the penalty's 1/n replaced by 1/Σ w_i (scikit-learn's MLP;
    for integer weights, exactly the objective of the data set with each example repeated)."""
    from scipy.optimize import minimize

    theta, grad = net.theta, net.gradient_buffer()
    n = X.shape[0]
    w = None if sample_weight is None else check_weights(sample_weight, n)
    scale = n if w is None else float(w.sum())

    def objective(x):
        theta[...] = x
        z, trace = net.forward(X)
        L, delta = loss.value_and_delta(z, Y, net.output)
        if w is not None:
            L, delta = weigh(loss, z, Y, net.output, delta, w)
        g = net.backward(trace, delta, out=grad).theta.astype(np.float64)
        if penalty is not None and penalty.alpha:
            L = penalty.add_to(L, g, x, scale)
        return L, g

    options = {"maxiter": max_iter}
    for key, value in (("maxfun", max_fun), ("gtol", gtol), ("maxcor", maxcor)):
        if value is not None:
            options[key] = value

    def step(intermediate_result):  # SciPy passes the result to a parameter of this name
        callback(float(intermediate_result.fun))

    with np.errstate(over="ignore", invalid="ignore"):
        res = minimize(
            objective, theta.astype(np.float64), method="L-BFGS-B", jac=True, tol=tol,
            callback=None if callback is None else step, options=options,
        )  # fmt: skip
    theta[...] = res.x
    return res
