"""A compiled epoch of plain minibatch SGD for a chain of Dense and element-wise layers (optional).

For a small network the NumPy step costs ~100 µs of fixed work (a few dozen array calls through
the interpreter) while its arithmetic takes a few µs, so no rearrangement of NumPy calls can bring
it near a compiled peer (JAX's epoch as one ``lax.scan``). This module compiles a whole run of
steps with Numba (an optional dependency: ``pip install "ffnn[fast]"``, i.e. ``numba`` and its
``llvmlite``: 35 MB and 173 MB installed; measured here: the first call in a fresh installation
compiles for 12-16 s per dtype on a loaded 2-core machine and writes the machine code to
``__pycache__`` (``cache=True``); later processes load it in ~0.5 s, Numba's import included).
The NumPy step loop (:mod:`ffnn.train.step`) stays the reference; the tests train both for a
whole run and compare them to float32 rounding.

The equations, in one place (notes 002/004), for the chain z^(l) = W^(l) x^(l-1) + b^(l),
x^(l) = σ_l(z^(l)), l = 1 … L+1 (σ_{L+1} the identity; φ_out applied by the loss), on a batch of
B rows (row i is example i, so in code z = X Wᵀ + b):

    forward    z^(l) = x^(l-1) W^(l)ᵀ + b^(l);   x^(l) = σ_l(z^(l))
    loss       MSE (φ_out = identity):   L = Σ_i ‖z_i − y_i‖² / B,     δ^(L+1) = 2 (z − y) / B
               CE (φ_out = softmax):     L = Σ_i (Σ_k y_ik) lse(z_i) − y_i·z_i) / B,
                                         δ^(L+1) = ((Σ_k y_ik) softmax(z) − y) / B
    backward   ∂L/∂W^(l) = δ^(l)ᵀ x^(l-1);   ∂L/∂b^(l) = Σ_i δ_i^(l);
               δ^(l-1) = σ'_{l-1}(z^(l-1)) ⊙ (δ^(l) W^(l))
    update     only if L and ‖g‖² are finite:  θ_prev ← θ;  θ ← θ + (−η_t) g

with σ' of relu 1[z > 0], of tanh 1 − x², of sigmoid x (1 − x), of the identity 1. The matrix
products go to BLAS through ``np.dot``; the element-wise work runs as compiled loops (``fastmath``
reassociation, no approximate functions and no finite-math assumptions: the divergence checks
must see inf and NaN).

:func:`plan` says whether a run is supported (a chain of Dense and relu/tanh/sigmoid/identity
layers; MSE with an identity output or cross-entropy with a softmax output, the built-in classes;
plain SGD, any schedule; float32 or float64) and returns an :class:`Epochs` that runs the steps
``s0 .. s1`` of an epoch in place on θ.
"""

from __future__ import annotations

import numpy as np

from ffnn.errors import FFNNError

__all__ = ["available", "plan", "Epochs", "ACTIVATION_CODES", "AUTO_MAX_PARAMS"]

ACTIVATION_CODES = {"identity": 0, "relu": 1, "tanh": 2, "sigmoid": 3}
#: fit's automatic choice takes the compiled path up to this many parameters; above it the
#: matrix products dominate and the NumPy path reaches the same BLAS rate
AUTO_MAX_PARAMS = 200_000

try:  # pragma: no cover - which branch runs depends on the installation
    import numba

    _FAST = {"nsz", "arcp", "contract", "reassoc"}
    _jit = numba.njit(cache=True, fastmath=_FAST, nogil=True)
except ImportError:  # pragma: no cover
    numba = None

    def _jit(f):  # without Numba the kernels are plain (unused) Python functions
        return f


def available() -> bool:
    """True when Numba is installed (the compiled path can run)."""
    return numba is not None


# --- the kernels (compiled on first use, cached on disk) -----------------------------------------
@_jit
def sigma(code, z, x):  # x = σ(z), element-wise over flat arrays
    if code == 0:
        x[:] = z
    elif code == 1:
        for k in range(z.size):
            x[k] = z[k] if z[k] > 0 else 0
    elif code == 2:
        for k in range(z.size):
            x[k] = np.tanh(z[k])
    else:
        for k in range(z.size):
            x[k] = 1 / (1 + np.exp(-z[k]))


