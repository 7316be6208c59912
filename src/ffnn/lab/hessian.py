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

and R{∂L/∂θ} = H v, exactly, at about twice the cost of one gradient. On a general graph the same
is done per node: every layer's backward message m = ∂L/∂(node value) gets its R{m}, and a node
that feeds several consumers sums their R-messages, as backprop sums messages (notes 003).

The Gauss-Newton matrix G = Jᵀ (∂²L/∂z²) J with J = ∂z^(L+1)/∂θ drops the σ'' and second-layer
terms: G v = Jᵀ (∂²L/∂z²) (J v), one R-forward pass then one ordinary backward pass.

:class:`Curvature` runs the forward and backward pass once and keeps them (the trace, every
message, σ' and σ''), so that each further product costs only the R-passes. It is the object to
hand to an eigensolver (:meth:`Curvature.operator` is a ``scipy.sparse.linalg.LinearOperator``).
"""

from __future__ import annotations

import threading

import numpy as np
from scipy.sparse.linalg import LinearOperator

from ffnn.core.graph import Network, Workspace
from ffnn.core.layers import Act, Add, Concat, Dense
from ffnn.core.losses import Loss, _Regression, get_loss
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


_PIECEWISE_LINEAR = ("identity", "relu", "leaky_relu")


class _Buffers:
    """Named scratch arrays, allocated on first use of a (name, shape, dtype) and then reused.

    Fresh large arrays cost page faults (the allocator hands big blocks back to the system on
    free), which for a one-off product at batch 1,000 was a third of its time. The one-off
    :func:`hvp` puts its forward trace, messages and R-pass arrays in a per-thread one, since its
    Curvature dies with the call. (A Curvature that is kept allocates as usual: per-instance
    buffers would hold more memory live than the allocator's own reuse within a pass.)
    """

    def __init__(self):
        self.arrays: dict = {}
        self.workspaces: dict = {}

    def get(self, key, shape: tuple, dtype) -> np.ndarray:
        key = (key, shape, np.dtype(dtype))  # chunks of two sizes each keep their own
        a = self.arrays.get(key)
        if a is None:
            a = self.arrays[key] = np.empty(shape, dtype=dtype)
        return a

    def workspace(self, key, net: Network, batch: int) -> Workspace:
        ws = self.workspaces.get(key)
        if ws is None or ws.batch != batch:
            ws = self.workspaces[key] = Workspace(net, batch)
        return ws


class _Fresh:
    """The allocator of a Curvature that keeps its trace: every stored array is its own."""

    @staticmethod
    def get(key, shape: tuple, dtype) -> np.ndarray:
        return np.empty(shape, dtype=dtype)

    @staticmethod
    def workspace(key, net: Network, batch: int) -> None:
        return None


_one_off = threading.local()


def _one_off_buffers(net: Network, batch: int) -> _Buffers:
    """The calling thread's buffers for one-off products on networks of this graph and dtype."""
    sig = (tuple(n.dim for n in net.nodes), tuple(net._parents), net.dtype, batch)
    if getattr(_one_off, "sig", None) != sig:  # keep one size only: bounded memory
        _one_off.sig, _one_off.buffers = sig, _Buffers()
    return _one_off.buffers


def loss_hvp_z(loss: Loss, z: np.ndarray, y, output, u: np.ndarray) -> np.ndarray:
    """(∂²L/∂z∂z) u at z = z^(L+1): (n, n_out), u of the same shape.

    Uses ``loss.hvp_z``. Should a loss's ``hvp_z`` refuse a regression loss with a softmax
    output, the second-order term of φ_out is added here: with f = φ_out(z) and g = ∂L/∂f,
    ∂²L/∂z² u = J_fᵀ (∂²L/∂f²) J_f u + R{J_fᵀ} g, and for softmax R{f ⊙ (g − ⟨f, g⟩)} =
    R{f} ⊙ (g − ⟨f, g⟩) − f ⟨R{f}, g⟩ with R{f} = J_f u.
    """
    if not hasattr(loss, "hvp_z"):
        raise FFNNError(
            f"loss '{loss.name}' has no hvp_z (its Hessian in z); implement "
            "hvp_z(z, y, output, v) -> (∂²L/∂z²) v on the loss to use the Hessian tools"
        )
    try:
        return loss.hvp_z(z, y, output, u)
    except FFNNError:
        if not (isinstance(loss, _Regression) and output.name == "softmax"):
            raise
    return _regression_softmax_hvp_z(loss, z, y, output, u)


def _regression_softmax_hvp_z(loss: _Regression, z, y, output, u) -> np.ndarray:
    yt = loss._target(z, y)
    f = output.apply(z)
    r = f - yt
    n = z.shape[0]
    Rf = output.jvp(z, f, u)
    inner = output.vjp(z, f, loss.d2_elementwise(r) * Rf / n)
    _, g = loss.elementwise(r)
    g = g / n
    second = Rf * (g - np.sum(f * g, axis=1, keepdims=True)) - f * np.sum(
        Rf * g, axis=1, keepdims=True
    )
    return inner + second


def _loss_gn_z(loss: Loss, z, y, output, u, at: str) -> np.ndarray:
    """The middle factor of the Gauss-Newton product: H_z u (at="z") or J_fᵀ H_f J_f u (at="f")."""
    if at == "z" or not isinstance(loss, _Regression) or output.name == "identity":
        return loss_hvp_z(loss, z, y, output, u)
    yt = loss._target(z, y)
    f = output.apply(z)
    Jv = output.jvp(z, f, u)
    return output.vjp(z, f, loss.d2_elementwise(f - yt) * Jv / z.shape[0])


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
        _buffers: _Buffers | None = None,
    ):
        if not isinstance(net, Network):
            raise FFNNError(f"Curvature needs an ffnn Network, got {type(net).__name__}")
        if gn_at not in ("z", "f"):
            raise FFNNError(f"gn_at must be 'z' or 'f', got {gn_at!r}")
        self.loss = get_loss(loss)
        self.loss.check_output(net.output)
        # a kept Curvature copies θ; the one-off hvp's Curvature dies before net can change
        self.net = net.copy() if _buffers is None else net
        self.dtype = self.net.dtype
        self.p = self.net.n_params
        self.gn_at = gn_at
        X = self.net._check_input(X)
        y = np.asarray(y)
        n = X.shape[0]
        if y.shape[0] != n:
            raise FFNNError(f"X has {n} rows but y has {y.shape[0]}; give one target per row")
        if n == 0:
            raise FFNNError("Curvature needs at least one example")
        bs = n if batch_size is None else int(batch_size)
        if bs < 1:
            raise FFNNError(f"batch_size must be a positive integer or None, got {batch_size!r}")
        self.n = n
        nodes, parents = self.net.nodes, self.net._parents
        # does node i's value depend on θ? (only those need R-values and R-messages)
        dep = [False] * len(nodes)
        for i in range(1, len(nodes)):
            dep[i] = isinstance(nodes[i].layer, Dense) or any(dep[q] for q in parents[i])
        self._dep = dep
        # own arrays (freed temporaries are recycled by the allocator within a pass), or, for
        # the one-off hvp only, the thread's reused buffers
        self._store = _Fresh() if _buffers is None else _buffers
        self._tmp = self._store  # the transient arrays of the R-passes
        self._chunks = [
            self._prepare(ci, X[s : s + bs], y[s : s + bs]) for ci, s in enumerate(range(0, n, bs))
        ]
        self.value = float(sum(c["w"] * c["value"] for c in self._chunks))
        self._gradient: np.ndarray | None = None
        self.n_products = 0

    # --- the stored passes ------------------------------------------------------------------
    def _prepare(self, ci: int, X, y) -> dict:
        """Forward pass, δ^(L+1), every backward message G[i] = ∂L/∂value_i, σ'(z) and σ''(z)."""
        net = self.net
        nodes, parents = net.nodes, net._parents
        batch, dt, store = X.shape[0], self.dtype, self._store
        z, trace = net.forward(X, workspace=store.workspace(ci, net, batch))
        value, delta = self.loss.value_and_delta(z, y, net.output)
        G: list = [None] * len(nodes)
        G[-1] = delta
        dsig: dict[int, np.ndarray] = {}
        d2sig: dict[int, np.ndarray | None] = {}
        for i in range(len(nodes) - 1, 0, -1):
            g = G[i]
            if g is None:  # a node that does not reach the output
                continue
            layer = nodes[i].layer
            need = [self._dep[q] for q in parents[i]]
            if isinstance(layer, Dense):  # only the message W ᵀδ; parameter gradients on demand
                if not need[0]:
                    continue
                j = net._layer_index[id(layer)]
                s_W = net._scales[j][0]
                W = net.params[j][0]
                m = np.matmul(g, W, out=store.get(("G", ci, i), (batch, W.shape[1]), dt))
                if s_W != 1.0:
                    m *= s_W
                sends = [m]
            elif isinstance(layer, Act):
                if not need[0]:
                    continue
                zin = trace.values[parents[i][0]]
                if layer.activation.name == "relu":  # σ' = [z > 0], as ReLU's dsigma
                    dsig[i] = np.greater(zin, 0, out=store.get(("σ'", ci, i), zin.shape, dt))
                else:
                    dsig[i] = layer.activation.dsigma(zin)
                if layer.activation.name in _PIECEWISE_LINEAR:  # σ'' = 0 almost everywhere
                    d2sig[i] = None
                else:
                    d2 = layer.activation.d2sigma(zin)
                    d2sig[i] = d2 if np.any(d2) else None
                sends = [np.multiply(dsig[i], g, out=store.get(("G", ci, i), g.shape, dt))]
            elif isinstance(layer, Add | Concat):
                sends = layer.backward(None, trace.caches[i], g, None, False, need)
            else:
                raise FFNNError(
                    f"Hessian-vector products do not support layer kind '{layer.kind}' "
                    f"(node '{nodes[i].name}')"
                )
            for q, m in zip(parents[i], sends, strict=True):
                if m is not None:
                    G[q] = m if G[q] is None else G[q] + m  # sum of consumers' messages
        return {
            "y": y,
            "z": z,
            "delta": delta,
            "trace": trace,
            "G": G,
            "dsig": dsig,
            "d2sig": d2sig,
            "value": value,
            "w": X.shape[0] / self.n,
        }

    @property
    def gradient(self) -> np.ndarray:
        """∂L/∂θ: (p,) at the stored θ (computed on first use)."""
        if self._gradient is None:
            g = np.zeros(self.p, dtype=self.dtype)
            for c in self._chunks:
                g += c["w"] * self.net.backward(c["trace"], c["delta"]).theta
            self._gradient = g
        return self._gradient

    def _vviews(self, v: np.ndarray):
        return self.net._views(v)[0]

    def _r_forward(self, c: dict, VV) -> list:
        """R{value_i}: (batch, n_i) for every node that depends on θ and reaches the output.

        The arrays are scratch, overwritten by the next R-pass.
        """
        net, tmp, dt = self.net, self._tmp, self.dtype
        nodes, parents, values, G = net.nodes, net._parents, c["trace"].values, c["G"]
        R: list = [None] * len(nodes)
        for i in range(1, len(nodes)):
            if not self._dep[i] or G[i] is None:
                continue
            layer = nodes[i].layer
            rin = [R[q] for q in parents[i]]
            if isinstance(layer, Dense):
                j = net._layer_index[id(layer)]
                W = net.params[j][0]
                s_W, s_b = net._scales[j]
                VW, Vb = VV[j]
                x = values[parents[i][0]]
                shape = (x.shape[0], W.shape[0])
                r = np.matmul(x, VW.T, out=tmp.get(("R", i), shape, dt))  # R{W} x
                if rin[0] is not None:  # + W R{x}
                    r += np.matmul(rin[0], W.T, out=tmp.get(("R+", i), shape, dt))
                if s_W != 1.0:
                    r *= s_W
                r += Vb * s_b if s_b != 1.0 else Vb  # + R{b}
                R[i] = r
            elif isinstance(layer, Act):
                dsig = c["dsig"][i]  # R{x} = σ'(z) ⊙ R{z}
                R[i] = np.multiply(dsig, rin[0], out=tmp.get(("R", i), rin[0].shape, dt))
            elif isinstance(layer, Add):
                live = [r for r in rin if r is not None]
                R[i] = live[0] + live[1] if len(live) > 1 else live[0].copy()
                for r in live[2:]:
                    R[i] += r
            else:  # Concat: inputs that do not depend on θ have R = 0
                batch = values[i].shape[0]
                parts = [
                    r if r is not None else np.zeros((batch, nodes[q].dim), dtype=self.dtype)
                    for q, r in zip(parents[i], rin, strict=True)
                ]
                R[i] = np.concatenate(parts, axis=1)
        return R

    def _hvp_chunk(self, c: dict, v: np.ndarray, out: np.ndarray) -> None:
        """Add w_c · H_c v into out: (p,), H_c the Hessian of the loss on chunk c."""
        net = self.net
        nodes, parents, values = net.nodes, net._parents, c["trace"].values
        G, d2sig, dsig = c["G"], c["d2sig"], c["dsig"]
        tmp, dt = self._tmp, self.dtype
        VV = self._vviews(v)
        R = self._r_forward(c, VV)
        RG: list = [None] * len(nodes)
        RG[-1] = loss_hvp_z(self.loss, c["z"], c["y"], net.output, R[-1])  # R{δ^(L+1)}
        w = c["w"]
        res = out if w == 1.0 else np.zeros_like(out)
        rviews = self._vviews(res)
        for i in range(len(nodes) - 1, 0, -1):
            rg, g = RG[i], G[i]
            if rg is None:
                continue
            layer = nodes[i].layer
            ps = parents[i]
            if isinstance(layer, Dense):
                j = net._layer_index[id(layer)]
                W = net.params[j][0]
                s_W, s_b = net._scales[j]
                gW, gb = rviews[j]
                q = ps[0]
                # R{∂L/∂W} = s_W (R{δ}ᵀ x + δᵀ R{x}),  R{∂L/∂b} = s_b Σ_batch R{δ}
                t = np.matmul(rg.T, values[q], out=tmp.get(("t", j), W.shape, dt))
                if R[q] is not None:
                    t += np.matmul(g.T, R[q], out=tmp.get(("t+", j), W.shape, dt))
                gW += t * s_W if s_W != 1.0 else t  # += : a shared layer sums over its uses
                gb += rg.sum(axis=0) * s_b if s_b != 1.0 else rg.sum(axis=0)
                if self._dep[q]:
                    shape = (rg.shape[0], W.shape[1])  # R{W ᵀδ} = W ᵀR{δ} + V_Wᵀ δ
                    m = np.matmul(rg, W, out=tmp.get(("RG", i), shape, dt))
                    m += np.matmul(g, VV[j][0], out=tmp.get(("RG+", i), shape, dt))
                    if s_W != 1.0:
                        m *= s_W
                    RG[q] = m if RG[q] is None else RG[q] + m
            elif isinstance(layer, Act):
                q = ps[0]
                if not self._dep[q]:
                    continue
                m = np.multiply(dsig[i], rg, out=tmp.get(("RG", i), rg.shape, dt))  # σ' ⊙ R{∂L/∂x}
                if d2sig[i] is not None:
                    m += d2sig[i] * R[q] * g  # + σ''(z) ⊙ R{z} ⊙ ∂L/∂x
                RG[q] = m if RG[q] is None else RG[q] + m
            elif isinstance(layer, Add):
                for q in ps:
                    if self._dep[q]:
                        RG[q] = rg if RG[q] is None else RG[q] + rg
            else:  # Concat
                parts = np.split(rg, c["trace"].caches[i], axis=1)
                for q, m in zip(ps, parts, strict=True):
                    if self._dep[q]:
                        RG[q] = m if RG[q] is None else RG[q] + m
        if res is not out:
            out += w * res

    def _columns(self, v) -> tuple[np.ndarray, bool]:
        v = np.asarray(v)
        if v.ndim == 1 and v.shape == (self.p,):
            return v[:, None], True
        if v.ndim == 2 and v.shape[0] == self.p:
            return v, False
        raise FFNNError(f"v must have shape ({self.p},) like θ, or ({self.p}, k); got {v.shape}")

    # --- public products --------------------------------------------------------------------
    def hvp(self, v: np.ndarray) -> np.ndarray:
        """H v with H = ∂²L/∂θ∂θ. v: (p,) -> (p,), or a block V: (p, k) -> H V: (p, k)."""
        V, single = self._columns(v)
        out = np.zeros((V.shape[1], self.p), dtype=self.dtype)
        for a in range(V.shape[1]):
            va = np.ascontiguousarray(V[:, a], dtype=self.dtype)
            for c in self._chunks:
                self._hvp_chunk(c, va, out[a])
        self.n_products += V.shape[1]
        return out[0] if single else out.T

    def gnvp(self, v: np.ndarray) -> np.ndarray:
        """G v with G = Jᵀ (∂²L/∂z²) J, J = ∂z^(L+1)/∂θ: (n·n_out, p). v: (p,) or (p, k)."""
        V, single = self._columns(v)
        net = self.net
        out = np.zeros((V.shape[1], self.p), dtype=self.dtype)
        for a in range(V.shape[1]):
            VV = self._vviews(np.ascontiguousarray(V[:, a], dtype=self.dtype))
            for c in self._chunks:
                Jv = self._r_forward(c, VV)[-1]
                u = _loss_gn_z(self.loss, c["z"], c["y"], net.output, Jv, self.gn_at)
                out[a] += c["w"] * net.backward(c["trace"], u).theta  # Jᵀ u
        self.n_products += V.shape[1]
        return out[0] if single else out.T

    def jvp(self, v: np.ndarray) -> np.ndarray:
        """J v = R{z^(L+1)}: (n, n_out) for v: (p,): how the output logits move along v."""
        V, single = self._columns(v)
        if not single:
            raise FFNNError("jvp takes one direction v of shape (p,)")
        VV = self._vviews(np.ascontiguousarray(V[:, 0], dtype=self.dtype))
        # copies: each chunk's R-pass reuses the scratch arrays of the one before
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

    The forward trace, messages and R-pass arrays live in per-thread buffers reused by the next
    one-off product of the same network shape and batch size (the result is always fresh).
    """
    n = np.shape(X)[0] if np.ndim(X) else 0
    bufs = _one_off_buffers(net, n) if isinstance(net, Network) else None
    return Curvature(net, X, y, loss, _buffers=bufs).hvp(v)


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
