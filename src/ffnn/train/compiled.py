"""A compiled epoch of plain minibatch SGD for a chain of Dense and element-wise layers (optional).

For a small network the NumPy step costs tens of µs of fixed work (a few dozen array calls
through the interpreter: 35 µs a step for a 1-32-32-1 net here) while its arithmetic takes a few
µs, so no rearrangement of NumPy calls can bring
it near a compiled peer (JAX's epoch as one ``lax.scan``). This module compiles a whole run of
steps with Numba (an optional dependency: ``pip install "ffnn[fast]"``, i.e. ``numba`` and its
``llvmlite``: 35 MB and 173 MB installed; measured here: the first call in a fresh installation
compiles for 8 s (float32; then 6 s more for float64) on this 2-core machine when quiet, and
writes the machine code to ``__pycache__`` (``cache=True``); later processes load it in
~0.3 s).
The NumPy step loop (:mod:`ffnn.train.step`) stays the reference; the tests train both for a
whole run and compare them to float32 rounding.

The equations, in one place (notes 002/004), for the chain z^(l) = W^(l) x^(l-1) + b^(l),
x^(l) = σ_l(z^(l)), l = 1 … L+1 (σ_{L+1} the identity; φ_out applied by the loss), on a batch of
B examples. The kernel stores the batch as the notes write it, one example per column: X^(l) is
(n_l, B), so a whole layer is the notes' equation with the vector x^(l-1) replaced by the matrix
X^(l-1) (the input X^(0) alone is kept as the gathered rows, (B, n_0), and its two products
take it transposed):

    forward    Z^(l) = W^(l) X^(l-1) + b^(l) 1ᵀ;   X^(l) = σ_l(Z^(l))
    loss       MSE (φ_out = identity):   L = Σ_i ‖z_i − y_i‖² / B,     Δ^(L+1) = 2 (Z − Y) / B
               CE (φ_out = softmax):     L = Σ_i (Σ_k y_ik) lse(z_i) − y_i·z_i) / B,
                                         Δ^(L+1) = ((Σ_k y_ik) softmax(Z) − Y) / B
    backward   ∂L/∂W^(l) = Δ^(l) X^(l-1)ᵀ;   ∂L/∂b^(l) = Δ^(l) 1;
               Δ^(l-1) = σ'_{l-1}(Z^(l-1)) ⊙ (W^(l)ᵀ Δ^(l))
    update     only if L and ‖g‖² are finite:  θ_prev ← θ;  θ ← θ + (−η_t) g
               (two buffers in turn, so θ_prev costs no copy: :func:`steps`)

with σ' of relu 1[z > 0] = 1[x > 0], of tanh 1 − x², of sigmoid x (1 − x), of the identity 1 —
functions of x alone, so X^(l) overwrites Z^(l) (z_i, y_i: the columns of Z, Y). The matrix
products go to MKL on Intel CPUs where the ``mkl`` package is installed (on other CPUs where a
run splits its layers' units at a small batch: :data:`MKL_UNITS_SHARE`), else to NumPy's own
BLAS (:func:`kernel_gemm`, :func:`numpy_gemm`; tiny ones run as compiled loops); the
element-wise work runs as compiled loops (``fastmath`` reassociation, no
approximate functions and no finite-math assumptions: the divergence checks must see inf and
NaN). With BLAS on T > 1 threads (``fit(threads=T)``), a network under
:data:`ffnn.train.rows.ROWS_BELOW` parameters runs each step on T threads, each taking a share
of the batch's examples through the whole step (:mod:`ffnn.train.rows`, :func:`steps`); a
larger one splits each layer's units among them (:mod:`ffnn.train.units`).

Why one example per column: BLAS runs ``W X`` faster than the row form ``X Wᵀ`` at these
shapes (measured here, one thread, 64 examples of 784-256-256-10: the step's products 396 µs
against 451 µs), and the forward equation reads as in the notes. While backward runs, the rows
of the next batch are asked into the cache (:func:`prefetch_rows`, a share before each layer:
all at once, the burst of requests stalled the thread), so the next gather finds most of them
there. In a fit's first epoch the gather also checks the rows it copies for inf and NaN
(fit's check of X, then made without a pass over X of its own: :func:`gather`).

:func:`plan` says whether a run is supported (a chain of Dense and relu/tanh/sigmoid/identity
layers; MSE with an identity output or cross-entropy with a softmax output, the built-in classes;
plain SGD, any schedule; float32 or float64) and returns an :class:`Epochs` that runs the steps
``s0 .. s1`` of an epoch in place on θ.
"""

from __future__ import annotations

import contextlib
import os

import numpy as np

from ffnn.core import blas as _blas
from ffnn.errors import FFNNError
from ffnn.train import rows as _rows
from ffnn.train.rows import barrier, lost_core, now

__all__ = ["available", "plan", "Epochs", "ACTIVATION_CODES", "numpy_gemm", "kernel_gemm"]

ACTIVATION_CODES = {"identity": 0, "relu": 1, "tanh": 2, "sigmoid": 3}

