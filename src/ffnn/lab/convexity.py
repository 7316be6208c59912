"""Convex without hidden layers, non-convex with them (notes 001, 003: no hidden layer: GD → OPT).

With no hidden layer, z = W x + b is linear in θ = (W, b) and the loss ℓ(y, φ_out(z)) is convex in z
for MSE (identity output) and cross-entropy (sigmoid/softmax output), so

    H = ∂²L/∂θ² = Jᵀ (∂²L/∂z²) J ⪰ 0     at every θ,

and gradient descent reaches the one optimal loss L* from any start. With a hidden layer the
Hessian gains terms σ''(z) ⊙ (Wᵀδ) and products of the two layers' parameters, which are
indefinite: negative curvature appears, and different starts end at different losses. The
output layer's block (W^(L+1), b^(L+1)) alone is again a linear model on the features x^(L), so
that block of H stays positive semi-definite.

"PSD" is judged against roundoff: an eigenvalue computed by ``eigvalsh`` of a symmetric p × p
matrix is off by at most about p·ε·‖H‖, so λ_min ≥ −p·ε·λ_max counts as non-negative
(:func:`roundoff_floor`). GD's distance to the optimum is judged by the strong-convexity
bound L(θ) − L* ≤ ‖∇L(θ)‖² / (2 μ), μ = the smallest eigenvalue of H near θ
(:func:`suboptimality_bound`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ffnn.core.graph import Network
from ffnn.lab.gd import gd
from ffnn.lab.hessian import full_hessian

__all__ = [
    "roundoff_floor",
    "hessian_eigs",
    "output_block",
    "curvature_at_points",
    "gd_losses",
    "gd_from_starts",
    "suboptimality_bound",
]


def roundoff_floor(H: np.ndarray, dtype=np.float64) -> float:
    """p · ε · max|λ|: the size below which an eigenvalue of H cannot be told from zero."""
    p = H.shape[0]
    return float(p * np.finfo(dtype).eps * max(np.abs(np.linalg.eigvalsh(H)).max(), 1e-300))


def hessian_eigs(H: np.ndarray) -> np.ndarray:
    """The eigenvalues of the symmetrized H, ascending: (p,)."""
    return np.linalg.eigvalsh((H + H.T) / 2)


def output_block(net: Network) -> slice:
    """The slice of θ holding the last Dense layer's (W^(L+1), b^(L+1)) (they are contiguous)."""
    blocks = net.param_blocks()
    (_, sw), (_, sb) = blocks[-2], blocks[-1]
    return slice(sw.start, sb.stop)


def curvature_at_points(
    net: Network, X, y, loss: str, n_points: int, rng: np.random.Generator, *, scale: float = 1.0
) -> list[dict]:
    """λ_min and λ_max of H (and of the output block of H) at ``n_points`` random θ.

    Each θ is the network's init drawn from ``rng`` times ``scale``. ``net`` is left at the
    last point. Returns one dict per point: lambda_min, lambda_max, floor, out_min, out_max.
    """
    rows = []
    out = output_block(net)
    for _ in range(n_points):
        net.initialize(rng)
        net.theta *= scale
        H = full_hessian(net, X, y, loss)
        lam, lam_out = hessian_eigs(H), hessian_eigs(H[out, out])
        rows.append(
            {
                "lambda_min": float(lam[0]),
                "lambda_max": float(lam[-1]),
                "floor": roundoff_floor(H),
                "out_min": float(lam_out[0]),
                "out_max": float(lam_out[-1]),
            }
        )
    return rows


def gd_losses(net: Network, X, y, loss, *, lr: float, steps: int) -> list[float]:
    """The lab's full-batch GD (:func:`ffnn.lab.gd.gd`) in place; L(θ_t) for t = 0..steps."""
    losses: list[float] = []
    gd(net, X, y, loss, lr=lr, steps=steps, callback=lambda t, L, g: losses.append(float(L)))
    return losses


def suboptimality_bound(net: Network, X, y, loss: str) -> tuple[float, float, float, float]:
    """(L, ‖∇L‖, ‖∇L‖²/(2 μ), μ) at net's θ, μ = λ_min(H) there (bound inf when μ ≤ roundoff)."""
    L, g = net.loss_and_grad(X, y, loss)
    H = full_hessian(net, X, y, loss)
    mu = hessian_eigs(H)[0]
    gg = float(np.dot(g, g))
    bound = gg / (2 * mu) if mu > roundoff_floor(H) else np.inf
    return float(L), float(np.sqrt(gg)), float(bound), float(mu)


def gd_from_starts(
    make_net: Callable[[int], Network], X, y, loss: str, seeds, *, lr: float, steps: int
) -> list[dict]:
    """GD from each start ``make_net(seed)``; per start the end loss, gradient and bounds.

    Returns dicts: seed, loss (L at the end), grad_norm, bound (‖∇L‖²/(2μ), see
    :func:`suboptimality_bound`), last_decrease (L lost over the last tenth of the steps),
    lambda_min (of H at the end point) and the loss curve ``path``.
    """
    rows = []
    for s in seeds:
        net = make_net(s)
        path = gd_losses(net, X, y, loss, lr=lr, steps=steps)
        L, gn, bound, mu = suboptimality_bound(net, X, y, loss)
        rows.append(
            {
                "seed": int(s),
                "loss": L,
                "grad_norm": gn,
                "bound": bound,
                "last_decrease": path[-1 - max(steps // 10, 1)] - path[-1],
                "lambda_min": mu,
                "path": np.asarray(path),
            }
        )
    return rows
