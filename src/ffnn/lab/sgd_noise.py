"""SGD is a noisy gradient (notes 001): its noise from per-example gradients, and what it does.

With per-example gradients g_i = ∂ℓ(y_i, f(x_i))/∂θ: (p,), the full gradient is ḡ = ∇L = 1/n Σ g_i
and their covariance Σ = 1/n Σ_i (g_i − ḡ)(g_i − ḡ)ᵀ, tr Σ = 1/n Σ_i ‖g_i − ḡ‖². A minibatch B of
m examples drawn without replacement gives g_B = 1/m Σ_{i∈B} g_i with

    E g_B = ḡ,     E ‖g_B − ḡ‖² = (1/m) · (n − m)/(n − 1) · tr Σ         (finite-population factor)

(:func:`predicted_batch_noise`; measured by :func:`batch_noise` with g_B from the network's own
backward pass on the batch).

Near a minimum θ* of a quadratic L (least squares with no hidden layer: H = ∂²L/∂θ² constant),
SGD θ_{t+1} = θ_t − η g_B is θ_{t+1} − θ* = (I − ηH)(θ_t − θ*) − η ξ_t with noise ξ_t of
covariance C_m = (1/m)(n − m)/(n − 1) Σ(θ*). GD converges to θ*; SGD does not: its iterates
settle into a cloud whose covariance S solves the discrete Lyapunov equation

    S = (I − ηH) S (I − ηH) + η² C_m,   E ‖θ − θ*‖² = tr S,   E L(θ) − L* = ½ tr(H S)

(:func:`stationary_covariance`), smaller for larger batches and smaller steps.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import solve_discrete_lyapunov

from ffnn.core.graph import Network
from ffnn.errors import FFNNError
from ffnn.lab.jacobian import per_example_gradients

__all__ = [
    "gradient_covariance",
    "predicted_batch_noise",
    "batch_noise",
    "sgd",
    "stationary_covariance",
]


def gradient_covariance(net: Network, X, y, loss) -> tuple[np.ndarray, np.ndarray]:
    """(ḡ: (p,), Σ: (p, p)) of the per-example gradients at net's θ (float64)."""
    G = per_example_gradients(net, X, y, loss).astype(np.float64)  # (n, p)
    g = G.mean(0)
    D = G - g
    return g, D.T @ D / len(G)


def predicted_batch_noise(tr_sigma: float, n: int, m: int) -> float:
    """E ‖g_B − ∇L‖² = (1/m)(n − m)/(n − 1) tr Σ for m of n examples without replacement."""
    if not 1 <= m <= n or n < 2:
        raise FFNNError(f"the batch size m must lie in 1..n = {n} (n >= 2), got m = {m}")
    return tr_sigma * (n - m) / (m * (n - 1))


def batch_noise(
    net: Network, X, y, loss, m: int, draws: int, rng: np.random.Generator
) -> tuple[float, float]:
    """Mean and standard error over ``draws`` batches of ‖g_B − ∇L‖², g_B by backprop on B."""
    n = len(X)
    if draws < 2:
        raise FFNNError(f"draws must be at least 2 (for the error bar), got {draws}")
    _, g = net.loss_and_grad(X, y, loss)
    g = g.astype(np.float64)
    buf = net.gradient_buffer()
    sq = np.empty(draws)
    for r in range(draws):
        B = rng.choice(n, size=m, replace=False)
        _, gB = net.loss_and_grad(X[B], y[B], loss, out=buf)
        sq[r] = np.sum((gB - g) ** 2)
    return float(sq.mean()), float(sq.std(ddof=1) / np.sqrt(draws))


def sgd(
    net: Network, X, y, loss, *, lr: float, m: int | None, steps: int, rng: np.random.Generator
) -> np.ndarray:
    """θ ← θ − η g_B in place, each step a fresh batch of m examples (None: GD); θ_t: (steps+1, p).

    Each batch is drawn independently without replacement, so that every step's noise has the
    covariance above (an epoch's shuffled batches, as in ``fit``, are not independent).
    """
    n = len(X)
    buf = net.gradient_buffer()
    path = np.empty((steps + 1, net.n_params))
    path[0] = net.theta
    for t in range(steps):
        B = slice(None) if m is None else rng.choice(n, size=m, replace=False)
        _, g = net.loss_and_grad(X[B], y[B], loss, out=buf)
        net.theta -= lr * g
        path[t + 1] = net.theta
    return path


def stationary_covariance(
    H: np.ndarray, C: np.ndarray, lr: float, *, K: np.ndarray | None = None, factor: float = 1.0
) -> np.ndarray:
    """S = E (θ − θ*)(θ − θ*)ᵀ of SGD's stationary cloud around θ* of a quadratic loss.

    H: (p, p) the Hessian; C: (p, p) the covariance of one step's gradient noise at θ*. Solves

        S = (I − ηH) S (I − ηH) + η² (C + factor · 1/n Σ_i (K_i − H) S (K_i − H)ᵀ)

    where K: (n, p, p) are the per-example Hessians (optional): g_i(θ* + d) = g_i(θ*) + K_i d, so
    the noise grows with the distance d (for least squares this makes the recursion exact);
    ``factor`` = (n − m)/(m (n − 1)) scales it like C. Needs η λ_max(H) < 2 (GD stable).
    """
    lam_max = float(np.linalg.eigvalsh(H)[-1])
    if not lr * lam_max < 2:
        raise FFNNError(f"η λ_max = {lr * lam_max:.3g} >= 2: GD diverges, no stationary cloud")
    A = np.eye(len(H)) - lr * H
    S = solve_discrete_lyapunov(A, lr**2 * C)
    if K is None:
        return S
    D = np.asarray(K, dtype=np.float64) - H  # (n, p, p)
    for _ in range(1000):  # fixed point of a contraction when the multiplicative noise is stable
        M = np.einsum("nij,jk,nlk->il", D, S, D) / len(D)
        S_new = solve_discrete_lyapunov(A, lr**2 * (C + factor * M))
        if np.allclose(S_new, S, rtol=1e-12, atol=0):
            return S_new
        S = S_new
    raise FFNNError("SGD's second moment does not settle: the step or the batch noise is too large")
