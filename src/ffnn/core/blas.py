"""NumPy's own BLAS, for the one product NumPy cannot ask it for: C ← C + α A B.

``C += A @ B`` in NumPy makes A B in a new array and then adds it: a temporary of C's size, and
a pass over it. BLAS's gemm computes α A B + β C in place; with β = 1 that is the accumulation
of the R-operator's sweeps (R{z} = x V_Wᵀ + R{x} Wᵀ, R{∂L/∂W} = R{δ}ᵀ x + δᵀ R{x}, the
R-message R{δ} W + δ V_W). Measured (``benchmarks/bench_hvp.py``, 784-256-256-10 at batch
1,000, alternated with the code before): a Hessian-vector product on a new ``Curvature``
16.0–17.3 ms against 19.8–26.6 ms, with the R-backward sweep adding into vjp's messages; the
one-off product, whose buffers are reused, did not change.

:func:`gemm_fn` finds ``cblas_sgemm``/``cblas_dgemm`` in the OpenBLAS that NumPy's wheels
bundle (ILP64, symbols ``scipy_cblas_?gemm64_``), through threadpoolctl, as a ctypes function
(the compiled training path calls it from Numba too). Why NumPy's library and not SciPy's: a
second OpenBLAS is a second thread pool, whose idle threads spin and slow NumPy's down. Where
the library is not found (another BLAS, another build), :func:`addmm` is ``C += A @ B``.

:func:`mkl_gemm_fn` finds Intel's MKL where the ``mkl`` package is installed (``pip install
"ffnn[mkl]"``, x86-64: 230 MB to download, ~1 GB installed with its ``intel-openmp`` and ``tbb``),
its ILP64 ``cblas_?gemm_64`` (the same arguments). The compiled training path prefers it on
Intel's CPUs (:func:`intel_cpu`, :func:`ffnn.train.compiled.kernel_gemm`; ``FFNN_BLAS`` chooses):
measured on an Intel Xeon (AVX-512), one thread, float32, at the shapes of a split step (512×784
by 784×256 … 256×64 by 64×784) MKL ran 1.11–1.22x OpenBLAS's speed, and a one-epoch fit of
784-256-256-10 / 784-1024-1024-10 on two threads took 118 / 697 ms against 137 / 803 ms
(medians of 12 / 6 interleaved pairs; the mnist one an hour later, on a slower machine state,
136 against 152 ms). On an AMD EPYC (Zen 3, AVX2; OpenBLAS's Haswell kernels) the same step's
products on one thread ran *slower* with MKL: OpenBLAS 1.04x MKL's speed at 784-256-256-10
(batches of 64 and 128) and 1.10–1.14x at 784-1024-1024-10 (128 and 256), 0.98–1.00x at
64-128-128-10 (medians of 40–2,000 interleaved pairs of whole steps' products).
"""

from __future__ import annotations

import ctypes

import numpy as np

__all__ = ["addmm", "gemm_fn", "mkl_gemm_fn", "intel_cpu", "openblas_avx512"]

#: below this many multiply-adds the ctypes call costs more than NumPy's temporary
ADDMM_MIN_WORK = 1 << 15

_GEMM: dict = {}
LIB: list = [None]  # the file of the library gemm_fn found

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def gemm_fn(dtype):
    """NumPy's ``cblas_?gemm`` for float32/float64 as a ctypes function, or None. Arguments:
    order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc (pointers as ints)."""
    key = np.dtype(dtype).char
    if key not in _GEMM:
        _GEMM[key] = _find_gemm(key) if key in "fd" else None
    return _GEMM[key]


def _find_gemm(char: str):
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
    LIB[0] = paths[0]
    return _proto(char)(ctypes.cast(fn, ctypes.c_void_p).value)


def intel_cpu() -> bool:
    """True when this machine's CPU is Intel's (``GenuineIntel``): where MKL's products beat
    OpenBLAS's (measured: see the module's docstring). Read from /proc/cpuinfo on Linux, else
    from :func:`platform.processor` (Windows and macOS name the vendor or the brand there)."""
    if "intel" not in _GEMM:
        _GEMM["intel"] = "GenuineIntel" in _cpu_text()
    return _GEMM["intel"]


#: OpenBLAS's names (threadpoolctl's ``architecture``) for its kernels that use AVX-512
AVX512_CORES = frozenset({"skylakex", "cooperlake", "sapphirerapids"})


def openblas_avx512() -> bool:
    """True when NumPy's OpenBLAS runs AVX-512 kernels here (threadpoolctl's ``architecture``:
    SkylakeX, CooperLake, SapphireRapids; on an AMD Zen 4 OpenBLAS 0.3.31 picks SkylakeX), where
    MKL on a CPU not Intel's runs its AVX2 code: measured on an AMD EPYC (Zen 4), one-epoch fits
    of 784-256-256-10 at batch 128 on two threads, MKL by units against OpenBLAS by examples
    1.08x slower (medians of 40 interleaved rounds). Read once."""
    if "avx512" not in _GEMM:
        try:
            from threadpoolctl import threadpool_info

            archs = [
                str(i.get("architecture", "")).lower()
                for i in threadpool_info()
                if i.get("internal_api") == "openblas" and "numpy" in i.get("filepath", "")
            ]
        except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
            archs = []
        _GEMM["avx512"] = bool(archs) and archs[0] in AVX512_CORES
    return _GEMM["avx512"]