try:  # pragma: no cover - which branch runs depends on the installation
    import numba
    from llvmlite import ir as _ir
    from numba.core import types as _ty
    from numba.extending import intrinsic as _intrinsic

    @_intrinsic
    def prefetch(typingctx, a, i):  # a hint: bring the cache line of a[i] (1-D) towards L2
        def codegen(context, builder, sig, args):
            aryty = sig.args[0]
            ary = context.make_array(aryty)(context, builder, args[0])
            ptr = builder.bitcast(builder.gep(ary.data, [args[1]]), _ir.IntType(8).as_pointer())
            i32 = _ir.IntType(32)
            fnty = _ir.FunctionType(_ir.VoidType(), [ptr.type, i32, i32, i32])
            fn = builder.module.declare_intrinsic("llvm.prefetch", [ptr.type], fnty)
            builder.call(fn, [ptr, i32(0), i32(2), i32(1)])
            return context.get_dummy_value()

        return _ty.void(a, i), codegen

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
def finite(x):
    """x is neither inf nor NaN. Not np.isfinite: Numba tests x − x for NaN, and under the
    reassoc + nsz flags LLVM folds x − x to 0 (found here: np.isfinite(a + b) answered True for
    an inf sum of two gradient shares). A comparison with inf is false for inf and NaN alike."""
    return abs(x) < np.inf


@_jit
def all_finite(v):  # every entry of the vector v is finite
    for k in range(v.size):
        if not finite(v[k]):
            return False
    return True


@_jit
def bias_sigma(code, z, b):
    """z ← σ(z + b), in place (b added to each column): (n, m), (n,). The pre-activation is not
    kept: backward needs σ' only, and σ' of these σ is a function of x = σ(z) (relu: x > 0 ⟺
    z > 0), so x^(l) takes z^(l)'s buffer and a step writes one array less per layer (measured
    here, with :func:`dsigma_bias`, against the kernel that kept z, interleaved in one process:
    a one-epoch fit of 784-1024-1024-10 549 against 555 ms, of 784-256-256-10 78.9 against
    81.0 ms)."""
    n, m = z.shape
    for j in range(n):  # explicit loops: slice assignments here ran 5x slower
        bj = b[j]
        if code == 0:
            for i in range(m):
                z[j, i] += bj
        elif code == 1:
            for i in range(m):
                v = z[j, i] + bj
                z[j, i] = v if v > 0 else 0
        elif code == 2:
            for i in range(m):
                z[j, i] = np.tanh(z[j, i] + bj)
        else:
            for i in range(m):
                z[j, i] = 1 / (1 + np.exp(-(z[j, i] + bj)))


@_jit
def gather(X, Y, idx, a, x0, yb, check):
    """Rows idx[a : a + m] of X as x0's rows, of Y as yb's columns; returns False if ``check``
    and x0 holds a non-finite entry (fit's check of X, made on the copy in cache instead of
    in a pass over X of its own: measured here, 0.65 ms more an epoch of 20,000 × 784 float32
    in batches of 128, against 2.1 ms for the pass, :func:`ffnn.train.data._all_finite`)."""
    m, n_0 = x0.shape
    K = yb.shape[0]
    for i in range(m):
        r = idx[a + i]
        for k in range(n_0):
            x0[i, k] = X[r, k]
        for k in range(K):
            yb[k, i] = Y[r, k]
    if not check:
        return True
    flat, acc = x0.reshape(-1), x0.dtype.type(0)
    for k in range(flat.size):  # NaN iff an entry is inf or NaN (0·inf = NaN): vectorized
        acc += flat[k] * 0
    return finite(acc)


@_jit
def prefetch_rows(X, idx, a, m):
    """Ask for the cache lines of rows idx[a : a + m] of X (the next batch, gathered at the next
    step: its rows are scattered through memory, and the gather waited for them — measured:
    an epoch of 784-256-256-10 split on two threads 70 ms with this hint, 77 ms without)."""
    n_0 = X.shape[1]
    flat = X.reshape(-1)
    step = 64 // X.itemsize
    for i in range(m):
        base = idx[a + i] * n_0
        for k in range(0, n_0, step):
            prefetch(flat, base + k)


@_jit
def bias_grad(d, gb):  # gb = Σ_i d_i (the columns): (n, m) -> (n,)
    for j in range(d.shape[0]):
        acc = d[j, 0]
        for i in range(1, d.shape[1]):
            acc += d[j, i]
        gb[j] = acc


@_jit
def dsigma_bias(code, x, g, gb):
    """g ← σ'(z) ⊙ g in place, with σ' from x = σ(z) (relu 1[x > 0], tanh 1 − x², sigmoid
    x (1 − x), identity 1), and gb = Σ_i g_i (the columns) in the same pass: the message δ^(l)
    and the bias gradient ∂L/∂b^(l) of the layer below. x, g: (n, m); gb: (n,)."""
    n, m = g.shape
    for j in range(n):
        acc = g.dtype.type(0)
        if code == 1:
            for i in range(m):
                v = g[j, i] if x[j, i] > 0 else 0
                g[j, i] = v
                acc += v
        elif code == 2:
            for i in range(m):
                v = g[j, i] * (1 - x[j, i] * x[j, i])
                g[j, i] = v
                acc += v
        elif code == 3:
            for i in range(m):
                v = g[j, i] * (x[j, i] * (1 - x[j, i]))
                g[j, i] = v
                acc += v
        else:
            for i in range(m):
                acc += g[j, i]
        gb[j] = acc


