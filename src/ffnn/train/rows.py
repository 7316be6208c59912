"""The compiled path's threads: a step's batch split among T threads by examples (Numba).

With BLAS on two threads, each matrix product of a step is split between the cores, but the
rest of the step — the batch gather, bias + σ, σ', the loss, the bias gradients and the update —
runs on one core: at 784-256-256-10 with batches of 128, ~100 µs a step beside ~450 µs of
products. Here the batch is cut into S shares of examples ``B·r/S … B·(r+1)/S``, and each of T
= S threads takes one through the whole forward and backward sweep with single-threaded
products, into a gradient buffer of its own (g = Σ_r g_r: each example's term of the batch
gradient lands in one buffer); after a barrier each thread updates its slice ``p·r/S …
p·(r+1)/S`` of θ from the sum, and after a second barrier the next step starts. Measured on this
2-core machine (784-256-256-10, batch 128, ``fit(threads=2)``, the split switched on and off
between interleaved epochs, in one such run): 86 ms an epoch against 104 ms with BLAS's split of
each product.

Above ``ROWS_BELOW`` parameters halving each product's width cost as much as the split saved
(784-1024-1024-10, batch 256: 617 ms against 607 ms with BLAS's split): there each layer's
units are split instead, the batch kept whole (:mod:`ffnn.train.units`, :func:`split_of`).
``fit(threads=None)`` ("auto") splits among the cores the process may use
(:func:`ffnn.train.threads.split_threads`).

The barrier spins on shared counters read and written atomically (LLVM atomics, below); a
thread that waits long yields its core (``sched_yield``), so a late thread on a busy core is
let run, and measures how long it waited. When another process holds a core, every step waits
for the thread that lost it (measured: a one-epoch fit of 784-256-256-10 took 1.2 s instead of
0.18 s on one thread, with two other processes busy): once the waits are a share of the time
(:func:`lost_core`) the run goes on on one thread, which takes the S shares in turn — the same
shares, sums and slices, so the same bits as on S threads (0.21 s in that case).
"""

from __future__ import annotations

import ctypes
import os

import numpy as np

__all__ = [
    "ROWS_BELOW",
    "UNITS",
    "UNITS_MIN_PART",
    "split_of",
    "MIN_WORK",
    "MIN_ROWS",
    "barrier",
    "lost_core",
    "blas_threads_fn",
    "row_threads",
    "relax_fn",
    "clock_fn",
    "sync_size",
]

#: networks with fewer parameters split the batch rows among the threads; larger ones split
#: each matrix product (BLAS's threads)
ROWS_BELOW = 1_000_000
#: networks of ROWS_BELOW parameters or more split each layer's units among the threads
#: (:mod:`ffnn.train.units`); False: they leave the split of each product to BLAS's threads
UNITS = True
#: with MKL's products (:func:`ffnn.core.blas.mkl_gemm_fn`), a network under ROWS_BELOW
#: parameters whose every hidden layer gives each of the S parts this many units or more splits
#: its units too. Measured here, one-epoch fits on two threads, units against rows (medians of
#: 14-20 interleaved pairs): 784-256-256-10 at batch 128 and 256-256-256-10 at 64 1.07x faster,
#: 784-128-128-10 at 128 0.95x, 64-128-128-10 at 64 0.81x; with OpenBLAS 784-256-256-10 0.97x
UNITS_MIN_PART = 128
#: a step of fewer multiply-adds (3·p·B) than this runs on one thread, where waiting at two
#: barriers a step would cost more than the split saves
MIN_WORK = 1 << 20
#: examples a thread takes at least
MIN_ROWS = 8
#: spins of a waiting thread before it starts yielding its core
SPINS = 4000
#: a split run goes on on one thread once its threads' waits at the barriers (the longest wait
#: of each step, yielding the core) come to SLOW_SHARE_PCT % of its time, over the last
#: SLOW_WINDOW_NS or so, after SLOW_AFTER_NS of it and SLOW_NS of waits at least. A core lost
#: to another process makes a thread wait about half of every step; a neighbour's time slice
#: now and then costs a few % (the earlier rule, two waits over 1 ms in one step of sixteen,
#: sent whole runs to one thread beside other tenants: 784-256-256-10 at 0.14 s an epoch
#: instead of 0.08 s)
SLOW_NS = 1_000_000
SLOW_AFTER_NS = 100_000_000
SLOW_SHARE_PCT = 25
SLOW_WINDOW_NS = 1_000_000_000
# the barrier's counters, a cache line apart: arrivals, generation, abort flag; then per thread a
# cache line for its clock readings
COUNT, GEN, ABORT, CLOCKS = 0, 8, 16, 24

