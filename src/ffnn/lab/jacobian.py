"""Jacobians of a network: per-example parameter gradients, the input Jacobian, and their rank.

For a batch X: (n, n_0) the network computes z^(L+1)(x_i; θ) for every row. Two Jacobians matter
(notes 000):

* the parameter Jacobian ∂z_a(x_i)/∂θ, one row per example and output, of shape (n, k, p); its
  rows are the per-example gradients whose linear independence (rank n, σ_min > 0) makes every
  critical point of the training loss a global minimum when the network is overparameterized;
* the input Jacobian ∂z_a(x_i)/∂x: (n, k, n_0).

Nothing here loops over examples. One forward pass keeps every node's input (the trace caches);
one backward pass per output a sends the seed e_a back through the graph by message passing
(notes 003), and at every Dense node u it records the per-example sensitivities

    Δ_u^a = ∂z_a / ∂z_u : (n, n_out)      (δ^(l) of the notes, one row per example, not summed).

The per-example gradient of a Dense layer z = s_W W x + s_b b is then the outer product

    ∂z_a(x_i)/∂W = s_W Δ_u^a[i] x_u[i]ᵀ ,    ∂z_a(x_i)/∂b = s_b Δ_u^a[i],

summed over the nodes u where the layer is used (a layer shared by several nodes). For a chain
network this is δ_i^(l) x_i^(l-1)ᵀ for every layer l, formed by one broadcast product.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ffnn.core.graph import Network, Trace
from ffnn.core.layers import Dense
from ffnn.core.losses import get_loss
from ffnn.errors import FFNNError

__all__ = [
    "DenseSensitivity",
    "sensitivities",
    "param_jacobian",
    "per_example_gradients",
    "input_jacobian",
    "GradientRank",
    "gradient_rank",
]


@dataclass
class DenseSensitivity:
    """One use of a Dense layer in the graph: its input and the per-example sensitivities.

    ``layer`` indexes ``net.dense_layers``; ``x``: (n, n_in) is the node's input x_u;
    ``delta[a]``: (n, n_out) is ∂(seed a)/∂z_u per example; ``s_W``, ``s_b`` the layer's scales.
    """

    layer: int
    x: np.ndarray
    delta: list[np.ndarray]
    s_W: float
    s_b: float


def _messages(
    net: Network, trace: Trace, seed: np.ndarray, input_grad: bool = False
) -> tuple[dict[int, np.ndarray], np.ndarray | None]:
    """Message passing from ∂(·)/∂z^(L+1) = seed: (n, k) without forming ∂/∂θ.

    Returns {node index: ∂(·)/∂z_u (n, n_out)} for every Dense node, and ∂(·)/∂x if asked.
    Rows stay separate: every message is per example.
    """
    nodes, parents = net.nodes, net._parents
    msg: list = [None] * len(nodes)
    msg[-1] = seed
    out: dict[int, np.ndarray] = {}
    for i in range(len(nodes) - 1, 0, -1):
        g = msg[i]
        if g is None:
            continue
        layer = nodes[i].layer
        need = [p != 0 or input_grad for p in parents[i]]
        if isinstance(layer, Dense):
            out[i] = g
            if not need[0]:
                continue
            j = net._layer_index[id(layer)]
            W, _ = net.params[j]
            s_W = net._scales[j][0]
            dx = g @ W
            if s_W != 1.0:
                dx *= s_W
            sends = [dx]
        else:
            sends = layer.backward(None, trace.caches[i], g, None, False, need)
        for p, m in zip(parents[i], sends, strict=True):
            if m is not None:
                msg[p] = m if msg[p] is None else msg[p] + m
    return out, (msg[0] if input_grad else None)


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
) -> list[DenseSensitivity]:
    """Per-example sensitivities Δ_u^a at every Dense node u, for every output a.

    One forward pass (or the ``trace`` given) and one backward message pass per output.
    ``wrt="z"`` differentiates the pre-activation z^(L+1) (default); ``"f"`` the output φ_out(z).
    """
    if trace is None:
        z, trace = net.forward(X)
    else:
        z = trace.output
    per_seed = [_messages(net, trace, s)[0] for s in _seeds(net, z, wrt)]
    result = []
    for i in sorted(per_seed[0]):
        j = net._layer_index[id(net.nodes[i].layer)]
        s_W, s_b = net._scales[j]
        result.append(
            DenseSensitivity(j, trace.caches[i], [d[i] for d in per_seed], float(s_W), float(s_b))
        )
    return result


def _write_gradients(net: Network, sens: list[DenseSensitivity], a_or_deltas, G: np.ndarray):
    """Fill G: (n, p) with per-example gradients from sensitivities (one seed per example)."""
    written = [False] * len(net.dense_layers)
    for s in sens:
        d = a_or_deltas(s)
        n, n_out = d.shape
        sw, sb = net._slices[s.layer]
        GW = G[:, sw].reshape(n, n_out, -1)
        if written[s.layer]:
            GW += d[:, :, None] * s.x[:, None, :] * s.s_W
            G[:, sb] += d * s.s_b
        else:
            np.einsum("ni,nj->nij", d, s.x, out=GW)  # δ_i x_iᵀ for every example i
            if s.s_W != 1.0:
                GW *= s.s_W
            np.multiply(d, s.s_b, out=G[:, sb])
            written[s.layer] = True
    for j, done in enumerate(written):
        if not done:
            sw, sb = net._slices[j]
            G[:, sw] = 0
            G[:, sb] = 0
    return G


def param_jacobian(net: Network, X, *, wrt: str = "z") -> np.ndarray:
    """∂z_a(x_i)/∂θ for every example and output: (n, k, p), laid out like ``net.theta``.

    Built from one forward and k backward message passes and a broadcast outer product per
    Dense layer (no loop over examples).
    """
    sens = sensitivities(net, X, wrt=wrt)
    n = sens[0].x.shape[0] if sens else np.asarray(X).shape[0]
    k = len(sens[0].delta) if sens else 0
    J = np.empty((n, k, net.n_params), dtype=net.dtype)
    for a in range(k):
        _write_gradients(net, sens, lambda s, a=a: s.delta[a], J[:, a, :])
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
    msgs, _ = _messages(net, trace, delta)
    sens = []
    for i in sorted(msgs):
        j = net._layer_index[id(net.nodes[i].layer)]
        s_W, s_b = net._scales[j]
        sens.append(DenseSensitivity(j, trace.caches[i], [msgs[i]], float(s_W), float(s_b)))
    if out is None:
        out = np.empty((n, net.n_params), dtype=net.dtype)
    elif out.shape != (n, net.n_params):
        raise FFNNError(f"out must have shape ({n}, {net.n_params}), got {out.shape}")
    return _write_gradients(net, sens, lambda s: s.delta[0], out)


def input_jacobian(net: Network, X, *, wrt: str = "z") -> np.ndarray:
    """∂z_a(x_i)/∂x: (n, k, n_0), from one forward and k backward passes."""
    z, trace = net.forward(X)
    cols = [_messages(net, trace, s, input_grad=True)[1] for s in _seeds(net, z, wrt)]
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