@_jit
def loss_delta(kind, z, y, d, B):  # the columns' share of L (float64), δ^(L+1) into d: (K, m)
    K, m = z.shape  # m examples of a batch of B
    total = 0.0
    if kind == 0:  # MSE
        for k in range(K):
            for i in range(m):
                r = z[k, i] - y[k, i]
                total += r * r
                d[k, i] = 2 * r / B
        return total / B
    for i in range(m):  # softmax cross-entropy from logits
        top = z[0, i]
        for k in range(1, K):
            top = max(top, z[k, i])
        se, ys, yz = 0.0, 0.0, 0.0
        for k in range(K):
            e = np.exp(z[k, i] - top)
            d[k, i] = e
            se += e
            ys += y[k, i]
            yz += y[k, i] * z[k, i]
        total += ys * (np.log(se) + top) - yz
        for k in range(K):
            d[k, i] = (ys * d[k, i] / se - y[k, i]) / B
    return total / B


#: products of fewer multiply-adds than this run as compiled loops; larger ones go to BLAS
SMALL_PRODUCT = 1 << 15


# CBLAS constants: row-major storage, no transpose, transpose
ROW, NOTRANS, TRANS = 101, 111, 112


@_jit
def mm_forward(gemm, W, h, z):  # z = W h: (n_out, n_in) (n_in, m) -> (n_out, m)
    n_o, n_in = W.shape
    m = h.shape[1]
    if m * W.size < SMALL_PRODUCT:
        z[:] = 0
        for j in range(n_o):
            for k in range(n_in):
                w = W[j, k]
                for i in range(m):
                    z[j, i] += w * h[k, i]
    elif gemm is None:
        np.dot(W, h, z)
    else:
        gemm(ROW, NOTRANS, NOTRANS, n_o, m, n_in, 1.0, W.ctypes.data, n_in,
             h.ctypes.data, m, 0.0, z.ctypes.data, m)  # fmt: skip


@_jit
def mm_grad(gemm, d, h, gW):  # gW = d hᵀ: (n_out, m) (n_in, m) -> (n_out, n_in)
    n_o, m = d.shape
    n_in = h.shape[0]
    if m * gW.size < SMALL_PRODUCT:
        for j in range(n_o):
            for k in range(n_in):
                acc = d[j, 0] * h[k, 0]
                for i in range(1, m):
                    acc += d[j, i] * h[k, i]
                gW[j, k] = acc
    elif gemm is None:
        np.dot(d, h.T, gW)
    else:
        gemm(ROW, NOTRANS, TRANS, n_o, n_in, m, 1.0, d.ctypes.data, m,
             h.ctypes.data, m, 0.0, gW.ctypes.data, n_in)  # fmt: skip


@_jit
def mm_message(gemm, W, d, g):  # g = Wᵀ d: (n_out, n_in) (n_out, m) -> (n_in, m)
    n_o, n_in = W.shape
    m = d.shape[1]
    if m * W.size < SMALL_PRODUCT:
        g[:] = 0
        for j in range(n_o):
            for k in range(n_in):
                w = W[j, k]
                for i in range(m):
                    g[k, i] += w * d[j, i]
    elif gemm is None:
        np.dot(W.T, d, g)
    else:
        gemm(ROW, TRANS, NOTRANS, n_in, m, n_o, 1.0, W.ctypes.data, n_in,
             d.ctypes.data, m, 0.0, g.ctypes.data, m)  # fmt: skip


@_jit
def mm_forward_rows(gemm, W, x0, z):  # z = W x0ᵀ, the input layer: x0 (m, n_in) -> (n_out, m)
    n_o, n_in = W.shape
    m = x0.shape[0]
    if m * W.size < SMALL_PRODUCT:
        for j in range(n_o):
            for i in range(m):
                acc = W[j, 0] * x0[i, 0]
                for k in range(1, n_in):
                    acc += W[j, k] * x0[i, k]
                z[j, i] = acc
    elif gemm is None:
        np.dot(W, x0.T, z)
    else:
        gemm(ROW, NOTRANS, TRANS, n_o, m, n_in, 1.0, W.ctypes.data, n_in,
             x0.ctypes.data, n_in, 0.0, z.ctypes.data, m)  # fmt: skip


@_jit
def mm_grad_rows(gemm, d, x0, gW):  # gW = d x0, the input layer: (n_out, m) (m, n_in)
    n_o, m = d.shape
    n_in = x0.shape[1]
    if m * gW.size < SMALL_PRODUCT:
        gW[:] = 0
        for i in range(m):  # j inside i: no chain of updates to one gW[j, k]
            for j in range(n_o):
                dji = d[j, i]
                for k in range(n_in):
                    gW[j, k] += dji * x0[i, k]
    elif gemm is None:
        np.dot(d, x0, gW)
    else:
        gemm(ROW, NOTRANS, NOTRANS, n_o, n_in, m, 1.0, d.ctypes.data, m,
             x0.ctypes.data, n_in, 0.0, gW.ctypes.data, n_in)  # fmt: skip


