"""The compiled path's threads for large networks: each layer's units split among T threads.

Above :data:`ffnn.train.rows.ROWS_BELOW` parameters the compiled step used to run on one thread
with BLAS's two threads inside each product: the products were split, but the rest of the step
— bias + σ, σ', the bias gradients and above all the update of θ (three passes over p numbers)
— ran on one core while the other waited (measured: 784-1024-1024-10, batch 256: ~60 ms of a
~600 ms epoch). Splitting the batch by examples (:mod:`ffnn.train.rows`) halves the width of
each product and makes the update sum two gradients; at these sizes it was not faster.

Here each layer's *units* are split instead, the batch staying whole. Part q of S takes

    forward    the rows r ∈ R_q of Z^(l) = W^(l) X^(l-1) + b^(l) 1ᵀ and X^(l) = σ(Z^(l))
    output     the columns (examples) C_q of Z^(L+1), and their share of L and Δ^(L+1)
    backward   the rows R_q of ∂L/∂W^(l) = Δ^(l) X^(l-1)ᵀ and of ∂L/∂b^(l) = Δ^(l) 1, and at
               once θ_{t+1} = θ_t − η_t g on those rows of (W^(l), b^(l)) (in cache);
               the rows R'_q of Δ^(l-1) = σ'(Z^(l-1)) ⊙ (W^(l)ᵀ Δ^(l))

with R_q = n·q/S … n·(q+1)/S, each product single-threaded at the whole batch's width; a
barrier after each layer. Every thread takes parts rank, rank + T, …: with T = 1 the same
parts in turn, the same bits (what a run does once another process took a core:
:func:`ffnn.train.rows.lost_core`). The equations are those of
:mod:`ffnn.train.compiled`, whose kernels this module reuses.

Measured on this 2-core machine (784-1024-1024-10, batch 256, one-epoch fits of 20,000
examples with ``threads=2``, each way in processes of its own, alternated; medians of eight
epochs): quiet, 522–573 ms against 554–617 ms with BLAS's split (four pairs), beside a noisy
neighbour 592–641 against 584–646 ms (three pairs); with one core held by a busy process,
1.05–1.10 s (the run goes on alone) against 1.73–1.81 s.
"""

from __future__ import annotations

import numpy as np

from ffnn.train.compiled import (
    NOTRANS,
    ROW,
    TRANS,
    _jit,
    all_finite,
    bias_grad,
    bias_sigma,
    finite,
    gather,
    loss_delta,
    prefetch_rows,
    settle,
    sgd_update,
    swap_back,
    taken,
)
from ffnn.train.rows import barrier, now

__all__ = ["steps", "buffers"]


def buffers(widths: np.ndarray, bs: int, dtype) -> tuple:
    """(X^(0) rows (bs·n_0), Z^(1)…Z^(L+1) then X^(l) in place, the messages Δ^(j) at
    bs·Σ_{i<j} n_i, Δ^(L+1) and Y_B (K·bs each)) for a batch of ``bs`` examples."""
    n, K = int(np.sum(widths)), int(widths[-1])
    n0 = int(widths[0])
    return (
        np.empty(bs * n0, dtype),
        np.empty(bs * (n - n0), dtype),
        np.empty(bs * n, dtype),
        np.empty(K * bs, dtype),
        np.empty(K * bs, dtype),
    )


@_jit
def dsigma(code, x, g):  # g ← σ'(z) ⊙ g in place, σ' from x = σ(z): (n, m)
    n, m = g.shape
    for j in range(n):
        if code == 1:
            for i in range(m):
                if not x[j, i] > 0:
                    g[j, i] = 0
        elif code == 2:
            for i in range(m):
                g[j, i] *= 1 - x[j, i] * x[j, i]
        elif code == 3:
            for i in range(m):
                g[j, i] *= x[j, i] * (1 - x[j, i])


@_jit
def forward_rows(gemm, W, h, first, z, r0, r1):
    """z[r0:r1] = W[r0:r1] h (h: (n_in, B)) or, for the first layer, W[r0:r1] x0ᵀ (x0: (B, n_0));
    z: (n_out, B)."""
    n_in, B = W.shape[1], z.shape[1]
    it = W.itemsize
    if first:
        gemm(ROW, NOTRANS, TRANS, r1 - r0, B, n_in, 1.0, W.ctypes.data + r0 * n_in * it, n_in,
             h.ctypes.data, n_in, 0.0, z.ctypes.data + r0 * B * it, B)  # fmt: skip
    else:
        gemm(ROW, NOTRANS, NOTRANS, r1 - r0, B, n_in, 1.0, W.ctypes.data + r0 * n_in * it, n_in,
             h.ctypes.data, B, 0.0, z.ctypes.data + r0 * B * it, B)  # fmt: skip


