"""Jacobians of a network: per-example parameter gradients, the input Jacobian, and their rank.

For a batch X: (n, n_0) the network computes z^(L+1)(x_i; θ) for every row. Two Jacobians matter
(notes 000):

* the parameter Jacobian ∂z_a(x_i)/∂θ, one row per example and output, of shape (n, k, p); its
  rows are the per-example gradients whose linear independence (rank n, σ_min > 0) makes every
  critical point of the training loss a global minimum when the network is overparameterized;
* the input Jacobian ∂z_a(x_i)/∂x: (n, k, n_0).

Nothing here loops over examples (for the built-in layers). One forward pass keeps every
node's cache; one backward message pass per output a (:func:`ffnn.core.sweeps.message_sweep`)
sends the seed e_a back through the graph (notes 003), and at every node u of a layer with
parameters it gives the per-example sensitivities

    Δ_u^a = ∂z_a / ∂value_u : (n, n_u)      (δ^(l) of the notes, one row per example, not summed).

Each layer turns them into per-example parameter gradients by its ``per_example`` rule; for a
Dense layer z = s_W W x + s_b b this is the outer product

    ∂z_a(x_i)/∂W = s_W Δ_u^a[i] x_u[i]ᵀ ,    ∂z_a(x_i)/∂b = s_b Δ_u^a[i],

summed over the nodes u where the layer is used (a layer shared by several nodes). For a chain
network this is δ_i^(l) x_i^(l-1)ᵀ for every layer l, formed by one broadcast product.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ffnn.core.graph import Network, Trace
from ffnn.core.layers import Layer
from ffnn.core.losses import get_loss
from ffnn.core.sweeps import message_sweep, per_example_sweep
from ffnn.errors import FFNNError

__all__ = [
    "DenseSensitivity",
    "Sensitivity",
    "sensitivities",
    "param_jacobian",
    "per_example_gradients",
    "input_jacobian",
    "GradientRank",
    "gradient_rank",
]


@dataclass
class Sensitivity:
    """One use (node) of a layer with parameters: its cache and the per-example sensitivities.

    ``layer`` indexes ``net.param_layers`` (``rules`` is that layer, ``P`` its packed
    parameters); ``cache`` is the node's forward cache (for Dense, its input x_u: (n, n_in));
    ``delta[a]``: (n, n_u) is ∂(seed a)/∂value_u per example.
    """

    layer: int
    rules: Layer
    P: tuple
    cache: object
    delta: list[np.ndarray]

    @property
    def x(self):
        """The cache under its Dense name: the node's input x_u."""
        return self.cache


DenseSensitivity = Sensitivity  # the former name


def _seeds(net: Network, z: np.ndarray, wrt: str) -> list[np.ndarray]:
    """One seed per output a: ∂(output a)/∂z^(L+1) per example, (n, k)."""
    n, k = z.shape
    if wrt not in ("z", "f"):
        raise FFNNError(f"wrt must be 'z' (pre-activation z^(L+1)) or 'f' (φ_out(z)), got {wrt!r}")
    seeds = []
    f = net.output.apply(z) if wrt == "f" else None
    for a in range(k):
        e = np.zeros((n, k), dtype=z.dtype)
        e[:, a] = 1
        seeds.append(e if wrt == "z" else net.output.vjp(z, f, e))
    return seeds


def sensitivities(
    net: Network, X, *, wrt: str = "z", trace: Trace | None = None
) -> list[Sensitivity]:
    """Per-example sensitivities Δ_u^a at every node u of a layer with parameters, every output a.

    One forward pass (or the ``trace`` given) and one backward message pass per output.
    ``wrt="z"`` differentiates the pre-activation z^(L+1) (default); ``"f"`` the output φ_out(z).
    """
    if trace is None:
        z, trace = net.forward(X)
    else:
        z = trace.output
    per_seed = [message_sweep(net, trace, s) for s in _seeds(net, z, wrt)]
    return [
        Sensitivity(k, layer, P, trace.caches[i], [m[i] for m in per_seed])
        for i, layer, P, _, k, _ in net._steps()
        if k is not None and per_seed[0][i] is not None
    ]


