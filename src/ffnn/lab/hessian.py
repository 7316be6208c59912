"""Exact Hessian-vector products by Pearlmutter's R-operator, and Gauss-Newton products.

For a direction v in parameter space (laid out like θ), R{·} = d/dε (·)(θ + εv) at ε = 0 is
forward-mode differentiation. Applied to the forward pass of the notes it gives

    R{z^(l)} = R{W} x^(l-1) + W R{x^(l-1)} + R{b},    R{x^(l)} = σ'(z^(l)) ⊙ R{z^(l)},

with R{W} = V_W, R{b} = V_b the blocks of v, and R{x^(0)} = 0. Applied to the backward pass

    δ^(L+1) = ∂L/∂z^(L+1),  δ^(l) = σ'(z^(l)) ⊙ W^(l+1)ᵀ δ^(l+1),  ∂L/∂W^(l) = δ^(l) x^(l-1)ᵀ

it gives

    R{δ^(L+1)} = (∂²L/∂z∂z) R{z^(L+1)}                              (``loss.hvp_z``)
    R{δ^(l)}   = σ''(z^(l)) ⊙ R{z^(l)} ⊙ (W^(l+1)ᵀ δ^(l+1))
                 + σ'(z^(l)) ⊙ (V_W^(l+1)ᵀ δ^(l+1) + W^(l+1)ᵀ R{δ^(l+1)})
    R{∂L/∂W^(l)} = R{δ^(l)} x^(l-1)ᵀ + δ^(l) R{x^(l-1)}ᵀ,    R{∂L/∂b^(l)} = R{δ^(l)},

and R{∂L/∂θ} = H v, exactly, at about twice the cost of one gradient. Each layer holds its own
piece of this (its ``jvp``, and its ``vjp`` plus ``r_term``); the network runs the two sweeps
(:func:`ffnn.core.sweeps.jvp_sweep`, :func:`ffnn.core.sweeps.r_backward_sweep`) for any graph,
summing R-messages at fan-out as backprop sums messages (notes 003).

The Gauss-Newton matrix G = Jᵀ (∂²L/∂z²) J with J = ∂z^(L+1)/∂θ drops the σ'' and second-layer
terms: G v = Jᵀ (∂²L/∂z²) (J v), one R-forward pass then one ordinary backward pass.

:class:`Curvature` runs the forward and backward pass once and keeps them (the trace and every
message), so that each further product costs only the R-passes. It is the object to hand to an
eigensolver (:meth:`Curvature.operator` is a ``scipy.sparse.linalg.LinearOperator``).
"""

from __future__ import annotations

import threading

import numpy as np
from scipy.sparse.linalg import LinearOperator

from ffnn.core.graph import Network, Workspace
from ffnn.core.losses import Loss, get_loss, loss_hvp_z
from ffnn.core.sweeps import jvp_sweep, message_sweep, r_backward_sweep
from ffnn.errors import FFNNError

__all__ = [
    "Curvature",
    "hvp",
    "gnvp",
    "hessian_operator",
    "gauss_newton_operator",
    "full_hessian",
    "full_gauss_newton",
    "loss_hvp_z",
]


_one_off = threading.local()


def _reused(net: Network, batch: int) -> tuple[Workspace, Workspace]:
    """The calling thread's buffers for one-off products (:func:`hvp`) on networks of this graph,
    dtype and batch: a Workspace for the forward values and backward messages, and one for the
    R-forward values and the R-messages. Fresh large arrays cost page faults (the allocator
    hands big blocks back to the system on free): a third of a one-off product's time at batch
    1,000. A kept Curvature allocates as usual (buffers of its own would hold more memory).
    The relu layers of both passes work in place (``Workspace(in_place=True)``): 12 buffers
    instead of 20 at 784-256-256-10, and the product about 5% faster against one gradient
    (``benchmarks/bench_hvp.py``'s shapes, 80 products timed in turn with a gradient: the
    medians of their ratios 1.90–1.97 against 2.01–2.07, in processes alternated)."""
    dims, in_place = tuple(n.dim for n in net.nodes), Workspace.in_place_nodes(net)
    sig = (dims, tuple(net._parents), in_place, net.dtype, batch)
    if getattr(_one_off, "sig", None) != sig:  # keep one size only: bounded memory
        _one_off.sig = sig
        _one_off.buffers = tuple(Workspace(net, batch, in_place=True) for _ in range(2))
    return _one_off.buffers