@_jit
def sweep(gemm, cur, nxt, grad, offs, widths, acts, kind, X, Y, idx, a, lo, hi, B, nx, m2,
          bs, xb, zb, gb_, bo, check, eta, fused):  # fmt: skip
    """Forward, loss and backward of examples ``lo … hi`` of the batch at position ``a`` of the
    epoch (of B examples): the share's ∂L/∂θ into ``grad``; returns (its share of L_B, its
    rows of X finite, ‖g‖²). The batch at ``nx`` (``m2`` rows) is prefetched on the way.

    Buffers (one share's): X^(0) as rows (m, n_0), then Δ^(L+1) (K, m), in ``xb``; Z^(j+1)
    (n_{j+1}, m) in ``zb`` at bs·(bo[j+1] − bo[1]), overwritten by X^(j+1) = σ(Z^(j+1))
    (:func:`bias_sigma`); the messages Δ^(j) in ``gb_`` at bs·bo[j] (Y_B (K, m) sits in the last
    message's place). ``fused`` (a single share): θ_{t+1} = θ_t − η g into ``nxt`` layer by
    layer as backward has each layer's gradient (in cache), and a batch whose rows or loss are
    not finite returns before backward (‖g‖² then 0)."""
    n_layers, m = widths.shape[0] - 1, hi - lo
    if m == 0:
        grad[:] = 0
        return 0.0, True, 0.0

    def zs(j):  # Z^(j+1), then X^(j+1)
        return zb[bs * (bo[j + 1] - bo[1]) : bs * (bo[j + 2] - bo[1])]

    def hs(j, n):  # X^(j): (n_j, m), j >= 1
        return zs(j - 1)[: m * n].reshape(n, m)

    def gs(j):
        return gb_[bs * bo[j] : bs * bo[j + 1]]

    K, n_0 = widths[n_layers], widths[0]
    x0 = xb[: m * n_0].reshape(m, n_0)  # rows: examples
    d_out = xb[bs * n_0 : bs * n_0 + m * K].reshape(K, m)  # Δ^(L+1)
    yb = gs(n_layers)[: m * K].reshape(K, m)
    rows_ok = gather(X, Y, idx, a + lo, x0, yb, check)  # the share's rows of the batch
    if fused and not rows_ok:
        return 0.0, False, 0.0
    for l in range(n_layers):  # forward
        n_in, n_o = widths[l], widths[l + 1]
        W = cur[offs[l] : offs[l] + n_o * n_in].reshape(n_o, n_in)
        b = cur[offs[l] + n_o * n_in : offs[l] + n_o * n_in + n_o]
        z = zs(l)[: m * n_o].reshape(n_o, m)
        if l == 0:
            mm_forward_rows(gemm, W, x0, z)
        else:
            mm_forward(gemm, W, hs(l, n_in), z)
        bias_sigma(acts[l], z, b)  # Z^(l+1) -> X^(l+1), in place
    L = loss_delta(kind, zs(n_layers - 1)[: m * K].reshape(K, m), yb, d_out, B)
    if fused and not finite(L):
        return L, True, 0.0
    gsq = 0.0
    for l in range(n_layers - 1, -1, -1):  # backward
        q0, q1 = m2 * (n_layers - 1 - l) // n_layers, m2 * (n_layers - l) // n_layers
        prefetch_rows(X, idx, nx + q0, q1 - q0)  # a share of the next rows before each layer
        n_in, n_o = widths[l], widths[l + 1]
        W = cur[offs[l] : offs[l] + n_o * n_in].reshape(n_o, n_in)
        gW = grad[offs[l] : offs[l] + n_o * n_in].reshape(n_o, n_in)
        d = d_out if l == n_layers - 1 else gs(l + 1)[: m * n_o].reshape(n_o, m)
        if l == 0:
            mm_grad_rows(gemm, d, x0, gW)
        else:
            mm_grad(gemm, d, hs(l, n_in), gW)
        if l == n_layers - 1:  # the layers below have ∂L/∂b from dsigma_bias
            bias_grad(d, grad[offs[l] + n_o * n_in : offs[l] + n_o * n_in + n_o])
        if fused:  # the layer's (W, b) in θ, updated while g is in cache
            lo_, hi_ = offs[l], offs[l] + n_o * n_in + n_o
            gsq += sgd_update(cur[lo_:hi_], grad[lo_:hi_], eta, nxt[lo_:hi_])
        if l > 0:
            g = gs(l)[: m * n_in].reshape(n_in, m)
            mm_message(gemm, W, d, g)
            b0 = offs[l - 1] + n_in * widths[l - 1]  # ∂L/∂b^(l-1) of the layer below
            dsigma_bias(acts[l - 1], hs(l, n_in), g, grad[b0 : b0 + n_in])
    return L, rows_ok, gsq