@_jit
def dsigma_times(code, z, x, g):  # g ← σ'(z) ⊙ g, in place
    if code == 1:
        for k in range(g.size):
            if not z[k] > 0:
                g[k] = 0
    elif code == 2:
        for k in range(g.size):
            g[k] *= 1 - x[k] * x[k]
    elif code == 3:
        for k in range(g.size):
            g[k] *= x[k] * (1 - x[k])


@_jit
def loss_delta(kind, z, y, d):  # L (float64) and δ^(L+1) into d; z, y, d: (B, K)
    B, K = z.shape
    total = 0.0
    if kind == 0:  # MSE
        for i in range(B):
            for k in range(K):
                r = z[i, k] - y[i, k]
                total += r * r
                d[i, k] = 2 * r / B
        return total / B
    for i in range(B):  # softmax cross-entropy from logits
        m = z[i, 0]
        for k in range(1, K):
            m = max(m, z[i, k])
        se, ys, yz = 0.0, 0.0, 0.0
        for k in range(K):
            e = np.exp(z[i, k] - m)
            d[i, k] = e
            se += e
            ys += y[i, k]
            yz += y[i, k] * z[i, k]
        total += ys * (np.log(se) + m) - yz
        for k in range(K):
            d[i, k] = (ys * d[i, k] / se - y[i, k]) / B
    return total / B


#: products of fewer multiply-adds than this run as compiled loops; larger ones go to BLAS
SMALL_PRODUCT = 1 << 15


@_jit
def mm_nt(h, W, z):  # z = h Wᵀ: (B, n_in) (n_out, n_in) -> (B, n_out)
    if h.shape[0] * W.size >= SMALL_PRODUCT:
        np.dot(h, W.T, z)
        return
    for i in range(h.shape[0]):
        for j in range(W.shape[0]):
            acc = h[i, 0] * W[j, 0]
            for k in range(1, W.shape[1]):
                acc += h[i, k] * W[j, k]
            z[i, j] = acc


@_jit
def mm_tn(d, h, gW):  # gW = dᵀ h: (B, n_out) (B, n_in) -> (n_out, n_in)
    if d.shape[0] * gW.size >= SMALL_PRODUCT:
        np.dot(d.T, h, gW)
        return
    gW[:] = 0
    for i in range(d.shape[0]):
        for j in range(gW.shape[0]):
            dij = d[i, j]
            for k in range(gW.shape[1]):
                gW[j, k] += dij * h[i, k]


@_jit
def mm_nn(d, W, g):  # g = d W: (B, n_out) (n_out, n_in) -> (B, n_in)
    if d.shape[0] * W.size >= SMALL_PRODUCT:
        np.dot(d, W, g)
        return
    g[:] = 0
    for i in range(d.shape[0]):
        for j in range(W.shape[0]):
            dij = d[i, j]
            for k in range(W.shape[1]):
                g[i, k] += dij * W[j, k]