def _regression_softmax_hvp_z(loss, z, y, output, u) -> np.ndarray:
    """A regression loss's Hessian in z through a softmax output (the formula is the loss's)."""
    return loss.hvp_z(z, y, output, u)


class Curvature:
    """Second-order information of L(θ) = loss on (X, y) at the network's current θ.

    Runs one forward and one backward pass, keeps what they computed, and then gives

    * ``hvp(v)``: H v, H = ∂²L/∂θ∂θ: (p, p), by the R-operator; v: (p,) or a block (p, k)
    * ``gnvp(v)``: G v with G = Jᵀ (∂²L/∂z²) J the Gauss-Newton matrix
    * ``operator(kind)``: a float64 ``LinearOperator`` of shape (p, p) for scipy's eigensolvers

    ``batch_size`` splits the data into chunks (each with its own trace) whose products are
    averaged with weights n_chunk / n, so that the full training set fits in memory. The
    network's θ is copied: later changes to ``net.theta`` do not affect this object.
    ``gn_at`` is where the Gauss-Newton split is made: "z" (the logits, default) or "f"
    (the outputs φ_out(z); differs only for regression losses with a sigmoid/softmax output).
    """

    def __init__(
        self,
        net: Network,
        X,
        y,
        loss: str | Loss = "mse",
        *,
        batch_size: int | None = None,
        gn_at: str = "z",
        _reuse: bool = False,
    ):
        if not isinstance(net, Network):
            raise FFNNError(f"Curvature needs an ffnn Network, got {type(net).__name__}")
        if gn_at not in ("z", "f"):
            raise FFNNError(f"gn_at must be 'z' or 'f', got {gn_at!r}")
        self.loss = get_loss(loss)
        self.loss.check_output(net.output)
        # a kept Curvature copies θ; the one-off hvp's Curvature dies before net can change
        self.net = net if _reuse else net.copy()
        self.dtype, self.p, self.gn_at = self.net.dtype, self.net.n_params, gn_at
        X, y = self.net._check_input(X), np.asarray(y)
        n = X.shape[0]
        if y.shape[0] != n:
            raise FFNNError(f"X has {n} rows but y has {y.shape[0]}; give one target per row")
        if n == 0:
            raise FFNNError("Curvature needs at least one example")
        bs = n if batch_size is None else int(batch_size)
        if bs < 1:
            raise FFNNError(f"batch_size must be a positive integer or None, got {batch_size!r}")
        self.n, self._reuse = n, _reuse and bs >= n
        self._chunks = [
            self._prepare(ci, X[s : s + bs], y[s : s + bs]) for ci, s in enumerate(range(0, n, bs))
        ]
        self.value = float(sum(c["w"] * c["value"] for c in self._chunks))
        self._gradient: np.ndarray | None = None
        self.n_products = 0

    def _prepare(self, ci: int, X, y) -> dict:
        """Forward pass, δ^(L+1), and every backward message (no parameter gradient yet)."""
        net = self.net
        ws, r_ws = _reused(net, X.shape[0]) if self._reuse else (None, None)
        z, trace = net.forward(X, workspace=ws)
        value, delta = self.loss.value_and_delta(z, y, net.output)
        msgs = message_sweep(net, trace, delta, outs=None if ws is None else ws.sends)
        return {"y": y, "z": z, "delta": delta, "trace": trace, "G": msgs, "value": value,
                "w": X.shape[0] / self.n, "r_ws": r_ws}  # fmt: skip

    @property
    def gradient(self) -> np.ndarray:
        """∂L/∂θ: (p,) at the stored θ (computed on first use)."""
        if self._gradient is None:
            g = np.zeros(self.p, dtype=self.dtype)
            for c in self._chunks:
                g += c["w"] * self.net.backward(c["trace"], c["delta"]).theta
            self._gradient = g
        return self._gradient

    def _hvp_z(self, z, y, output, u) -> np.ndarray:
        return loss_hvp_z(self.loss, z, y, output, u)

    def _r_forward(self, c: dict, V: list) -> list:
        """R{value_i} for every node (None where it does not depend on θ); scratch arrays,
        overwritten by the next R-pass of the one-off path."""
        r_ws = c["r_ws"]
        return jvp_sweep(self.net, c["trace"], V, None if r_ws is None else r_ws.values)

    def _hvp_chunk(self, c: dict, v: np.ndarray, out: np.ndarray) -> None:
        """Add w_c · H_c v into out: (p,), H_c the Hessian of the loss on chunk c."""
        net = self.net
        V = net.param_views(v)
        R = self._r_forward(c, V)
        seed = self._hvp_z(c["z"], c["y"], net.output, R[-1])  # R{δ^(L+1)}
        res = out if c["w"] == 1.0 else np.zeros_like(out)
        sends = None if c["r_ws"] is None else c["r_ws"].sends
        r_backward_sweep(net, c["trace"], c["G"], R, V, seed, net.param_views(res), sends)
        if res is not out:
            out += c["w"] * res

    def _columns(self, v) -> tuple[np.ndarray, bool]:
        v = np.asarray(v)
        if v.ndim == 1 and v.shape == (self.p,):
            return v[:, None], True
        if v.ndim == 2 and v.shape[0] == self.p:
            return v, False
        raise FFNNError(f"v must have shape ({self.p},) like θ, or ({self.p}, k); got {v.shape}")

    def _products(self, v, chunk_product) -> np.ndarray:
        V, single = self._columns(v)
        out = np.zeros((V.shape[1], self.p), dtype=self.dtype)
        for a in range(V.shape[1]):
            va = np.ascontiguousarray(V[:, a], dtype=self.dtype)
            for c in self._chunks:
                chunk_product(c, va, out[a])
        self.n_products += V.shape[1]
        return out[0] if single else out.T

    def hvp(self, v: np.ndarray) -> np.ndarray:
        """H v with H = ∂²L/∂θ∂θ. v: (p,) -> (p,), or a block V: (p, k) -> H V: (p, k)."""
        return self._products(v, self._hvp_chunk)

    def _gnvp_chunk(self, c: dict, v: np.ndarray, out: np.ndarray) -> None:
        net = self.net
        Jv = self._r_forward(c, net.param_views(v))[-1]
        middle = self.loss.gauss_newton_z if self.gn_at == "f" else self._hvp_z
        u = middle(c["z"], c["y"], net.output, Jv)
        out += c["w"] * net.backward(c["trace"], u).theta  # Jᵀ u

    def gnvp(self, v: np.ndarray) -> np.ndarray:
        """G v with G = Jᵀ (∂²L/∂z²) J, J = ∂z^(L+1)/∂θ: (n·n_out, p). v: (p,) or (p, k)."""
        return self._products(v, self._gnvp_chunk)

    def jvp(self, v: np.ndarray) -> np.ndarray:
        """J v = R{z^(L+1)}: (n, n_out) for v: (p,): how the output logits move along v."""
        V, single = self._columns(v)
        if not single:
            raise FFNNError("jvp takes one direction v of shape (p,)")
        VV = self.net.param_views(np.ascontiguousarray(V[:, 0], dtype=self.dtype))
        # copies: each chunk's R-pass may reuse the scratch arrays of the one before
        return np.concatenate([self._r_forward(c, VV)[-1].copy() for c in self._chunks], axis=0)

    def operator(self, kind: str = "hessian") -> LinearOperator:
        """A float64 ``LinearOperator`` (p, p) for H ("hessian") or G ("gauss_newton")."""
        if kind not in ("hessian", "gauss_newton"):
            raise FFNNError(f"kind must be 'hessian' or 'gauss_newton', got {kind!r}")
        f = self.hvp if kind == "hessian" else self.gnvp

        def mv(v):
            return f(np.asarray(v, dtype=self.dtype).reshape(-1)).astype(np.float64)

        def mm(V):
            return f(np.asarray(V, dtype=self.dtype)).astype(np.float64)

        op = LinearOperator((self.p, self.p), matvec=mv, rmatvec=mv, matmat=mm, dtype=np.float64)
        op.curvature = self
        return op

    def full(self, kind: str = "hessian", block: int = 64) -> np.ndarray:
        """The dense matrix (p, p), built column block by column block (small networks only)."""
        f = self.hvp if kind == "hessian" else self.gnvp
        H = np.empty((self.p, self.p), dtype=self.dtype)
        for s in range(0, self.p, block):
            e = min(self.p, s + block)
            E = np.zeros((self.p, e - s), dtype=self.dtype)
            E[np.arange(s, e), np.arange(e - s)] = 1
            H[:, s:e] = f(E)
        return H