try:  # pragma: no cover - which branch runs depends on the installation
    import numba
    from numba.core import cgutils, types
    from numba.extending import intrinsic

    _jit = numba.njit(cache=True, nogil=True)

    def _pointer(context, builder, sig, args):
        aryty = sig.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        return cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]])

    @intrinsic
    def atomic_load(typingctx, a, i):  # a[i], an int64 read with acquire ordering
        def codegen(context, builder, sig, args):
            return builder.load_atomic(_pointer(context, builder, sig, args), "acquire", 8)

        return types.int64(a, i), codegen

    @intrinsic
    def atomic_add(typingctx, a, i, v):  # a[i] += v atomically; returns the old a[i]
        def codegen(context, builder, sig, args):
            ptr = _pointer(context, builder, sig, args)
            return builder.atomic_rmw("add", ptr, args[2], "seq_cst")

        return types.int64(a, i, v), codegen

    @intrinsic
    def atomic_store(typingctx, a, i, v):  # a[i] = v with release ordering
        def codegen(context, builder, sig, args):
            builder.store_atomic(args[2], _pointer(context, builder, sig, args), "release", 8)
            return context.get_dummy_value()

        return types.void(a, i, v), codegen

except ImportError:  # pragma: no cover
    numba = None

    def _jit(f):
        return f


def sync_size(T: int) -> int:
    """The length of the int64 ``sync`` array of T threads."""
    return CLOCKS + 8 * T


@_jit
def now(clock, sync, rank):
    """CLOCK_MONOTONIC in ns, read into thread ``rank``'s cache line of ``sync``."""
    at = CLOCKS + 8 * rank
    clock(1, sync[at:].ctypes.data)
    return sync[at] * 1_000_000_000 + sync[at + 1]


@_jit
def barrier(sync, T, rank, relax, clock):
    """Wait until all T threads have arrived (sense by generation); returns -1 if a thread
    aborted, else the ns this thread spent yielding its core (0: a short wait, all spinning).
    ``sync``: int64 (:func:`sync_size`), zeroed before the threads start; ``relax``:
    sched_yield; ``clock``: clock_gettime (:func:`clock_fn`)."""
    if T == 1:
        return 0
    gen = atomic_load(sync, GEN)
    t0 = 0
    if atomic_add(sync, COUNT, 1) == T - 1:  # the last to arrive opens the next generation
        atomic_store(sync, COUNT, 0)
        atomic_add(sync, GEN, 1)
    else:
        k = 0
        while atomic_load(sync, GEN) == gen:
            if atomic_load(sync, ABORT) != 0:
                return -1
            k += 1
            if k > SPINS:
                if t0 == 0:
                    t0 = now(clock, sync, rank)
                relax()
    if atomic_load(sync, ABORT) != 0:
        return -1
    return 0 if t0 == 0 else max(now(clock, sync, rank) - t0, 1)


