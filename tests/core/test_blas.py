"""addmm: C + α A B in place, through NumPy's gemm where it can and C += α A @ B where not."""

from __future__ import annotations

import numpy as np
import pytest

from ffnn.core import blas


def _abc(dtype, m=40, k=50, n=30, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, k)).astype(dtype)
    B = rng.standard_normal((k, n)).astype(dtype)
    C = rng.standard_normal((m, n)).astype(dtype)
    return A, B, C


def _close(dtype):
    return {"rtol": 1e-5, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-12}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["NN", "TN", "NT", "TT"])
@pytest.mark.parametrize("alpha", [1.0, -0.5])
def test_addmm_adds_alpha_a_b_in_every_layout(layout, dtype, alpha, monkeypatch):
    calls = []
    real = blas.gemm_fn(dtype)
    monkeypatch.setattr(blas, "gemm_fn", lambda dt: lambda *a: calls.append(a) or real(*a))
    A, B, C = _abc(dtype)
    if layout[0] == "T":  # A given as the transpose of a C-contiguous array
        A = np.ascontiguousarray(A.T).T
    if layout[1] == "T":
        B = np.ascontiguousarray(B.T).T
    want = C + alpha * (A.astype(np.float64) @ B.astype(np.float64))
    out = blas.addmm(C, A, B, alpha)
    assert out is C and len(calls) == 1  # through gemm, not the fallback
    np.testing.assert_allclose(C, want, **_close(dtype))


def test_addmm_reaches_gemm_on_this_installation():
    """NumPy's wheels bundle OpenBLAS: the fast path is the one these tests exercise."""
    assert blas.gemm_fn(np.float32) is not None and blas.gemm_fn(np.float64) is not None
    assert blas.gemm_fn(np.int64) is None


def test_addmm_into_a_row_block_leaves_the_rest_alone():
    A, B, _ = _abc(np.float32)
    big = np.zeros((60, 30), np.float32)
    blas.addmm(big[10:50], A, B)
    np.testing.assert_allclose(big[10:50], A @ B, rtol=1e-5, atol=1e-5)
    assert not big[:10].any() and not big[50:].any()


@pytest.mark.parametrize("case", ["alias", "dtypes", "tiny", "strided"])
def test_addmm_falls_back_where_gemm_cannot_be_used(case, monkeypatch):
    A, B, C = _abc(np.float64)
    if case == "alias":  # C is A: the product must be formed before C changes
        A = C = np.random.default_rng(1).standard_normal((30, 30))
        B = np.eye(30) * 2.0
    elif case == "dtypes":
        B = B.astype(np.float32)
    elif case == "tiny":
        A, B, C = A[:2, :3], B[:3, :2], C[:2, :2].copy()
    else:  # no unit stride in A
        A = np.random.default_rng(2).standard_normal((40, 100))[:, ::2]
    want = C + A @ B
    monkeypatch.setattr(blas, "gemm_fn", lambda dt: lambda *a: pytest.fail("gemm was called"))
    blas.addmm(C, A, B)
    np.testing.assert_allclose(C, want, rtol=1e-6, atol=1e-6)


def test_addmm_refuses_shapes_that_do_not_match():
    A, B, C = _abc(np.float32)
    with pytest.raises(ValueError):
        blas.addmm(C[:, :20], A, B)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mkls_gemm_computes_the_product_in_every_layout(dtype):
    """mkl_gemm_fn: oneMKL's ILP64 cblas gemm with NumPy's gemm's arguments (where the mkl
    package is installed), single-threaded; a second call for more threads finds the layer set."""
    gemm = blas.mkl_gemm_fn(dtype)
    if gemm is None:
        pytest.skip("MKL is not installed (pip install mkl), or runs another threading layer")
    assert blas.mkl_gemm_fn(dtype, threads=2) is None  # the sequential layer is the process's
    for ta in (False, True):
        for tb in (False, True):
            A, B, C = _abc(dtype)
            a = np.ascontiguousarray(A.T) if ta else A
            b = np.ascontiguousarray(B.T) if tb else B
            out = np.empty_like(C)
            gemm(101, 112 if ta else 111, 112 if tb else 111, A.shape[0], B.shape[1],
                 A.shape[1], 2.0, a.ctypes.data, a.shape[1], b.ctypes.data, b.shape[1], 0.0,
                 out.ctypes.data, out.shape[1])  # fmt: skip
            np.testing.assert_allclose(out, 2.0 * (A @ B), **_close(dtype))


@pytest.mark.parametrize(
    ("text", "intel"),
    [("vendor_id\t: GenuineIntel\n", True), ("vendor_id\t: AuthenticAMD\n", False), ("", False)],
)
def test_intel_cpu_reads_the_vendor(monkeypatch, text, intel):
    """intel_cpu: MKL's products are the default on Intel's CPUs only (on AMD's OpenBLAS was
    faster); the vendor read once, from /proc/cpuinfo's vendor_id line."""
    monkeypatch.setattr(blas, "_GEMM", {})
    monkeypatch.setattr(blas, "_cpu_text", lambda: text)
    assert blas.intel_cpu() is intel
    monkeypatch.setattr(blas, "_cpu_text", lambda: pytest.fail("read twice"))
    assert blas.intel_cpu() is intel


@pytest.mark.parametrize(
    ("info", "avx512"),
    [
        ([{"internal_api": "openblas", "filepath": "/x/numpy.libs/libopenblas.so",
           "architecture": "SkylakeX"}], True),
        ([{"internal_api": "openblas", "filepath": "/x/numpy.libs/libopenblas.so",
           "architecture": "Haswell"}], False),
        ([{"internal_api": "openblas", "filepath": "/x/scipy.libs/libopenblas.so",
           "architecture": "SkylakeX"}], False),  # SciPy's library, not NumPy's
        ([{"internal_api": "mkl", "filepath": "/x/numpy/libmkl_rt.so"}], False),
        ([], False),
    ],
)  # fmt: skip
def test_openblas_avx512_reads_numpys_openblas_kernels(monkeypatch, info, avx512):
    """openblas_avx512: whether NumPy's OpenBLAS runs AVX-512 kernels (threadpoolctl's
    architecture), read once: where MKL on an AMD CPU keeps to AVX2 and loses."""
    import threadpoolctl

    monkeypatch.setattr(blas, "_GEMM", {})
    monkeypatch.setattr(threadpoolctl, "threadpool_info", lambda: info)
    assert blas.openblas_avx512() is avx512
    monkeypatch.setattr(threadpoolctl, "threadpool_info", lambda: pytest.fail("read twice"))
    assert blas.openblas_avx512() is avx512