def hvp(net: Network, X, y, loss: str | Loss, v: np.ndarray) -> np.ndarray:
    """H v: (p,) with H = ∂²L/∂θ∂θ of the loss on (X, y) at θ (one-off; reuse a Curvature).

    The forward trace, messages and R-forward values live in per-thread buffers reused by the
    next one-off product of the same network shape and batch size (the result is always fresh).
    """
    return Curvature(net, X, y, loss, _reuse=True).hvp(v)


def gnvp(net: Network, X, y, loss: str | Loss, v: np.ndarray, *, at: str = "z") -> np.ndarray:
    """G v: (p,) with G = Jᵀ (∂²L/∂z²) J the Gauss-Newton matrix (one-off)."""
    return Curvature(net, X, y, loss, gn_at=at).gnvp(v)


def hessian_operator(
    net: Network, X, y, loss: str | Loss = "mse", *, batch_size: int | None = None
) -> LinearOperator:
    """H as a matrix-free ``LinearOperator`` (p, p); ``op.curvature`` is the Curvature."""
    return Curvature(net, X, y, loss, batch_size=batch_size).operator("hessian")


def gauss_newton_operator(
    net: Network, X, y, loss: str | Loss = "mse", *, batch_size: int | None = None, at: str = "z"
) -> LinearOperator:
    """G = Jᵀ (∂²L/∂z²) J as a ``LinearOperator`` (p, p)."""
    return Curvature(net, X, y, loss, batch_size=batch_size, gn_at=at).operator("gauss_newton")


def _check_small(net: Network, limit: int) -> None:
    if net.n_params > limit:
        raise FFNNError(
            f"the dense Hessian of a network with p = {net.n_params} parameters needs "
            f"{net.n_params**2 * 8 / 1e9:.1f} GB; pass limit= to allow it, or use "
            "hessian_operator() with the spectrum tools instead"
        )


def full_hessian(net: Network, X, y, loss: str | Loss = "mse", *, limit: int = 5000) -> np.ndarray:
    """The dense Hessian H = ∂²L/∂θ∂θ: (p, p), column by column from exact products."""
    _check_small(net, limit)
    return Curvature(net, X, y, loss).full("hessian")


def full_gauss_newton(
    net: Network, X, y, loss: str | Loss = "mse", *, limit: int = 5000, at: str = "z"
) -> np.ndarray:
    """The dense Gauss-Newton matrix G = Jᵀ (∂²L/∂z²) J: (p, p)."""
    _check_small(net, limit)
    return Curvature(net, X, y, loss, gn_at=at).full("gauss_newton")
