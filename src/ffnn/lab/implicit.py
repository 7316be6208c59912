"""Implicit (algorithmic) regularization: which global minimum does training find? (notes 000)

With more parameters than data, the minimizers of the training loss form a set, and the
optimizer — not the loss — picks one:

* GD on least squares started at θ_0 moves only in the row space of the data matrix
  A = [X 1]: θ_t − θ_0 ∈ range(Aᵀ). Started at θ_0 = 0 it converges to the minimum-norm
  interpolant θ = A⁺ y (the pseudo-inverse solution).
* For networks, GD, SGD with small or large batches and Adam reach different minima, which
  differ in parameter norm, sharpness λ_max(H) and test error.
* The initialization scale α decides how far θ moves: large α gives *lazy* training (the network
  stays close to its linearization, the NTK K = J Jᵀ barely changes), small α gives *rich*
  training (the features, and the kernel, move by O(1)).
"""

from __future__ import annotations

import numpy as np

import ffnn
from ffnn.core.graph import Network
from ffnn.core.layers import Act, Add, Dense, Input
from ffnn.errors import FFNNError
from ffnn.lab.gd import gd

__all__ = [
    "min_norm_solution",
    "gd_least_squares",
    "relative_movement",
    "output_jacobian",
    "empirical_kernel",
    "kernel_change",
    "antisymmetric_network",
]


def _design(X: np.ndarray) -> np.ndarray:
    return np.hstack([X, np.ones((X.shape[0], 1))])


def min_norm_solution(X, y) -> np.ndarray:
    """θ = A⁺ y with A = [X 1]: (n, d+1); laid out as (w: (d,), b) like a linear network's θ."""
    X = np.asarray(X, dtype=np.float64)
    return np.linalg.pinv(_design(X)) @ np.asarray(y, dtype=np.float64).reshape(-1)


def gd_least_squares(
    X,
    y,
    *,
    theta0: np.ndarray | None = None,
    lr: float | None = None,
    steps: int = 100000,
    gtol: float = 1e-13,
) -> tuple[Network, int]:
    """Full-batch GD on L = 1/n Σ (y_i − wᵀx_i − b)² with a linear ffnn network (float64).

    ``theta0`` is the start (default 0), ``lr`` defaults to 1/λ_max(H) with H = 2/n AᵀA.
    Stops when ‖∇L‖ < gtol. Returns the network and the number of steps taken.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    n, d = X.shape
    net = ffnn.mlp([d, 1], dtype=np.float64)
    net.theta[:] = 0 if theta0 is None else theta0
    if lr is None:
        A = _design(X)
        lr = 1.0 / np.linalg.eigvalsh(2 / n * A.T @ A)[-1]
    steps = gd(
        net, X, y, "mse", lr=lr, steps=steps, callback=lambda t, L, g: np.linalg.norm(g) < gtol
    )
    return net, steps


def relative_movement(theta0: np.ndarray, theta: np.ndarray) -> float:
    """‖θ − θ_0‖ / ‖θ_0‖."""
    return float(np.linalg.norm(theta - theta0) / np.linalg.norm(theta0))


def output_jacobian(net: Network, X) -> np.ndarray:
    """J = ∂z^(L+1)(x_i)/∂θ: (n, p) for a network with one output (one backward pass per row)."""
    if net.widths[-1] != 1:
        raise FFNNError("output_jacobian is for networks with one output; take one output unit")
    z, trace = net.forward(X)
    J = np.empty((z.shape[0], net.n_params), dtype=net.dtype)
    for i in range(z.shape[0]):
        e = np.zeros_like(z)
        e[i, 0] = 1
        J[i] = net.backward(trace, e).theta
    return J


def empirical_kernel(net: Network, X) -> np.ndarray:
    """The empirical NTK K = J Jᵀ: (n, n) of a one-output network on the rows of X."""
    J = output_jacobian(net, X)
    return J @ J.T


def kernel_change(K0: np.ndarray, K1: np.ndarray) -> float:
    """‖K_1 − K_0‖_F / ‖K_0‖_F."""
    return float(np.linalg.norm(K1 - K0) / np.linalg.norm(K0))


def antisymmetric_network(
    d: int, m: int, alpha: float, *, activation: str = "relu", rng=0
) -> tuple[Network, list[Dense]]:
    """f(x) = a·σ(W x + b) − a·σ(W x + b) at init: two copies with opposite output weights.

    So f(θ_0) = 0 for any scale, while every weight is α times a standard (He) draw: the
    init scale α changes the kernel regime without changing the initial function
    (Chizat, Oyallon & Bach 2019). Returns the network (float64) and its hidden layers.
    """
    x = Input(d)
    hA, hB, oA, oB = Dense(m), Dense(m), Dense(1), Dense(1)
    out = Add()(oA(Act(activation)(hA(x))), oB(Act(activation)(hB(x))))
    net = Network(x, out, rng=rng, dtype=np.float64, init=ffnn.Init("he", C_b=0.1))
    idx = net._layer_index
    WA, bA = net.params[idx[id(hA)]]
    WB, bB = net.params[idx[id(hB)]]
    vA, cA = net.params[idx[id(oA)]]
    vB, cB = net.params[idx[id(oB)]]
    WB[...], bB[...] = WA, bA
    vB[...] = -vA
    cA[...] = cB[...] = 0
    net.theta *= alpha
    return net, [hA, hB]
