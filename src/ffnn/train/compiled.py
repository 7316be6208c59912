"""A compiled epoch of plain minibatch SGD for a chain of Dense and element-wise layers (optional).

For a small network the NumPy step costs tens of µs of fixed work (a few dozen array calls
through the interpreter: 35 µs a step for a 1-32-32-1 net here) while its arithmetic takes a few
µs, so no rearrangement of NumPy calls can bring
it near a compiled peer (JAX's epoch as one ``lax.scan``). This module compiles a whole run of
steps with Numba (an optional dependency: ``pip install "ffnn[fast]"``, i.e. ``numba`` and its
``llvmlite``: 35 MB and 173 MB installed; measured here: the first call in a fresh installation
compiles for 6 s (float32; then 4 s more for float64) on this 2-core machine when quiet, 12-16 s
per dtype under load, and writes the machine code to
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
               (two buffers in turn, so θ_prev costs no copy: :func:`steps`)

with σ' of relu 1[z > 0], of tanh 1 − x², of sigmoid x (1 − x), of the identity 1. The matrix
products go to NumPy's own BLAS (:func:`numpy_gemm`; tiny ones run as compiled loops); the
element-wise work runs as compiled loops (``fastmath``
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

__all__ = ["available", "plan", "Epochs", "ACTIVATION_CODES", "numpy_gemm"]

ACTIVATION_CODES = {"identity": 0, "relu": 1, "tanh": 2, "sigmoid": 3}

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
def bias_sigma(code, z, b, x):  # z ← z + b (per row); x = σ(z): (B, n), (n,), (B, n)
    B, n = z.shape
    for i in range(B):  # explicit loops: slice assignments here ran 5x slower
        if code == 0:
            for j in range(n):
                v = z[i, j] + b[j]
                z[i, j] = v
                x[i, j] = v
        elif code == 1:
            for j in range(n):
                v = z[i, j] + b[j]
                z[i, j] = v
                x[i, j] = v if v > 0 else 0
        elif code == 2:
            for j in range(n):
                v = z[i, j] + b[j]
                z[i, j] = v
                x[i, j] = np.tanh(v)
        else:
            for j in range(n):
                v = z[i, j] + b[j]
                z[i, j] = v
                x[i, j] = 1 / (1 + np.exp(-v))


@_jit
def gather(X, Y, idx, a, x0, yb):  # rows idx[a : a + B] of X and Y into x0, yb
    n_0, K = X.shape[1], Y.shape[1]
    for i in range(x0.shape[0]):
        r = idx[a + i]
        for k in range(n_0):
            x0[i, k] = X[r, k]
        for k in range(K):
            yb[i, k] = Y[r, k]


@_jit
def bias_grad(d, gb):  # gb = Σ_i d_i: (B, n) -> (n,)
    gb[:] = 0
    for i in range(d.shape[0]):
        for j in range(d.shape[1]):
            gb[j] += d[i, j]


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


# CBLAS constants: row-major storage, no transpose, transpose
ROW, N, T = 101, 111, 112


@_jit
def mm_nt(gemm, h, W, z):  # z = h Wᵀ: (B, n_in) (n_out, n_in) -> (B, n_out)
    B, n_in = h.shape
    n_o = W.shape[0]
    if B * W.size < SMALL_PRODUCT:
        for i in range(B):
            for j in range(n_o):
                acc = h[i, 0] * W[j, 0]
                for k in range(1, n_in):
                    acc += h[i, k] * W[j, k]
                z[i, j] = acc
    elif gemm is None:
        np.dot(h, W.T, z)
    else:
        gemm(ROW, N, T, B, n_o, n_in, 1.0, h.ctypes.data, n_in, W.ctypes.data, n_in, 0.0,
             z.ctypes.data, n_o)  # fmt: skip


@_jit
def mm_tn(gemm, d, h, gW):  # gW = dᵀ h: (B, n_out) (B, n_in) -> (n_out, n_in)
    B, n_o = d.shape
    n_in = h.shape[1]
    if B * gW.size < SMALL_PRODUCT:
        gW[:] = 0
        for i in range(B):
            for j in range(n_o):
                dij = d[i, j]
                for k in range(n_in):
                    gW[j, k] += dij * h[i, k]
    elif gemm is None:
        np.dot(d.T, h, gW)
    else:
        gemm(ROW, T, N, n_o, n_in, B, 1.0, d.ctypes.data, n_o, h.ctypes.data, n_in, 0.0,
             gW.ctypes.data, n_in)  # fmt: skip


@_jit
def mm_nn(gemm, d, W, g):  # g = d W: (B, n_out) (n_out, n_in) -> (B, n_in)
    B, n_o = d.shape
    n_in = W.shape[1]
    if B * W.size < SMALL_PRODUCT:
        g[:] = 0
        for i in range(B):
            for j in range(n_o):
                dij = d[i, j]
                for k in range(n_in):
                    g[i, k] += dij * W[j, k]
    elif gemm is None:
        np.dot(d, W, g)
    else:
        gemm(ROW, N, N, B, n_in, n_o, 1.0, d.ctypes.data, n_o, W.ctypes.data, n_in, 0.0,
             g.ctypes.data, n_in)  # fmt: skip


@_jit
def steps(gemm, theta, prev, grad, offs, widths, acts, kind, X, Y, idx, s0, s1, bs, rates,
          xbuf, zbuf, gbuf, bo, out):  # fmt: skip
    """Steps s0..s1-1 of the epoch; returns (steps done, status 0 ok / 1 loss / 2 grad);
    out = [Σ B·L_B, Σ ‖g‖², value that diverged]. Buffer j of x, z (shifted by one: z^(j+1))
    and messages starts at bs·bo[j] in xbuf, zbuf, gbuf.

    θ and θ_prev are two buffers used in turn: step t reads θ_t from ``cur`` and writes
    θ_{t+1} = θ_t − η_t g into ``nxt``, each layer's block as soon as backward has its gradient
    (in the same pass that sums ‖g‖²; ``cur`` stays intact for the messages and for a step
    refused because ‖g‖² is not finite), then the two swap roles: no copy of θ per step. On
    return ``theta`` holds the last θ and ``prev`` the one before (after a non-finite gradient:
    θ unchanged, and prev a copy of it). ``gemm``: :func:`numpy_gemm` (None: ``np.dot``)."""
    n, n_layers = idx.shape[0], widths.shape[0] - 1
    cur, nxt = theta, prev
    status = 0

    def xs(j):
        return xbuf[bs * bo[j] : bs * bo[j + 1]]

    def zs(j):
        return zbuf[bs * (bo[j + 1] - bo[1]) : bs * (bo[j + 2] - bo[1])]

    def gs(j):
        return gbuf[bs * bo[j] : bs * bo[j + 1]]

    s = s0
    while s < s1:
        a = s * bs
        B = min(bs, n - a)
        x0 = xs(0)[: B * widths[0]].reshape(B, widths[0])
        yb = gs(n_layers)[: B * widths[n_layers]].reshape(B, widths[n_layers])
        gather(X, Y, idx, a, x0, yb)  # the batch
        for l in range(n_layers):  # forward
            n_in, n_o = widths[l], widths[l + 1]
            W = cur[offs[l] : offs[l] + n_o * n_in].reshape(n_o, n_in)
            b = cur[offs[l] + n_o * n_in : offs[l] + n_o * n_in + n_o]
            h = xs(l)[: B * n_in].reshape(B, n_in)
            z = zs(l)[: B * n_o].reshape(B, n_o)
            mm_nt(gemm, h, W, z)
            bias_sigma(acts[l], z, b, xs(l + 1)[: B * n_o].reshape(B, n_o))
        K = widths[n_layers]
        z = zs(n_layers - 1)[: B * K].reshape(B, K)
        d = xs(n_layers)[: B * K].reshape(B, K)  # δ^(L+1) overwrites x^(L+1) (= z)
        L = loss_delta(kind, z, yb, d)
        if not np.isfinite(L):
            out[2] = L
            status = 1
            break
        eta, gsq = -rates[s - s0], 0.0
        for l in range(n_layers - 1, -1, -1):  # backward, and θ_{t+1} into nxt layer by layer
            n_in, n_o = widths[l], widths[l + 1]
            W = cur[offs[l] : offs[l] + n_o * n_in].reshape(n_o, n_in)
            gW = grad[offs[l] : offs[l] + n_o * n_in].reshape(n_o, n_in)
            gb = grad[offs[l] + n_o * n_in : offs[l] + n_o * n_in + n_o]
            d = (xs(l + 1) if l == n_layers - 1 else gs(l + 1))[: B * n_o].reshape(B, n_o)
            h = xs(l)[: B * n_in].reshape(B, n_in)
            mm_tn(gemm, d, h, gW)
            bias_grad(d, gb)
            lo, hi = offs[l], offs[l] + n_o * n_in + n_o  # the layer's (W, b) in θ: updated
            gsq += sgd_update(cur[lo:hi], grad[lo:hi], eta, nxt[lo:hi])  # while g is in cache
            if l > 0:
                g = gs(l)[: B * n_in].reshape(B, n_in)
                mm_nn(gemm, d, W, g)
                dsigma_times(acts[l - 1], zs(l - 1)[: B * n_in], xs(l)[: B * n_in],
                             gs(l)[: B * n_in])  # fmt: skip
        if not np.isfinite(gsq) and not np.isfinite(grad).all():  # as the NumPy step
            out[2] = gsq
            nxt[:] = cur  # θ unchanged; prev: a copy of it
            status = 2
            break
        out[0] += L * B
        out[1] += gsq
        cur, nxt = nxt, cur
        s += 1
    if cur is not theta:  # the last θ is in prev's buffer: swap the two back
        swap(theta, prev)
    return s - s0, status


@_jit
def sgd_update(theta, grad, eta, out):
    """out = θ + η g (η = −η_t) and Σ g² (float64), in one pass over the three vectors."""
    gsq = 0.0
    for k in range(theta.size):
        gk = grad[k]
        gsq += gk * gk
        out[k] = theta[k] + eta * gk
    return gsq


@_jit
def swap(a, b):  # exchange the contents of two vectors
    for k in range(a.size):
        t = a[k]
        a[k] = b[k]
        b[k] = t


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
    for _, _, P, _, k, _ in net._steps():
        if k is not None and (P[2] != 1.0 or P[3] != 1.0):  # Dense's (s_W, s_b)
            return "the NTK parameterization (compiled: the standard one, s_W = s_b = 1)"
    if sum(len(W) * (W.shape[1] + 1) for W, _ in net.unflatten(net.theta)) != net.theta.size:
        return "θ holds parameters beyond the Dense layers' W and b"
    return out


def _loss_kind(loss, output):
    from ffnn.core.losses import MSE, CrossEntropy

    if type(loss) is MSE and output.name == "identity":
        return 0
    if type(loss) is CrossEntropy and output.name == "softmax":
        return 1
    return f"loss {loss.name!r} with output {output.name!r} (compiled: mse+identity, ce+softmax)"


_GEMM: dict = {}


def numpy_gemm(dtype):
    """NumPy's own ``cblas_sgemm``/``cblas_dgemm`` (the ILP64 OpenBLAS of NumPy's wheels, symbol
    ``scipy_cblas_?gemm64_``) as a ctypes function for the kernels, or None (then they call
    ``np.dot``, which Numba sends to SciPy's BLAS).

    Why not always ``np.dot``: SciPy's OpenBLAS is a second library with its own thread pool;
    after a run of its products, its threads spin for a while and fight NumPy's for the cores
    (measured here: NumPy's products in the same process ran up to 2x slower right after a
    compiled epoch). With NumPy's library, the compiled path and the rest of ffnn share one
    pool, and ``threads=`` limits it."""
    key = np.dtype(dtype).char
    if key not in _GEMM:
        _GEMM[key] = _find_gemm(key)
    return _GEMM[key]


def _find_gemm(char: str):
    import ctypes

    try:
        from threadpoolctl import threadpool_info

        paths = [
            i["filepath"]
            for i in threadpool_info()
            if i.get("internal_api") == "openblas" and "numpy" in i.get("filepath", "")
        ]
        fn = getattr(ctypes.CDLL(paths[0]), f"scipy_cblas_{'s' if char == 'f' else 'd'}gemm64_")
    except (ImportError, OSError, IndexError, AttributeError):
        return None
    i32, i64 = ctypes.c_int, ctypes.c_int64
    real = ctypes.c_float if char == "f" else ctypes.c_double
    proto = ctypes.CFUNCTYPE(
        None, i32, i32, i32, i64, i64, i64, real, i64, i64, i64, i64, real, i64, i64
    )  # order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc (pointers as ints)
    return proto(ctypes.cast(fn, ctypes.c_void_p).value)


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
            numpy_gemm(trainer.theta.dtype), trainer.theta, trainer.prev, trainer.grad,
            self.offs, self.widths, self.acts, self.kind, self.batches.X, self.batches.Y, idx,
            s0, s1, self.batches.batch_size, rates, self.xbuf, self.zbuf, self.gbuf, self.bo,
            self.out,
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