@_jit
def forward_cols(gemm, W, h, first, z, c0, c1):
    """z[:, c0:c1] = W h[:, c0:c1] (or W x0[c0:c1]ᵀ for the first layer); z: (n_out, B)."""
    n_o, n_in = W.shape
    B, it = z.shape[1], W.itemsize
    if first:
        gemm(ROW, NOTRANS, TRANS, n_o, c1 - c0, n_in, 1.0, W.ctypes.data, n_in,
             h.ctypes.data + c0 * n_in * it, n_in, 0.0, z.ctypes.data + c0 * it, B)  # fmt: skip
    else:
        gemm(ROW, NOTRANS, NOTRANS, n_o, c1 - c0, n_in, 1.0, W.ctypes.data, n_in,
             h.ctypes.data + c0 * it, B, 0.0, z.ctypes.data + c0 * it, B)  # fmt: skip


@_jit
def grad_rows(gemm, d, h, first, gW, r0, r1):
    """gW[r0:r1] = d[r0:r1] hᵀ (h: (n_in, B)) or d[r0:r1] x0 (x0: (B, n_0)); d: (n_out, B)."""
    n_in, B = gW.shape[1], d.shape[1]
    it = d.itemsize
    if first:
        gemm(ROW, NOTRANS, NOTRANS, r1 - r0, n_in, B, 1.0, d.ctypes.data + r0 * B * it, B,
             h.ctypes.data, n_in, 0.0, gW.ctypes.data + r0 * n_in * it, n_in)  # fmt: skip
    else:
        gemm(ROW, NOTRANS, TRANS, r1 - r0, n_in, B, 1.0, d.ctypes.data + r0 * B * it, B,
             h.ctypes.data, B, 0.0, gW.ctypes.data + r0 * n_in * it, n_in)  # fmt: skip


@_jit
def message_rows(gemm, W, d, g, s0, s1):
    """g[s0:s1] = W[:, s0:s1]ᵀ d: the rows s0:s1 of Wᵀ d; W: (n_out, n_in), d: (n_out, B)."""
    n_o, n_in = W.shape
    B, it = d.shape[1], W.itemsize
    gemm(ROW, TRANS, NOTRANS, s1 - s0, B, n_o, 1.0, W.ctypes.data + s0 * it, n_in,
         d.ctypes.data, B, 0.0, g.ctypes.data + s0 * B * it, B)  # fmt: skip


@_jit
def _update_rows(cur, nxt, grad, off, n_o, n_in, r0, r1, eta):
    """θ_{t+1} = θ_t + η g on rows r0:r1 of a layer's W (at ``off``) and b; returns (Σ g², bad):
    bad when Σ g² is not finite and neither are those rows of g."""
    w0, w1 = off + r0 * n_in, off + r1 * n_in
    b0, b1 = off + n_o * n_in + r0, off + n_o * n_in + r1
    gsq = sgd_update(cur[w0:w1], grad[w0:w1], eta, nxt[w0:w1])
    gsq += sgd_update(cur[b0:b1], grad[b0:b1], eta, nxt[b0:b1])
    bad = not finite(gsq) and not (all_finite(grad[w0:w1]) and all_finite(grad[b0:b1]))
    return gsq, bad