def param_jacobian(net: Network, X, *, wrt: str = "z") -> np.ndarray:
    """∂z_a(x_i)/∂θ for every example and output: (n, k, p), laid out like ``net.theta``.

    Built from one forward and k backward message passes and each layer's per-example rule (a
    broadcast outer product per Dense layer; no loop over examples).
    """
    z, trace = net.forward(X)
    seeds = _seeds(net, z, wrt)
    J = np.empty((z.shape[0], len(seeds), net.n_params), dtype=net.dtype)
    for a, seed in enumerate(seeds):
        msgs = message_sweep(net, trace, seed)
        per_example_sweep(net, trace, msgs, net.param_views(J[:, a, :]))
    return J


def per_example_gradients(
    net: Network, X, y, loss="mse", *, out: np.ndarray | None = None
) -> np.ndarray:
    """∂ℓ(y_i, f(x_i))/∂θ for every example of a minibatch: (n, p).

    Their mean over the batch is the batch gradient ∂L/∂θ of ``net.loss_and_grad``. Cost: one
    forward pass, one backward message pass and one broadcast outer product per Dense layer.
    ``out`` may be a reusable (n, p) buffer.
    """
    loss = get_loss(loss)
    loss.check_output(net.output)
    z, trace = net.forward(X)
    _, delta = loss.value_and_delta(z, y, net.output)
    n = z.shape[0]
    delta = delta * n  # ∂ℓ_i/∂z_i: the loss's delta carries the 1/n of the mean
    if out is None:
        out = np.empty((n, net.n_params), dtype=net.dtype)
    elif out.shape != (n, net.n_params):
        raise FFNNError(f"out must have shape ({n}, {net.n_params}), got {out.shape}")
    per_example_sweep(net, trace, message_sweep(net, trace, delta), net.param_views(out))
    return out


def input_jacobian(net: Network, X, *, wrt: str = "z") -> np.ndarray:
    """∂z_a(x_i)/∂x: (n, k, n_0), from one forward and k backward passes."""
    z, trace = net.forward(X)
    cols = [message_sweep(net, trace, s, input_grad=True)[0] for s in _seeds(net, z, wrt)]
    return np.stack(cols, axis=1)


@dataclass
class GradientRank:
    """Rank and singular values of the per-example gradient matrix J: (n, p).

    ``rank`` counts singular values above rtol · σ_max (see :func:`gradient_rank`).
    """

    rank: int
    n: int
    p: int
    sigma_min: float
    sigma_max: float
    singular_values: np.ndarray

    @property
    def full_rank(self) -> bool:
        """True when the n gradients (rows) are linearly independent: rank = n.

        That needs n ≤ p, so it is False whenever p < n (then rank ≤ p < n) — the condition of
        notes 000 under which every critical point of the training loss is a global minimum.
        """
        return self.rank == self.n


def gradient_rank(J: np.ndarray, *, rtol: float | None = None) -> GradientRank:
    """Rank and σ_min of the n × p matrix of per-example gradients (rows ∂f(x_i)/∂θ).

    ``J`` may be (n, p) or (n, k, p) (then rows are all (example, output) pairs). The SVD is
    taken in float64 (O(n² p) for p ≫ n). Singular values below rtol · σ_max count as zero;
    rtol defaults to max(n, p) times the machine epsilon of J's own dtype (float32 Jacobians are
    only that accurate).
    """
    J = np.asarray(J)
    eps = np.finfo(J.dtype if J.dtype in (np.float32, np.float64) else np.float64).eps
    J = J.astype(np.float64, copy=False)
    if J.ndim == 3:
        J = J.reshape(-1, J.shape[-1])
    if J.ndim != 2:
        raise FFNNError(f"expected J of shape (n, p) or (n, k, p), got {J.shape}")
    n, p = J.shape
    s = np.linalg.svd(J, compute_uv=False)
    rtol = max(n, p) * eps if rtol is None else rtol
    tol = rtol * (s[0] if s.size else 0.0)
    rank = int(np.sum(s > tol))
    return GradientRank(rank, n, p, float(s[-1]) if s.size else 0.0, float(s[0]), s)
