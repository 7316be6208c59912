"""Rows of outer products written into a strided block: the store of per-example gradients.

A Dense layer's per-example gradients are, for every example i of a minibatch,

    ∂ℓ_i/∂W = s_W g_i x_iᵀ        g: (m, n_out) the messages δ_i, x: (m, n_in) the inputs,

one (n_out, n_in) block in each row of an (m, p) matrix. Nothing is summed: writing the
m·n_out·n_in numbers is the whole cost, and at these sizes (tens to hundreds of MB) the memory
sets it. An ordinary store first reads each cache line it writes (to own it), so NumPy's
``einsum`` moves every byte twice. With Numba installed (``pip install "ffnn[fast]"``) a block
of :data:`MIN_BYTES` or more is written by a small compiled loop with *non-temporal* stores
(x86's ``movntps``: whole lines go to memory, nothing is read and the caches are left alone),
one 32-byte vector ``(x_i[c:c+V] · g_i[r]) · s_W`` at a time, aligned, with the few numbers
before the first boundary, across a row's end and after the last full vector written one by one.

Measured on this 2-core machine (AMD EPYC, 40-512-512-1's 512×512 block of 128 examples in a
(128, 284,161) float32 matrix, best of 15, one thread): einsum 8.3 ms, this loop 5.4 ms;
``fill`` of the same block with a constant (a store with no arithmetic) 4.1-4.3 ms. Two threads
were 4.9 ms with ordinary stores when nothing else ran, but 5.9-10 ms in the half second after
a product on two BLAS threads (OpenBLAS's idle worker spins on the other core), so the loop
stays on the calling thread. The whole of :func:`ffnn.lab.jacobian.per_example_gradients` there,
in one process, the two ways in turn, best of 60: m = 32 2.72 -> 2.25 ms, m = 128 11.3 -> 8.95 ms
(the batch gradient: 1.02 and 2.42 ms).

The products are the same floating-point operations as NumPy's, g_i[r] · x_i[c] then · s_W, so
the bits are equal. The first call imports Numba (0.4 s) and compiles the loop (0.75 s; 0.2 s
from Numba's disk cache afterwards).
"""

from __future__ import annotations

import importlib.util

import numpy as np

__all__ = ["outer_rows", "MIN_BYTES", "compiled"]

#: blocks smaller than this (bytes) are written by NumPy (they may still be in cache when read)
MIN_BYTES = 4 << 20

_KERNEL: list = []  # [rows] once imported; [None] where Numba is not installed


def _kernel():
    """The compiled loop (:func:`ffnn.core.outer_kernel.rows`), or None without Numba."""
    if not _KERNEL:
        try:
            from ffnn.core.outer_kernel import rows
        except ImportError:  # pragma: no cover - Numba not installed
            rows = None
        _KERNEL.append(rows)
    return _KERNEL[0]


def compiled() -> bool:
    """True when the compiled store can run (Numba is installed; not imported here)."""
    return bool(_KERNEL[0]) if _KERNEL else importlib.util.find_spec("numba") is not None


def _flat_rows(out: np.ndarray) -> np.ndarray | None:
    """out (m, n_o, n_i) as an (m, n_o·n_i) view of unit stride along its rows; None if the rows
    are not contiguous."""
    m, n_o, n_i = out.shape
    it = out.itemsize
    if out.strides[2] != it or (n_o > 1 and out.strides[1] != n_i * it):
        return None
    return np.lib.stride_tricks.as_strided(out, (m, n_o * n_i), (out.strides[0], it))


def outer_rows(g: np.ndarray, x: np.ndarray, s: float, out: np.ndarray, fast=None) -> None:
    """out[i] = (g[i] x[i]ᵀ) · s for every row i: g (m, n_out), x (m, n_in), out (m, n_out, n_in)
    (a layer's view into an (m, p) matrix, say). ``fast``: None (the compiled store for blocks of
    :data:`MIN_BYTES` or more, where Numba is installed and each out[i] is contiguous), True
    (the compiled store where it can run, whatever the size) or False (NumPy's einsum)."""
    use = compiled() and fast is not False and (fast or out.nbytes >= MIN_BYTES)
    same = g.dtype == x.dtype == out.dtype and g.dtype in (np.float32, np.float64)
    flat = _flat_rows(out) if use and same and out.size else None
    if flat is None:
        np.einsum("ni,nj->nij", g, x, out=out)
        if s != 1.0:
            out *= s
        return
    _kernel()(np.ascontiguousarray(g), np.ascontiguousarray(x), g.dtype.type(s), flat)