@_jit
def steps(theta, prev, grad, offs, widths, acts, kind, X, Y, idx, s0, s1, bs, rates,
          xbuf, zbuf, gbuf, bo, out):  # fmt: skip
    """Steps s0..s1-1 of the epoch; returns (steps done, status 0 ok / 1 loss / 2 grad);
    out = [Σ B·L_B, Σ ‖g‖², value that diverged]. Buffer j of x, z (shifted by one: z^(j+1))
    and messages starts at bs·bo[j] in xbuf, zbuf, gbuf."""
    n, n_layers = idx.shape[0], widths.shape[0] - 1

    def xs(j):
        return xbuf[bs * bo[j] : bs * bo[j + 1]]

    def zs(j):
        return zbuf[bs * (bo[j + 1] - bo[1]) : bs * (bo[j + 2] - bo[1])]

    def gs(j):
        return gbuf[bs * bo[j] : bs * bo[j + 1]]

    for s in range(s0, s1):
        a = s * bs
        B = min(bs, n - a)
        x0 = xs(0)[: B * widths[0]].reshape(B, widths[0])
        yb = gs(n_layers)[: B * widths[n_layers]].reshape(B, widths[n_layers])
        for i in range(B):  # gather the batch
            x0[i, :] = X[idx[a + i]]
            yb[i, :] = Y[idx[a + i]]
        for l in range(n_layers):  # forward
            n_in, n_o = widths[l], widths[l + 1]
            W = theta[offs[l] : offs[l] + n_o * n_in].reshape(n_o, n_in)
            b = theta[offs[l] + n_o * n_in : offs[l] + n_o * n_in + n_o]
            h = xs(l)[: B * n_in].reshape(B, n_in)
            z = zs(l)[: B * n_o].reshape(B, n_o)
            mm_nt(h, W, z)
            for i in range(B):
                z[i, :] += b
            sigma(acts[l], zs(l)[: B * n_o], xs(l + 1)[: B * n_o])
        K = widths[n_layers]
        z = zs(n_layers - 1)[: B * K].reshape(B, K)
        d = xs(n_layers)[: B * K].reshape(B, K)  # δ^(L+1) overwrites x^(L+1) (= z)
        L = loss_delta(kind, z, yb, d)
        if not np.isfinite(L):
            out[2] = L
            return s - s0, 1
        for l in range(n_layers - 1, -1, -1):  # backward
            n_in, n_o = widths[l], widths[l + 1]
            W = theta[offs[l] : offs[l] + n_o * n_in].reshape(n_o, n_in)
            gW = grad[offs[l] : offs[l] + n_o * n_in].reshape(n_o, n_in)
            gb = grad[offs[l] + n_o * n_in : offs[l] + n_o * n_in + n_o]
            d = (xs(l + 1) if l == n_layers - 1 else gs(l + 1))[: B * n_o].reshape(B, n_o)
            h = xs(l)[: B * n_in].reshape(B, n_in)
            mm_tn(d, h, gW)
            gb[:] = 0
            for i in range(B):
                gb += d[i]
            if l > 0:
                g = gs(l)[: B * n_in].reshape(B, n_in)
                mm_nn(d, W, g)
                dsigma_times(acts[l - 1], zs(l - 1)[: B * n_in], xs(l)[: B * n_in],
                             gs(l)[: B * n_in])  # fmt: skip
        gsq = 0.0
        for k in range(grad.size):
            gsq += grad[k] * grad[k]
        if not np.isfinite(gsq) and not np.isfinite(grad).all():  # as the NumPy step
            out[2] = gsq
            return s - s0, 2
        eta = -rates[s - s0]
        for k in range(theta.size):
            prev[k] = theta[k]
            theta[k] += grad[k] * eta
        out[0] += L * B
        out[1] += gsq
    return s1 - s0, 0


def _chain(net):
    """[(offset of W^(l) in θ, σ code of the layer after it)] for a supported chain, or a reason
    (str) why the network is not one."""
    from ffnn.core.activations import get_activation
    from ffnn.core.layers import Act, Dense

    if not net.is_chain:
        return "the network is not a chain"
    layers = [node.layer for node in net.nodes[1:]]
    out, base = [], net.theta.ctypes.data
    item = net.theta.itemsize
    for j, layer in enumerate(layers):
        if isinstance(layer, Dense):
            W, b = net.unflatten(net.theta)[len(out)]
            off = (W.ctypes.data - base) // item
            if not W.flags.c_contiguous or (b.ctypes.data - base) // item != off + W.size:
                return "θ is not laid out as W then b per layer"
            nxt = layers[j + 1] if j + 1 < len(layers) else None
            if isinstance(nxt, Dense):
                return "two Dense layers in a row"
            out.append([off, 0])
            if nxt is not None:
                act = nxt.activation
                code = ACTIVATION_CODES.get(act.name)
                ref = None if code is None else get_activation(act.name)
                if ref is None or act.params or act.sigma is not ref.sigma:
                    return f"activation {act.name!r} (compiled: {', '.join(ACTIVATION_CODES)})"
                out[-1][1] = code
        elif not isinstance(layer, Act) or j == 0 or isinstance(layers[j - 1], Act):
            return f"layer {type(layer).__name__} (compiled: Dense and Act)"
    if not isinstance(layers[-1], Dense):
        return "the last layer is not Dense"
    return out


