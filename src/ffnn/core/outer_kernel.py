"""The compiled loop of :mod:`ffnn.core.outer` (imported only when it runs: it imports Numba).

``rows(g, x, s, flat)``: flat[i] (n_o·n_i,) = the flat (g[i] x[i]ᵀ) · s for every row i, in
32-byte non-temporal vector stores (see :mod:`ffnn.core.outer`).
"""

from __future__ import annotations

import platform

import numba
import numpy as np
from llvmlite import ir as _ir
from numba.core import types as _ty
from numba.extending import intrinsic as _intrinsic

__all__ = ["rows"]

_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")


@_intrinsic
def _store_nt(typingctx, out, k, x, c, gr, s):
    """out[k:k+V] = (x[c:c+V] · gr) · s, V = 32 bytes / itemsize, one non-temporal store;
    out[k] must be 32-byte aligned (x[c] need not be). 1-D arrays of unit stride."""

    def codegen(context, builder, sig, args):
        o = context.make_array(sig.args[0])(context, builder, args[0])
        xa = context.make_array(sig.args[2])(context, builder, args[2])
        elt = context.get_data_type(sig.args[0].dtype)
        V = 32 // context.get_abi_sizeof(elt)
        vty, i32 = _ir.VectorType(elt, V), _ir.IntType(32)
        zeros = _ir.Constant(_ir.VectorType(i32, V), [0] * V)

        def splat(val):
            one = builder.insert_element(_ir.Constant(vty, _ir.Undefined), val, i32(0))
            return builder.shuffle_vector(one, _ir.Constant(vty, _ir.Undefined), zeros)

        src = builder.bitcast(builder.gep(xa.data, [args[3]]), vty.as_pointer())
        v = builder.fmul(builder.fmul(builder.load(src, align=1), splat(args[4])), splat(args[5]))
        dst = builder.bitcast(builder.gep(o.data, [args[1]]), vty.as_pointer())
        st = builder.store(v, dst, align=32)
        st.set_metadata("nontemporal", builder.module.add_metadata([i32(1)]))
        return context.get_dummy_value()

    return _ty.void(out, k, x, c, gr, s), codegen


@_intrinsic
def _store_fence(typingctx):
    """Order the non-temporal stores before what follows (x86: sfence)."""

    def codegen(context, builder, sig, args):
        if _X86:
            fn = builder.module.declare_intrinsic(
                "llvm.x86.sse.sfence", fnty=_ir.FunctionType(_ir.VoidType(), [])
            )
            builder.call(fn, [])
        else:
            builder.fence("seq_cst")
        return context.get_dummy_value()

    return _ty.void(), codegen


@numba.njit(cache=True, nogil=True)
def _block(g, x, s, out, tmp):
    """out (n_o·n_i,) = the flat (g xᵀ) · s: g (n_o,), x (n_i,); ``tmp``: V numbers."""
    n_o, n_i, V = g.shape[0], x.shape[0], tmp.shape[0]
    total = n_o * n_i
    h = min(total, ((-out.ctypes.data) % 32) // out.itemsize)  # before a 32-byte boundary
    for k in range(h):
        out[k] = (g[k // n_i] * x[k % n_i]) * s
    k, r, c = h, h // n_i, h % n_i
    one = out.dtype.type(1.0)
    while k + V <= total:
        if c + V <= n_i:  # one row's V numbers
            _store_nt(out, k, x, c, g[r], s)
            c += V
        else:  # across a row's end: the numbers one by one, then stored as one vector
            for j in range(V):
                tmp[j] = (g[r] * x[c]) * s
                c += 1
                if c == n_i:
                    r, c = r + 1, 0
            _store_nt(out, k, tmp, 0, one, one)
        if c == n_i:
            r, c = r + 1, 0
        k += V
    for j in range(k, total):
        out[j] = (g[j // n_i] * x[j % n_i]) * s


@numba.njit(cache=True, nogil=True)
def rows(g, x, s, flat):
    """flat[i] (n_o·n_i,) = the flat (g[i] x[i]ᵀ) · s for every row i: g (m, n_o), x (m, n_i)."""
    tmp = np.empty(32 // flat.itemsize, flat.dtype)
    for i in range(g.shape[0]):
        _block(g[i], x[i], s, flat[i], tmp)
    _store_fence()