@_jit
def lost_core(slow, part, T, waits, wall):
    """After a step's last barrier: (waits, wall, go on alone?). ``part[q, 4]`` and
    ``part[0, 5]``: thread q's waits in the step and the step's time (ns, written before the
    barrier, so every thread decides alike); ``waits``, ``wall``: the sums so far, halved when
    ``wall`` passes the window. ``slow``: SLOW_NS, SLOW_AFTER_NS, SLOW_SHARE_PCT, (the sums
    carried between runs), SLOW_WINDOW_NS."""
    w = 0.0
    for q in range(T):
        w = max(w, part[q, 4])
    waits, wall = waits + w, wall + part[0, 5]
    if wall > slow[5]:  # the older half forgotten: a core lost late in a long run counts
        waits, wall = waits / 2, wall / 2
    alone = T > 1 and wall >= slow[1] and waits > slow[0] and 100 * waits >= slow[2] * wall
    return waits, wall, alone


def abort(sync: np.ndarray) -> None:
    """Tell the threads waiting at a barrier to give up (a thread failed to start its share)."""
    sync[ABORT] = 1


_FNS: dict = {}


def relax_fn():
    """libc's ``sched_yield`` as a ctypes function for the kernels."""
    if "relax" not in _FNS:
        libc = ctypes.CDLL(None)
        _FNS["relax"] = ctypes.CFUNCTYPE(ctypes.c_int)(
            ctypes.cast(libc.sched_yield, ctypes.c_void_p).value
        )
    return _FNS["relax"]


def clock_fn():
    """libc's ``clock_gettime(clockid, struct timespec *)`` as a ctypes function for the
    kernels (the pointer passed as an int64)."""
    if "clock" not in _FNS:
        libc = ctypes.CDLL(None)
        _FNS["clock"] = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_int64)(
            ctypes.cast(libc.clock_gettime, ctypes.c_void_p).value
        )
    return _FNS["clock"]


def blas_threads_fn(gemm_lib: str | None):
    """(get, set) of the BLAS library's global thread count, or None."""
    if gemm_lib is None:
        return None
    if gemm_lib not in _FNS:
        try:
            lib = ctypes.CDLL(gemm_lib)
            get = lib.scipy_openblas_get_num_threads64_
            put = lib.scipy_openblas_set_num_threads64_
            get.restype, get.argtypes = ctypes.c_int, []
            put.restype, put.argtypes = None, [ctypes.c_int]
            _FNS[gemm_lib] = (get, put)
        except (OSError, AttributeError):
            _FNS[gemm_lib] = None
    return _FNS[gemm_lib]


def _cores() -> int:
    """The cores this process may run on."""
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return n or 1


def row_threads(threads: int, n_params: int, batch_size: int) -> int:
    """How many threads split the batch rows (the shares of a batch): at most ``threads``
    (what ``threads=`` set, or the cores for "auto"), for networks below ``ROWS_BELOW``
    parameters, with ``MIN_WORK`` multiply-adds a step or more for each thread, at most one
    per available core and per ``MIN_ROWS`` examples."""
    work = 3 * n_params * batch_size
    if threads <= 1 or n_params >= ROWS_BELOW or work < MIN_WORK:
        return 1
    cores = _cores()
    most = work // MIN_WORK if MIN_WORK else threads
    return max(1, min(threads, cores, batch_size // MIN_ROWS, most))


def split_of(
    threads: int, n_params: int, batch_size: int, hidden=(), blas: str = "openblas"
) -> tuple[int, str]:
    """(S, how) for a compiled run allowed ``threads`` threads: S shares of each batch's
    examples (``"rows"``, :func:`row_threads`) below ``ROWS_BELOW`` parameters — or, with
    ``blas`` "mkl" and every ``hidden`` width ≥ UNITS_MIN_PART·S, S parts of each layer's units;
    above, S parts of each layer's units (``"units"``, :mod:`ffnn.train.units`), one per thread
    and core, or (1, "rows") where BLAS's threads split the products instead (``UNITS`` False,
    one thread)."""
    if n_params < ROWS_BELOW:
        S = row_threads(threads, n_params, batch_size)
        wide = len(hidden) > 0 and min(hidden) >= UNITS_MIN_PART * S
        return S, "units" if UNITS and S > 1 and blas == "mkl" and wide else "rows"
    cores = _cores()
    S = min(threads, cores) if UNITS else 1
    return (S, "units") if S > 1 else (1, "rows")