def _loss_kind(loss, output):
    from ffnn.core.losses import MSE, CrossEntropy

    if type(loss) is MSE and output.name == "identity":
        return 0
    if type(loss) is CrossEntropy and output.name == "softmax":
        return 1
    return f"loss {loss.name!r} with output {output.name!r} (compiled: mse+identity, ce+softmax)"


def plan(net, loss, optimizer, batches):
    """An :class:`Epochs` for this run, or the reason (str) why it is not supported."""
    if not available():
        return "Numba is not installed (pip install numba)"
    if net.dtype not in (np.float32, np.float64):
        return f"dtype {net.dtype}"
    blocks = optimizer.blocks
    if len(blocks) != 1 or blocks[0].name != "lr" or blocks[0].rate is None:
        return f"optimizer {optimizer.name!r} (compiled: plain SGD)"
    kind = _loss_kind(loss, net.output)
    if isinstance(kind, str):
        return kind
    chain = _chain(net)
    if isinstance(chain, str):
        return chain
    X, Y = batches.X, batches.Y
    for A in (X, Y):
        dense = isinstance(A, np.ndarray) and A.ndim == 2 and A.flags.c_contiguous
        if not dense or A.dtype != net.dtype:  # e.g. a sparse X: the NumPy path
            return "data not a C-contiguous 2-D array in the network's dtype"
    return Epochs(net, kind, chain, blocks[0].rate, batches)


class Epochs:
    """Steps of an epoch of plain SGD, compiled: ``run(trainer, s0, s1)`` takes steps s0..s1-1
    of the current epoch (the batches' ``order``) on ``trainer.theta`` in place."""

    def __init__(self, net, kind: int, chain, rate, batches):
        self.kind, self.rate, self.batches = kind, rate, batches
        self.offs = np.array([c[0] for c in chain], dtype=np.int64)
        self.widths = np.array(net.widths, dtype=np.int64)
        self.acts = np.array([c[1] for c in chain], dtype=np.int64)
        bs, dt = batches.batch_size, net.dtype
        w = self.widths
        self.bo = np.concatenate([[0], np.cumsum(w)]).astype(np.int64)
        self.xbuf = np.empty(bs * int(self.bo[-1]), dt)  # x^(0) … x^(L+1) (then δ^(L+1))
        self.zbuf = np.empty(bs * int(self.bo[-1] - self.bo[1]), dt)  # z^(1) … z^(L+1)
        self.gbuf = np.empty(bs * int(self.bo[-1]), dt)  # messages δ^(l); the last: Y_B
        self.out = np.zeros(3, np.float64)
        self._arange = None

    def indices(self) -> np.ndarray:
        """Rows of X in this epoch's order (what the NumPy path gathers step by step)."""
        b = self.batches
        if b.gather:
            return b.order if b.rows is None else b.rows[b.order]
        if self._arange is None:
            self._arange = np.arange(b.n, dtype=np.intp)
        return self._arange

    def run(self, trainer, idx: np.ndarray, s0: int, s1: int) -> tuple[int, int, float, float]:
        """Steps s0..s1-1; returns (steps done, status, Σ B·L_B, Σ ‖g‖²); status 1: the loss
        of step ``s0 + done`` was not finite, 2: its gradient (θ unchanged by that step)."""
        t = trainer.state["step"]
        rates = np.array([self.rate(t + k) for k in range(s1 - s0)], dtype=np.float64)
        rates = rates.astype(trainer.theta.dtype)
        self.out[:] = 0.0
        done, status = steps(
            trainer.theta, trainer.prev, trainer.grad, self.offs, self.widths, self.acts,
            self.kind, self.batches.X, self.batches.Y, idx, s0, s1, self.batches.batch_size,
            rates, self.xbuf, self.zbuf, self.gbuf, self.bo, self.out,
        )  # fmt: skip
        trainer.state["step"] = t + done
        return done, status, float(self.out[0]), float(self.out[1])

    @property
    def diverged_value(self) -> float:
        return float(self.out[2])


def require(net, loss, optimizer, batches) -> Epochs:
    """:func:`plan`, raising FFNNError with the reason when the run is not supported."""
    p = plan(net, loss, optimizer, batches)
    if isinstance(p, str):
        raise FFNNError(f"compiled=True, but this run is not supported by the compiled path: {p}")
    return p
