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

from ffnn.core.graph import Network, Trace, Workspace
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
    "PerExampleGradients",
    "per_example_factors",
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
    net: Network,
    X,
    *,
    wrt: str = "z",
    trace: Trace | None = None,
    workspaces: list[Workspace] | None = None,
) -> list[Sensitivity]:
    """Per-example sensitivities Δ_u^a at every node u of a layer with parameters, every output a.

    One forward pass (or the ``trace`` given) and one backward message pass per output.
    ``wrt="z"`` differentiates the pre-activation z^(L+1) (default); ``"f"`` the output φ_out(z).
    ``workspaces``: one :class:`~ffnn.core.graph.Workspace` per output, made for X's batch size;
    the forward values then live in the first one's buffers and output a's messages in the
    a-th one's, until the next pass that uses them.
    """
    ws = workspaces or [None] * net.output_node.dim
    if trace is None:
        z, trace = net.forward(X, workspace=ws[0])
    else:
        z = trace.output
    per_seed = [
        message_sweep(net, trace, s, outs=w and w.sends)
        for s, w in zip(_seeds(net, z, wrt), ws, strict=True)
    ]
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


@dataclass
class PerExampleGradients:
    """The per-example gradients g_i = ∂ℓ(y_i, f(x_i))/∂θ of a minibatch, kept as factors.

    Row i of the m × p matrix is never formed unless asked for: at every node u of a layer with
    parameters the factors are the node's cache (for Dense its input x_u: (m, n_in)) and the
    per-example sensitivity Δ_u = ∂ℓ_i/∂value_u: (m, n_u) (δ_i^(l) of the notes, not summed over
    the batch). For a Dense layer g_i's block is s_W Δ_u[i] x_u[i]ᵀ (and s_b Δ_u[i]), so

        g_i · g_j = Σ_layers Σ_{u,v uses of the layer} s_W² (Δ_u[i]·Δ_v[j]) (x_u[i]·x_v[j])
                                                        + s_b² Δ_u[i]·Δ_v[j]

    (each layer's ``ntk_gram`` rule); on a chain ‖g_i‖² = Σ_l ‖δ_i^(l)‖² (s_W² ‖x_i^(l-1)‖² + s_b²).
    ``uses``: [(layer index k, node index, Sensitivity)]; ``msgs[-1]``: ∂ℓ_i/∂z^(L+1).
    """

    net: Network
    trace: Trace
    uses: list
    msgs: list

    @property
    def n(self) -> int:
        return self.msgs[-1].shape[0]

    def _pairs(self):
        for a, (k, _, u) in enumerate(self.uses):
            for k2, _, v in self.uses[a:]:
                if k2 == k:
                    yield u, v, 1.0 if u is v else 2.0  # u ≠ v: (u, v) and (v, u) alike

    def gram(self) -> np.ndarray:
        """G: (m, m), G_ij = g_i · g_j (float64 accumulation of each layer's float products)."""
        G = np.zeros((self.n, self.n), dtype=np.float64)
        for u, v, w in self._pairs():
            Guv = u.rules.ntk_gram(u.P, u.cache, u.delta, v.cache, v.delta, [(0, 0)])[0]
            G += w * (Guv if w == 1.0 else 0.5 * (Guv + Guv.T))
        return G

    def sq_norms(self) -> np.ndarray:
        """‖g_i‖² for every example: (m,); each layer's ``per_example_sq_norm`` rule (for Dense
        from the factors' row norms) when each layer is used once, else diag(G)."""
        if len({k for k, _, _ in self.uses}) < len(self.uses):  # a shared layer: cross terms
            return np.diag(self.gram()).copy()
        out = np.zeros(self.n, dtype=np.float64)
        for _, _, u in self.uses:
            out += u.rules.per_example_sq_norm(u.P, u.cache, u.delta[0])
        return out

    def dot(self, v: np.ndarray) -> np.ndarray:
        """g_i · v for every example: (m,), v: (p,) laid out like θ. Per layer, R{value_u}
        along V_k alone (its ``jvp`` rule with R{inputs} = 0) against Δ_u."""
        V = self.net.param_views(np.asarray(v, dtype=self.net.dtype))
        out = np.zeros(self.n, dtype=np.float64)
        for k, i, u in self.uses:
            rx = [None] * len(self.net._parents[i])
            r = u.rules.jvp(u.P, u.cache, rx, V[k])
            out += np.einsum("ij,ij->i", u.delta[0], r, dtype=np.float64)
        return out

    def mean(self) -> np.ndarray:
        """The batch gradient (1/m) Σ_i g_i: (p,), from the same messages."""
        return self.net.backward(self.trace, self.msgs[-1] / self.n).theta.copy()

    def materialize(self, out: np.ndarray | None = None) -> np.ndarray:
        """The m × p matrix of rows g_i (what :func:`per_example_gradients` returns)."""
        if out is None:
            out = np.empty((self.n, self.net.n_params), dtype=self.net.dtype)
        per_example_sweep(self.net, self.trace, self.msgs, self.net.param_views(out))
        return out


def per_example_factors(net: Network, X, y, loss="mse") -> PerExampleGradients:
    """Per-example gradients of a minibatch as factors (see :class:`PerExampleGradients`): one
    forward pass and one backward message pass, O(m p) work and no m × p array. Ask it for
    ``sq_norms()``, ``gram()``, ``dot(v)``, ``mean()`` or the matrix itself, ``materialize()``."""
    loss = get_loss(loss)
    loss.check_output(net.output)
    z, trace = net.forward(X)
    _, delta = loss.value_and_delta(z, y, net.output)
    delta = delta * z.shape[0]  # ∂ℓ_i/∂z_i: the loss's delta carries the 1/m of the mean
    msgs = message_sweep(net, trace, delta)
    uses = []
    for i, layer, P, _, k, _ in net._steps():
        if k is not None and msgs[i] is not None:
            uses.append((k, i, Sensitivity(k, layer, P, trace.caches[i], [msgs[i]])))
    msgs = list(msgs)
    msgs[-1] = delta
    return PerExampleGradients(net, trace, uses, msgs)


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