def _cpu_text() -> str:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            return next((line for line in f if line.startswith("vendor_id")), "")
    except OSError:
        import platform

        text = platform.processor()
        return "GenuineIntel" if "GenuineIntel" in text or text.startswith("Intel") else text


#: MKL's threading layers (mkl_service.h)
_MKL_INTEL, _MKL_SEQUENTIAL = 0, 1
_MKL: dict = {}


def mkl_gemm_fn(dtype, threads: int = 1):
    """MKL's ``cblas_?gemm_64`` for float32/float64 as a ctypes function with :func:`gemm_fn`'s
    arguments, or None where the ``mkl`` package is not installed. MKL's threading is set once
    per process, by the first call: ``threads=1`` its sequential layer (each caller's thread
    runs its products alone: the compiled path's threads), more its OpenMP layer at that many
    threads (the benchmark's limit). None too where MKL already runs another layer (a NumPy or
    SciPy built on MKL chose it first)."""
    key = (np.dtype(dtype).char, threads)
    if key not in _MKL:
        _MKL[key] = _find_mkl(key[0], threads) if key[0] in "fd" else None
    return _MKL[key]


def _mkl_library():
    """libmkl_rt from the installed ``mkl`` distribution, loaded, or None."""
    if "lib" not in _MKL:
        _MKL["lib"] = None
        try:
            from importlib import metadata

            found = [f for f in metadata.files("mkl") or () if "libmkl_rt.so" in f.name]
            if found:  # global: loaded locally, its small products ran 1.7x slower here
                path = str(found[0].locate().resolve())  # (it opens its kernels' libraries)
                _MKL["lib"] = ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
        except (metadata.PackageNotFoundError, OSError):
            pass
    return _MKL["lib"]


def _find_mkl(char: str, threads: int):
    lib = _mkl_library()
    if lib is None:
        return None
    lib.MKL_Set_Threading_Layer.argtypes = [ctypes.c_int]
    lib.MKL_Set_Threading_Layer.restype = ctypes.c_int
    want = _MKL_SEQUENTIAL if threads == 1 else _MKL_INTEL
    if lib.MKL_Set_Threading_Layer(want) != want:
        return None
    if threads > 1:
        lib.MKL_Set_Num_Threads.argtypes = [ctypes.c_int]
        lib.MKL_Set_Num_Threads(threads)
    try:  # the ILP64 interface (int64 sizes, as NumPy's OpenBLAS): oneMKL's cblas_?gemm_64
        fn = getattr(lib, f"cblas_{'s' if char == 'f' else 'd'}gemm_64")
    except AttributeError:
        return None
    return _proto(char)(ctypes.cast(fn, ctypes.c_void_p).value)


def _proto(char: str):
    """The ctypes type of an ILP64 cblas_?gemm (:func:`gemm_fn`'s arguments)."""
    i32, i64 = ctypes.c_int, ctypes.c_int64
    real = ctypes.c_float if char == "f" else ctypes.c_double
    return ctypes.CFUNCTYPE(
        None, i32, i32, i32, i64, i64, i64, real, i64, i64, i64, i64, real, i64, i64
    )


def _operand(A: np.ndarray, item: int) -> tuple[int, int] | None:
    """(trans, leading dimension) of a 2-D operand with one unit stride, else None."""
    s0, s1 = A.strides
    if s1 == item and s0 % item == 0 and s0 >= item * max(A.shape[1], 1):
        return _NO_TRANS, s0 // item
    if s0 == item and s1 % item == 0 and s1 >= item * max(A.shape[0], 1):
        return _TRANS, s1 // item
    return None


def addmm(C: np.ndarray, A: np.ndarray, B: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """C ← C + α A B in place, C: (M, N), A: (M, K), B: (K, N); returns C.

    Through gemm with β = 1 (no temporary) when all three are 2-D float arrays of one dtype with
    a unit stride each (C row-major) and the product is not tiny; else ``C += α (A @ B)``."""
    gemm = None
    ok = (
        isinstance(A, np.ndarray)
        and isinstance(B, np.ndarray)
        and A.ndim == B.ndim == C.ndim == 2
        and A.dtype == B.dtype == C.dtype
        and A.shape[0] * A.shape[1] * B.shape[1] >= ADDMM_MIN_WORK
    )
    if ok:
        gemm = gemm_fn(C.dtype)
    item = C.itemsize
    a = _operand(A, item) if gemm is not None else None
    b = _operand(B, item) if a is not None else None
    rows_C = C.strides[1] == item and C.strides[0] >= item * max(C.shape[1], 1)
    apart = b is not None and not (np.may_share_memory(C, A) or np.may_share_memory(C, B))
    if not apart or not rows_C or C.shape != (A.shape[0], B.shape[1]):
        prod = np.matmul(A, B)
        C += prod if alpha == 1.0 else alpha * prod
        return C
    M, K = A.shape
    N = B.shape[1]
    gemm(_ROW_MAJOR, a[0], b[0], M, N, K, alpha, A.ctypes.data, a[1], B.ctypes.data, b[1],
         1.0, C.ctypes.data, C.strides[0] // item)  # fmt: skip
    return C