@_jit
def steps(gemm, theta, prev, grad, offs, widths, acts, kind, X, Y, idx, s0, s1, bs, rates,
          x0b, zb, gb_, db, yb_, bo, out, check, rank, T, S, sync, part, relax, clock,
          slow):  # fmt: skip
    """Steps s0..s1-1 of the epoch, this thread ``rank`` of T taking parts rank, rank + T, … of
    S. Returns (steps done, status) and fills ``out`` as :func:`ffnn.train.compiled.steps`
    does (the same statuses, θ and θ_prev in turn in ``theta`` and ``prev``); ``grad`` ends as
    the last step's ∂L/∂θ. ``part`` (S, 8): per part its L, Σ g², bad g, bad rows, and per
    thread its wait at the barriers and the step's time (ns).

    The run stops with status 5 (to go on alone) as :func:`ffnn.train.compiled.steps` does
    (:func:`ffnn.train.rows.lost_core`)."""
    n, n_layers = idx.shape[0], widths.shape[0] - 1
    K, n0 = widths[n_layers], widths[0]
    cur, nxt = theta, prev
    status, waited = 0, 0
    waits, wall = float(slow[3]), float(slow[4])  # (read once: rank 0 writes them)
    s = s0
    while s < s1:
        a = s * bs
        B, nx = min(bs, n - a), a + bs
        B2 = min(bs, n - nx) if s + 1 < s1 else 0  # the next batch's rows, prefetched
        eta = -rates[s - s0]
        t_step = now(clock, sync, rank)
        yb = yb_[: K * B].reshape(K, B)
        d_out = db[: K * B].reshape(K, B)
        for q in range(rank, S, T):  # the parts' examples of the batch
            c0, c1 = B * q // S, B * (q + 1) // S
            rows = x0b[c0 * n0 : c1 * n0].reshape(c1 - c0, n0)
            ok = gather(X, Y, idx, a + c0, rows, yb[:, c0:c1], check)
            part[q, 3] = not ok
        w = barrier(sync, T, rank, relax, clock)
        if w < 0:
            status = 3
            break
        waited += w
        bad_rows = False
        for q in range(S):
            bad_rows = bad_rows or part[q, 3] != 0
        if bad_rows:
            status = 4
            break
        for q in range(rank, S, T):
            part[q, 1], part[q, 2] = 0.0, 0.0
        for l in range(n_layers):  # forward
            n_in, n_o = widths[l], widths[l + 1]
            W = cur[offs[l] : offs[l] + n_o * n_in].reshape(n_o, n_in)
            b = cur[offs[l] + n_o * n_in : offs[l] + n_o * n_in + n_o]
            z = zb[B * (bo[l + 1] - bo[1]) : B * (bo[l + 2] - bo[1])].reshape(n_o, B)
            h = x0b[: B * n0] if l == 0 else zb[B * (bo[l] - bo[1]) : B * (bo[l + 1] - bo[1])]
            for q in range(rank, S, T):
                if l < n_layers - 1:  # a hidden layer: part q's units
                    r0, r1 = n_o * q // S, n_o * (q + 1) // S
                    if r1 > r0:
                        forward_rows(gemm, W, h, l == 0, z, r0, r1)
                        bias_sigma(acts[l], z[r0:r1], b[r0:r1])
                else:  # the output layer: part q's examples, and their loss
                    c0, c1 = B * q // S, B * (q + 1) // S
                    part[q, 0] = 0.0
                    if c1 > c0:
                        forward_cols(gemm, W, h, l == 0, z, c0, c1)
                        bias_sigma(0, z[:, c0:c1], b)
                        part[q, 0] = loss_delta(kind, z[:, c0:c1], yb[:, c0:c1],
                                                d_out[:, c0:c1], B)  # fmt: skip
            w = barrier(sync, T, rank, relax, clock)
            if w < 0:
                status = 3
                break
            waited += w
        if status:
            break
        L = 0.0
        for q in range(S):
            L += part[q, 0]
        if not finite(L):
            if rank == 0:
                out[2] = L
            status = 1
            break
        for l in range(n_layers - 1, -1, -1):  # backward
            n_in, n_o = widths[l], widths[l + 1]
            off = offs[l]
            W = cur[off : off + n_o * n_in].reshape(n_o, n_in)
            gW = grad[off : off + n_o * n_in].reshape(n_o, n_in)
            gb = grad[off + n_o * n_in : off + n_o * n_in + n_o]
            if l == n_layers - 1:
                d = d_out
            else:
                d = gb_[B * bo[l + 1] : B * bo[l + 2]].reshape(n_o, B)
            h = x0b[: B * n0] if l == 0 else zb[B * (bo[l] - bo[1]) : B * (bo[l + 1] - bo[1])]
            for q in range(rank, S, T):
                c0, c1 = B2 * q // S, B2 * (q + 1) // S  # part q's share of the next rows,
                e0 = c0 + (c1 - c0) * (n_layers - 1 - l) // n_layers  # a piece before each
                e1 = c0 + (c1 - c0) * (n_layers - l) // n_layers  # layer
                prefetch_rows(X, idx, nx + e0, e1 - e0)
                r0, r1 = n_o * q // S, n_o * (q + 1) // S
                if r1 > r0:
                    grad_rows(gemm, d, h, l == 0, gW, r0, r1)
                    bias_grad(d[r0:r1], gb[r0:r1])
                    gsq, bad = _update_rows(cur, nxt, grad, off, n_o, n_in, r0, r1, eta)
                    part[q, 1] += gsq
                    if bad:
                        part[q, 2] = 1.0
                if l > 0:  # part q's rows of the message Δ^(l), then σ' of the layer below
                    s0_, s1_ = n_in * q // S, n_in * (q + 1) // S
                    if s1_ > s0_:
                        g = gb_[B * bo[l] : B * bo[l + 1]].reshape(n_in, B)
                        message_rows(gemm, W, d, g, s0_, s1_)
                        x = h.reshape(n_in, B)
                        dsigma(acts[l - 1], x[s0_:s1_], g[s0_:s1_])
            if l > 0:
                w = barrier(sync, T, rank, relax, clock)
                if w < 0:
                    status = 3
                    break
                waited += w
        if status:
            break
        # this thread's waits in the step and the step's time (ns)
        part[rank, 4], part[rank, 5] = waited, now(clock, sync, rank) - t_step
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