@_jit
def steps(gemm, theta, prev, grads, offs, widths, acts, kind, X, Y, idx, s0, s1, bs, rates,
          xbuf, zbuf, gbuf, bo, out, check, rank, T, sync, part, relax, clock,
          slow):  # fmt: skip
    """Steps s0..s1-1 of the epoch; this thread is ``rank`` of T (:mod:`ffnn.train.rows`).
    Returns (steps done, status 0 ok / 1 loss / 2 grad / 3 aborted / 4 a row of X not finite,
    when ``check`` / 5 slow: the threads' waits; in every case but 5 the step is not taken);
    out = [Σ B·L_B, Σ ‖g‖², value that diverged] (rank 0 writes it).

    The batch is cut into S = ``grads.shape[0]`` shares of examples, ``B·r/S … B·(r+1)/S``;
    share r has its buffers in row r of xbuf, zbuf, gbuf and its part of g = Σ_r g_r in
    ``grads[r]`` (:func:`sweep`), and thread ``rank`` takes shares rank, rank + T, … . After
    a barrier θ is updated in S slices from the sum of the shares (the same slices, the same
    order of sums, whichever thread takes them: the bits do not depend on T), then a second
    barrier. With S = 1 the update runs inside backward instead (``fused``).

    θ and θ_prev are two buffers used in turn: step t reads θ_t from ``cur`` and writes
    θ_{t+1} = θ_t − η_t g into ``nxt``, then the two swap roles: no copy of θ per step; ``cur``
    stays intact for the messages and for a step refused because ‖g‖² is not finite. On return
    ``theta`` holds the last θ and ``prev`` the one before (after a non-finite gradient: θ
    unchanged, and prev a copy of it). ``gemm``: :func:`numpy_gemm` (None: ``np.dot``).

    On T > 1 threads, once the threads' waits at the barriers come to a share of the time
    (:func:`ffnn.train.rows.lost_core`: a partner kept off its core), the run stops with status
    5 after that step, and the caller goes on with T = 1 (the same shares: the same bits).
    ``slow``: the limits of :mod:`ffnn.train.rows`, with the sums of waits and time carried
    between runs in ``slow[3]``, ``slow[4]`` (rank 0 writes them back)."""
    n, p, S = idx.shape[0], theta.shape[0], grads.shape[0]
    cur, nxt = theta, prev
    status, waited = 0, 0
    waits, wall = float(slow[3]), float(slow[4])  # (read once: rank 0 writes them)
    s = s0
    while s < s1:
        t_step, late = (now(clock, sync, rank) if T > 1 else 0), False
        a = s * bs
        B, nx = min(bs, n - a), a + bs
        B2 = min(bs, n - nx) if s + 1 < s1 else 0  # the next batch's rows, prefetched
        eta, gsq, L = -rates[s - s0], 0.0, 0.0
        if S == 1:
            L, rows_ok, gsq = sweep(gemm, cur, nxt, grads[0], offs, widths, acts, kind, X, Y,
                                    idx, a, 0, B, B, nx, B2, bs, xbuf[0], zbuf[0], gbuf[0], bo,
                                    check, eta, True)  # fmt: skip
            if not rows_ok:
                status = 4
                break
            if not finite(L):
                out[2] = L
                status = 1
                break
            bad = not finite(gsq) and not all_finite(grads[0])  # as the NumPy step
        else:
            for r in range(rank, S, T):
                lo2 = B2 * r // S
                Lr, ok, _ = sweep(gemm, cur, nxt, grads[r], offs, widths, acts, kind, X, Y, idx,
                                  a, B * r // S, B * (r + 1) // S, B, nx + lo2,
                                  B2 * (r + 1) // S - lo2, bs, xbuf[r], zbuf[r], gbuf[r], bo,
                                  check, eta, False)  # fmt: skip
                part[r, 0], part[r, 3] = Lr, not ok
            w = barrier(sync, T, rank, relax, clock)  # every share's gradient is in
            if w < 0:
                status = 3
                break
            L, bad_rows = 0.0, False
            for r in range(S):
                L += part[r, 0]
                bad_rows = bad_rows or part[r, 3] != 0
            if bad_rows:
                status = 4
                break
            if not finite(L):
                if rank == 0:
                    out[2] = L
                status = 1
                break
            for q in range(rank, S, T):  # θ's slice q from g = Σ_r g_r
                c0, c1 = p * q // S, p * (q + 1) // S
                part[q, 1] = sgd_update_sum(cur, grads, eta, nxt, c0, c1)
                part[q, 2] = not finite(part[q, 1]) and not finite_sum(grads, c0, c1)
            part[rank, 4] = waited + w  # this thread's wait in the step (ns), and its time
            part[rank, 5] = now(clock, sync, rank) - t_step
            waited = barrier(sync, T, rank, relax, clock)  # θ_{t+1} is whole
            if waited < 0:
                status = 3
                break
            gsq, bad, waits, wall, late = settle(part, S, T, slow, waits, wall)
        if not taken(out, rank, bad, gsq, L, B, cur, nxt, S, T):
            status = 2
            break
        cur, nxt = nxt, cur
        s += 1
        if T > 1 and late:
            status = 5
            break
    if rank == 0:
        slow[3], slow[4] = int(waits), int(wall)
    if cur is not theta:  # the last θ is in prev's buffer: swap the two back
        swap_back(theta, prev, rank, S, T)
    return s - s0, status


@_jit
def settle(part, S, T, slow, waits, wall):
    """After a split step's last barrier, on every thread: (Σ g² over the S parts, whether a
    part found its g not finite, and :func:`ffnn.train.rows.lost_core`'s waits, wall, late)."""
    gsq, bad = 0.0, False
    for q in range(S):
        gsq += part[q, 1]
        bad = bad or part[q, 2] != 0
    waits, wall, late = lost_core(slow, part, T, waits, wall)
    return gsq, bad, waits, wall, late


@_jit
def taken(out, rank, bad, gsq, L, B, cur, nxt, S, T):
    """The end of a step (both kernels): refused when g is not finite (``bad``: θ unchanged,
    θ_prev a copy of it, out[2] = Σ g²; False), else its B·L_B and Σ g² added to out (True)."""
    if bad:
        if rank == 0:
            out[2] = gsq
        keep_theta(cur, nxt, rank, S, T)
        return False
    if rank == 0:
        out[0] += L * B
        out[1] += gsq
    return True


