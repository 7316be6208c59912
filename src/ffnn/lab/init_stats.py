"""Statistics of a network at random initialization (notes 000).

Forward signal propagation. With W_ij ~ (0, C_W/n_{l-1}), b_i ~ (0, C_b), the mean squared
pre-activation q^(l) = E[(z_i^(l))²] of a wide network follows the mean-field recursion

    q^(1) = C_b + C_W ‖x‖²/n_0,     q^(l+1) = C_b + C_W E_{u~N(0,1)}[σ(√q^(l) u)²],

so ReLU keeps q constant exactly when C_W = 2 (He), halves it per layer with C_W = 1 (LeCun),
and grows or shrinks geometrically otherwise. Backward, the mean squared δ per layer is
multiplied by χ = C_W E[σ'(√q u)²]; for tanh with C_b = 0 the fixed point is q* = 0 and χ = C_W
there, so C_W = 1 is the edge of chaos (χ = 1): gradients neither explode nor vanish.

Jacobian fluctuations. For a ReLU network with He initialization the squared norm of the
input-output Jacobian ‖∂z^(L+1)/∂x‖² has a depth-independent mean but fluctuates across random
networks with a size set by β = Σ_l 1/n_l, the sum of reciprocal hidden widths (Hanin 2018;
Hanin & Nica 2020): log ‖∂z/∂x‖² is approximately Gaussian with variance ≈ 5β (+ a term from the
input layer), so Var/mean² ≈ exp(5β) − 1 ≈ 5 L/n for L layers of width n (the notes' corollary
C_0 · L/n). The 5 comes from one layer: with ξ ~ Bernoulli(1/2) the ReLU gate and g ~ N(0, 1),
E[(2ξg²)²] = 6, so each layer multiplies the squared norm by a factor of mean 1 and variance 5/n.
:func:`relu_log_variance` gives the exact finite-width per-layer variance of the log.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from ffnn.core.activations import get_activation
from ffnn.core.graph import Network, mlp
from ffnn.core.init import Init
from ffnn.core.sweeps import message_sweep
from ffnn.errors import FFNNError

__all__ = [
    "LayerStats",
    "layer_statistics",
    "mean_field",
    "jacobian_norms",
    "relu_log_variance",
    "predicted_log_variance",
]


@dataclass
class LayerStats:
    """Per hidden layer l = 1 … L+1 (the last entry is the output z^(L+1)).

    ``q_z[l-1]`` = mean of (z_i^(l))² over units and examples; ``q_x[l-1]`` = mean of
    (x_i^(l))² (hidden layers only); ``q_delta[l-1]`` = mean over examples of ‖δ^(l)‖² for the
    seed δ^(L+1) = 1 (the squared norm of ∂(Σ_a z_a)/∂z^(l)).
    """

    q_z: np.ndarray
    q_x: np.ndarray
    q_delta: np.ndarray


def layer_statistics(net: Network, X) -> LayerStats:
    """Forward and backward signal statistics of a chain network on the batch X: (n, n_0)."""
    z, trace = net.forward(X)
    zs = trace.z
    xs = trace.x[1:]
    net.backward(trace, np.ones_like(z))
    deltas = trace.delta
    return LayerStats(
        np.array([float(np.mean(np.square(v, dtype=np.float64))) for v in zs]),
        np.array([float(np.mean(np.square(v, dtype=np.float64))) for v in xs]),
        np.array([float(np.mean(np.sum(np.square(d, dtype=np.float64), 1))) for d in deltas]),
    )


def mean_field(
    activation: str, C_W: float, C_b: float, depth: int, q0: float = 1.0, order: int = 64
) -> tuple[np.ndarray, np.ndarray]:
    """Mean-field q^(l) for l = 1 … depth+1 and χ^(l) = C_W E[σ'(√q^(l) u)²] for l = 1 … depth.

    ``q0`` = ‖x‖²/n_0 of the input. Gaussian expectations by Gauss–Hermite quadrature.
    """
    act = get_activation(activation)
    t, w = np.polynomial.hermite_e.hermegauss(order)
    w = w / w.sum()
    q = [C_b + C_W * q0]
    chi = []
    for _ in range(depth):
        u = np.sqrt(q[-1]) * t
        chi.append(C_W * float(np.sum(w * act.dsigma(u) ** 2)))
        q.append(C_b + C_W * float(np.sum(w * act.sigma(u) ** 2)))
    return np.array(q), np.array(chi)


def jacobian_norms(
    widths: list[int],
    n_nets: int,
    *,
    x=None,
    activation: str = "relu",
    init: Init | str | float = "he",
    rng: np.random.Generator | int = 0,
) -> np.ndarray:
    """‖∂z^(L+1)/∂x‖² (Frobenius) at one input x for ``n_nets`` independently drawn networks.

    widths = [n_0, n_1, ..., n_{L+1}]; x defaults to a fixed standard normal vector. Returns an
    array of shape (n_nets,). Each draw re-initializes one network from ``rng`` and runs one
    forward and n_{L+1} backward passes.
    """
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    net = mlp(widths, activation, init=init, rng=rng, dtype=np.float64)
    if x is None:
        x = np.random.default_rng(12345).standard_normal((1, widths[0]))
    x = np.asarray(x, dtype=np.float64).reshape(1, -1)
    k = widths[-1]
    eye = np.eye(k)
    out = np.empty(n_nets)
    for s in range(n_nets):
        net.initialize(rng)
        _, trace = net.forward(x)
        total = 0.0
        for a in range(k):
            gx = message_sweep(net, trace, eye[a : a + 1], input_grad=True)[0]
            total += float(np.sum(gx * gx))
        out[s] = total
    return out


def relu_log_variance(n: int) -> float:
    """Exact Var[log X] for one ReLU layer of width n with He (Gaussian) weights.

    X = (2/n) Σ_{i=1}^{n} ξ_i g_i² = (2/n) χ²_K with K ~ Binomial(n, 1/2) active units
    (conditioned on K ≥ 1); given K, log χ²_K has mean ψ(K/2) + log 2 and variance ψ'(K/2).
    For large n this is 5/n + O(1/n²).
    """
    if n < 1:
        raise FFNNError(f"width must be >= 1, got {n}")
    K = np.arange(1, n + 1)
    p = stats.binom.pmf(K, n, 0.5)
    p = p / p.sum()
    m = special.digamma(K / 2)
    return float(np.sum(p * special.polygamma(1, K / 2)) + np.sum(p * m * m) - np.sum(p * m) ** 2)


def predicted_log_variance(widths: list[int]) -> float:
    """Var[log ‖∂z/∂x‖²] predicted for a He ReLU chain with scalar output, widths [n_0, …, 1].

    Sum of :func:`relu_log_variance` over the hidden layers plus ψ'(n_0/2) from the input layer
    (‖W^(1)ᵀ v‖² = (2/n_0) ‖v‖² χ²_{n_0}), treating the layers as independent. The literature's
    large-width form is 5 β + 2/n_0 with β = Σ 1/n_l.
    """
    if widths[-1] != 1:
        raise FFNNError("predicted_log_variance is for networks with one output")
    return sum(relu_log_variance(n) for n in widths[1:-1]) + float(
        special.polygamma(1, widths[0] / 2)
    )