@_jit
def keep_theta(cur, nxt, rank, S, T):
    """nxt = cur on this thread's slices p·q/S … p·(q+1)/S, q = rank, rank + T, … (a refused
    step: θ unchanged, and θ_prev a copy of it)."""
    p = cur.shape[0]
    for q in range(rank, S, T):
        nxt[p * q // S : p * (q + 1) // S] = cur[p * q // S : p * (q + 1) // S]


@_jit
def swap_back(theta, prev, rank, S, T):
    """Exchange theta's and prev's contents on this thread's slices (the last θ ended in prev's
    buffer, which the caller does not hold as θ)."""
    p = theta.shape[0]
    for q in range(rank, S, T):
        swap(theta[p * q // S : p * (q + 1) // S], prev[p * q // S : p * (q + 1) // S])


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
def finite_sum(grads, c0, c1):  # Σ_r grads[r, c0:c1] all finite?
    for k in range(c0, c1):
        gk = grads[0, k]
        for r in range(1, grads.shape[0]):
            gk += grads[r, k]
        if not finite(gk):
            return False
    return True


@_jit
def sgd_update_sum(theta, grads, eta, out, c0, c1):
    """On the slice c0:c1, g = Σ_r grads[r]: out = θ + η g; returns Σ g² (grads unchanged)."""
    gsq = 0.0
    g0 = grads[0, c0:c1]
    th, o = theta[c0:c1], out[c0:c1]
    if grads.shape[0] == 2:  # the common case, one pass
        g1 = grads[1, c0:c1]
        for k in range(c1 - c0):
            gk = g0[k] + g1[k]
            gsq += gk * gk
            o[k] = th[k] + eta * gk
        return gsq
    for k in range(c1 - c0):
        gk = g0[k]
        for r in range(1, grads.shape[0]):
            gk += grads[r, c0 + k]
        gsq += gk * gk
        o[k] = th[k] + eta * gk
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
    item, views = net.theta.itemsize, net.unflatten(net.theta)
    for j, layer in enumerate(layers):
        if isinstance(layer, Dense):
            W, b = views[len(out)]
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
    if sum(len(W) * (W.shape[1] + 1) for W, _ in views) != net.theta.size:
        return "θ holds parameters beyond the Dense layers' W and b"
    return out


def _loss_kind(loss, output):
    from ffnn.core.losses import MSE, CrossEntropy

    if type(loss) is MSE and output.name == "identity":
        return 0
    if type(loss) is CrossEntropy and output.name == "softmax":
        return 1
    return f"loss {loss.name!r} with output {output.name!r} (compiled: mse+identity, ce+softmax)"


_GEMM_LIB = _blas.LIB  # [the file of the library numpy_gemm found]


def numpy_gemm(dtype):
    """NumPy's own ``cblas_sgemm``/``cblas_dgemm`` as a ctypes function for the kernels
    (:func:`ffnn.core.blas.gemm_fn`), or None (then they call ``np.dot``, which Numba sends to
    SciPy's BLAS).

    Why not always ``np.dot``: SciPy's OpenBLAS is a second library with its own thread pool;
    after a run of its products, its threads spin for a while and fight NumPy's for the cores
    (measured here: NumPy's products in the same process ran up to 2x slower right after a
    compiled epoch). With NumPy's library, the compiled path and the rest of ffnn share one
    pool, and ``threads=`` limits it."""
    return _blas.gemm_fn(dtype)


#: the environment variable that picks the compiled path's BLAS: "mkl", "openblas", or unset
#: (MKL on Intel's CPUs where it is installed, and on others for :data:`MKL_UNITS_SHARE`; else
#: OpenBLAS)
BLAS_ENV = "FFNN_BLAS"


#: on CPUs other than Intel's whose OpenBLAS runs AVX2 kernels (not
#: :func:`~ffnn.core.blas.openblas_avx512`), MKL takes the products of a run that splits each
#: layer's units (a network under :data:`~ffnn.train.rows.ROWS_BELOW` parameters,
#: :data:`UNITS_MIN_PART <ffnn.train.rows.UNITS_MIN_PART>`) when a share of its batch split by
#: examples would hold this many or fewer: measured on an AMD EPYC (Zen 3), one-epoch fits on
#: two threads, MKL by units against OpenBLAS by examples, medians of 30-60 interleaved rounds:
#: 784-256-256-10 at batch 64 0.90, at 128 0.95-0.97, 256-256-256-10 at 64 0.96, 784-512-512-10
#: at 128 0.98, 512-256-256-10 at 128 1.00 — and 784-256-256-10 at batch 256 1.05 (so not
#: there); MKL by examples 1.00-1.11 at those shapes (so OpenBLAS keeps those). On an AMD EPYC
#: Zen 4 (OpenBLAS's AVX-512 SkylakeX kernels; MKL's AVX2 code on AMD) MKL by units lost:
#: 784-256-256-10 at 128 1.08x OpenBLAS by examples' time (40 rounds), at 64 0.99x, 256-256-256-10
#: at 64 1.02x (16 rounds each)
MKL_UNITS_SHARE = 64


def kernel_gemm(dtype, alone: bool = True, units_share: int | None = None) -> tuple:
    """(gemm, name) for the kernels' products: MKL's (:func:`ffnn.core.blas.mkl_gemm_fn`, one
    thread per caller) on an Intel CPU (:func:`ffnn.core.blas.intel_cpu`) where the ``mkl``
    package is installed and each product runs on one thread (``alone``: a split run, or BLAS
    at one thread), else NumPy's (:func:`numpy_gemm`: its OpenBLAS at the thread count fit
    set). On other CPUs (AMD's: OpenBLAS was faster split by examples) MKL where
    ``units_share`` (a run split by units under ROWS_BELOW parameters: the batch over the
    parts) is :data:`MKL_UNITS_SHARE` or less, unless OpenBLAS runs AVX-512 kernels there
    (:func:`ffnn.core.blas.openblas_avx512`). ``FFNN_BLAS=openblas`` keeps NumPy's;
    ``FFNN_BLAS=mkl`` insists on MKL, on any CPU (an error where it is not installed)."""
    want = os.environ.get(BLAS_ENV, "").strip().lower()
    if want not in ("", "mkl", "openblas"):
        raise FFNNError(f"{BLAS_ENV}={want!r}: choose mkl or openblas (or leave it unset)")
    units = units_share is not None and units_share <= MKL_UNITS_SHARE
    units = units and not _blas.openblas_avx512()
    asked = want == "mkl" or (want == "" and (units or _blas.intel_cpu()))
    mkl = _blas.mkl_gemm_fn(dtype) if asked else None
    if want == "mkl" and mkl is None:
        raise FFNNError(
            f"{BLAS_ENV}=mkl, but MKL is not installed or runs another threading layer here: "
            'pip install "ffnn[mkl]" (x86-64), or unset it'
        )
    if mkl is not None and (alone or want == "mkl"):
        return mkl, "mkl"
    gemm = numpy_gemm(dtype)
    return gemm, "openblas" if gemm is not None else "np.dot"


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
        self.bo = np.concatenate([[0], np.cumsum(self.widths)]).astype(np.int64)
        self.n_params, self.dtype = net.theta.size, net.dtype
        self.out = np.zeros(3, np.float64)
        self._arange, self._S, self._units = None, 0, None
        self.part, self.sync = np.zeros((0, 8), np.float64), np.zeros(0, np.int64)
        self.how = "rows"  # how the last run split its steps: "rows" (shares) or "units"
        self.blas = "openblas"  # whose gemm the last run's products called (kernel_gemm)
        self.threads = 1  # the threads of the last run's last steps
        self.shares = 1  # the shares of a batch in the last run (ffnn.train.rows.row_threads)
        self.split = None  # the shares fixed by split_rows (BLAS held at one thread meanwhile)
        self.alone = False  # the shares go on on one thread: steps were slow on T (status 5)
        self.slow = np.zeros(6, np.int64)  # limits, the sums of waits and time, the window
        self.check = False  # check each gathered row of X for non-finite entries (status 4)

    def _buffers(self, S: int) -> None:
        """Per share (row r): x^(0) and δ^(L+1); z^(1) … z^(L+1) (each then x^(l) in place);
        the messages δ^(l) (the last: Y_B); and with S > 1 a gradient of its own."""
        if self._S == S:
            return
        bs, dt, bo = self.batches.batch_size, self.dtype, self.bo
        self.xbuf = np.empty((S, bs * int(self.widths[0] + self.widths[-1])), dt)
        self.zbuf = np.empty((S, bs * int(bo[-1] - bo[1])), dt)
        self.gbuf = np.empty((S, bs * int(bo[-1])), dt)
        self.grads = np.empty((S, self.n_params), dt) if S > 1 else None
        self._S = S

    def _sums(self, S: int) -> None:
        """Per share (or part): L, ‖g‖², bad g, bad rows, wait; the barrier's counters (zeroed)."""
        if self.part.shape[0] != S:
            self.part = np.zeros((S, 8), np.float64)
            self.sync = np.zeros(_rows.sync_size(S), np.int64)
        self.sync[:] = 0

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
        of step ``s0 + done`` was not finite, 2: its gradient, 4 (with ``check``): a row of its
        batch in X (θ unchanged by that step). ``trainer.grad`` ends as the last gradient
        computed (with shares, after status 1: the refused step's). The steps are cut into
        ``shares`` of the batch's examples or of each layer's units (``how``) by
        :func:`~ffnn.train.rows.split_of` (or ``split``), run on as many threads until a core
        is lost to another process (then on this one: ``alone``)."""
        t = trainer.state["step"]
        rates = np.array([self.rate(t + k) for k in range(s1 - s0)], dtype=np.float64)
        rates = rates.astype(trainer.theta.dtype)
        gemm = numpy_gemm(trainer.theta.dtype)
        threads = _rows.blas_threads_fn(_GEMM_LIB[0] if gemm is not None else None)
        S, how, alone = 1, "rows", True  # alone: no product needs more than one thread
        if self.split is not None:
            (S, how), threads = self.split, None  # BLAS is at one thread already
        elif threads is not None:
            S, how = self.split_of(threads[0]())
            alone = S > 1 or threads[0]() == 1
        gemm, self.blas = kernel_gemm(trainer.theta.dtype, alone, self._units_share(S, how))
        self.shares, self.how = S, how
        self.out[:] = 0.0
        b = self.batches
        if how == "units":
            grads, buffers = trainer.grad, self._unit_buffers()
        else:
            self._buffers(S)
            grads = trainer.grad.reshape(1, -1) if S == 1 else self.grads
            buffers = (self.xbuf, self.zbuf, self.gbuf)
        args = [gemm, trainer.theta, trainer.prev, grads, self.offs, self.widths, self.acts,
                self.kind, b.X, b.Y, idx, s0, s1, b.batch_size, rates, *buffers, self.bo,
                self.out, self.check]  # fmt: skip
        T = 1 if S == 1 or self.alone else S
        done, status = self._steps(args, T, S, how, threads)
        if status == 5:  # slow on T threads: the run's other steps on this one, the same shares
            self.alone, T = True, 1
            args[11], args[14] = s0 + done, rates[done:]  # s0, rates
            more, status = self._steps(args, 1, S, how, threads)
            done += more
        self.threads = T
        if S > 1 and how == "rows":
            np.sum(self.grads, axis=0, out=trainer.grad)  # g = Σ_r g_r
        trainer.state["step"] = t + done
        return done, status, float(self.out[0]), float(self.out[1])

    def split_of(self, threads: int) -> tuple[int, str]:
        """:func:`ffnn.train.rows.split_of` for this network, with the BLAS a split run calls:
        OpenBLAS's split, unless MKL's products split by units (:data:`MKL_UNITS_SHARE`)."""
        blas = kernel_gemm(self.dtype)[1]
        hidden = tuple(int(w) for w in self.widths[1:-1])
        bs = self.batches.batch_size
        split = _rows.split_of(threads, self.n_params, bs, hidden, blas)
        if blas != "mkl":
            S, how = _rows.split_of(threads, self.n_params, bs, hidden, "mkl")
            if kernel_gemm(self.dtype, True, self._units_share(S, how))[1] == "mkl":
                return S, how
        return split

    def _units_share(self, S: int, how: str) -> int | None:
        """The batch over the S parts of a run split by units under ROWS_BELOW parameters (for
        :func:`kernel_gemm`), else None."""
        if how != "units" or S < 2 or self.n_params >= _rows.ROWS_BELOW:
            return None
        return self.batches.batch_size // S

    def _unit_buffers(self) -> tuple:
        """The batch's buffers of a run split by units (:func:`ffnn.train.units.buffers`), made
        once."""
        if self._units is None:
            from ffnn.train import units

            self._units = units.buffers(self.widths, self.batches.batch_size, self.dtype)
        return self._units

    def _steps(self, args, T: int, S: int, how: str, threads) -> tuple[int, int]:
        """The steps kernel of ``how`` (:func:`steps` or :func:`ffnn.train.units.steps`) on T
        threads (this one and T - 1 started here); split (S > 1), with BLAS at one thread
        meanwhile."""
        import threading

        relax, clock, failed = _rows.relax_fn(), _rows.clock_fn(), []
        self.slow[:3] = _rows.SLOW_NS, _rows.SLOW_AFTER_NS, _rows.SLOW_SHARE_PCT
        self.slow[5] = _rows.SLOW_WINDOW_NS
        self._sums(S)
        if how == "units":
            from ffnn.train.units import steps as kernel

            tail = (S, self.sync, self.part, relax, clock, self.slow)
        else:
            kernel, tail = steps, (self.sync, self.part, relax, clock, self.slow)
        if S == 1:  # one share: BLAS as fit set it
            return kernel(*args, 0, 1, *tail)

        def share(rank):
            try:
                kernel(*args, rank, T, *tail)
            except BaseException as e:  # pragma: no cover - a kernel that cannot start
                failed.append(e)
                _rows.abort(self.sync)

        before = None if threads is None else threads[0]()
        if threads is not None:
            threads[1](1)
        try:
            helpers = [threading.Thread(target=share, args=(r,), daemon=True) for r in range(1, T)]
            for h in helpers:
                h.start()
            try:
                done, status = kernel(*args, 0, T, *tail)
            except BaseException:  # pragma: no cover - let the helpers go before raising
                _rows.abort(self.sync)
                raise
            for h in helpers:
                h.join()
        finally:
            if threads is not None:
                threads[1](before)
        if failed or status == 3:  # pragma: no cover
            raise FFNNError(f"the compiled path's threads failed: {failed[0] if failed else '?'}")
        return done, status

    @property
    def diverged_value(self) -> float:
        return float(self.out[2])


@contextlib.contextmanager
def split_rows(epochs: Epochs | None, threads: int | None):
    """For a whole fit: when the compiled run will split its steps among T > 1 threads (at most
    ``threads``: :func:`ffnn.train.threads.split_threads`; by examples, or for a network of
    :data:`~ffnn.train.rows.ROWS_BELOW` parameters or more by units,
    :func:`ffnn.train.rows.split_of`), hold NumPy's BLAS at one thread until the end, so every
    other product in fit runs single-threaded and no idle BLAS thread is left spinning when the
    next compiled run starts: OpenBLAS's idle threads spin for ~0.1 s after their last job
    (measured: a threaded product just before a split 784-256-256-10 epoch made it 143 ms
    instead of 99 ms). Yields T: the evaluations between epochs share their chunks of rows
    among T threads of their own (:func:`ffnn.train.data.evaluate`), which leave nothing
    spinning behind them."""
    found = epochs is not None and threads and numpy_gemm(epochs.dtype) is not None  # _GEMM_LIB
    fns = _rows.blas_threads_fn(_GEMM_LIB[0]) if found else None
    b = epochs.batches if fns is not None else None
    T, how = (1, "rows") if b is None else epochs.split_of(threads)
    if T == 1:
        yield 1
        return
    before = fns[0]()
    fns[1](1)
    epochs.split = (T, how)
    try:
        yield T
    finally:
        epochs.split = None
        fns[1](before)


def require(net, loss, optimizer, batches) -> Epochs:
    """:func:`plan`, raising FFNNError with the reason when the run is not supported."""
    p = plan(net, loss, optimizer, batches)
    if isinstance(p, str):
        raise FFNNError(f"compiled=True, but this run is not supported by the compiled path: {p}")
    return p
