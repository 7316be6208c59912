"""The units split of large networks' steps (ffnn.train.units): which runs take it, and runs
whose layers have fewer units than there are parts, against the NumPy path. The whole-run
agreement, divergence, slow steps and X's checks run for both splits in test_compiled.py."""

import numpy as np
import pytest

import ffnn
from ffnn.train import compiled as C
from ffnn.train import fit, rows

pytest.importorskip("numba")


def test_large_networks_split_units_and_small_ones_examples(monkeypatch):
    monkeypatch.setattr(rows.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    big = rows.ROWS_BELOW
    assert rows.split_of(2, big, 256) == (2, "units")
    assert rows.split_of(8, 10 * big, 1) == (2, "units")  # one part per core
    assert rows.split_of(1, big, 256) == (1, "rows")
    assert rows.split_of(2, big - 1, 256)[1] == "rows"
    monkeypatch.setattr(rows, "UNITS", False)
    assert rows.split_of(2, big, 256) == (1, "rows")  # BLAS's threads split the products


def test_with_mkl_networks_of_wide_layers_split_units_below_rows_below(monkeypatch):
    monkeypatch.setattr(rows.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    p = 269_322  # 784-256-256-10
    assert rows.split_of(2, p, 128, (256, 256), "mkl") == (2, "units")
    assert rows.split_of(2, p, 128, (256, 256), "openblas") == (2, "rows")
    assert rows.split_of(2, 118_026, 128, (128, 128), "mkl") == (2, "rows")  # 64 units a part
    assert rows.split_of(2, 150_000, 128, (256, 200), "mkl") == (2, "rows")
    assert rows.split_of(1, p, 128, (256, 256), "mkl") == (1, "rows")
    monkeypatch.setattr(rows, "UNITS", False)
    assert rows.split_of(2, p, 128, (256, 256), "mkl") == (2, "rows")


def _spied_runs(monkeypatch) -> list:
    """(how, shares, blas) of each compiled run from now on, in a list that grows."""
    seen, run = [], C.Epochs.run

    def spy(self, *args):
        out = run(self, *args)
        seen.append((self.how, self.shares, self.blas))
        return out

    monkeypatch.setattr(C.Epochs, "run", spy)
    return seen


def _three_classes():
    rng = np.random.default_rng(0)
    return rng.standard_normal((300, 40)), rng.integers(0, 3, 300)


def test_a_fit_of_wide_layers_with_mkl_splits_their_units(monkeypatch):
    from ffnn.core.blas import mkl_gemm_fn

    if mkl_gemm_fn(np.float32) is None:
        pytest.skip("MKL is not installed (pip install mkl)")
    if rows.split_of(2, 10**5, 128, (256,), "mkl")[0] < 2 or C.numpy_gemm(np.float32) is None:
        pytest.skip("one core, or no NumPy BLAS to set to one thread")
    monkeypatch.setenv(C.BLAS_ENV, "mkl")
    seen = _spied_runs(monkeypatch)
    X, y = _three_classes()
    runs = {}  # in float64: in float32 MKL's rounding against OpenBLAS's, through relu's kinks
    for compiled in (False, True):  # over 9 steps, moved a weight in 77,059 by 0.5% (AMD EPYC)
        net = ffnn.mlp([40, 256, 256, 3], "relu", output="softmax", rng=0, dtype=np.float64)
        fit(net, X, y, "cross_entropy", lr=0.05, batch_size=100, epochs=3, progress=False,
            compiled=compiled, threads=2, rng=1)  # fmt: skip
        runs[compiled] = net.theta.copy()
    assert set(seen) == {("units", 2, "mkl")}
    np.testing.assert_allclose(runs[True], runs[False], rtol=1e-9, atol=1e-12)


SPLITS = [(100, "", ("units", 2, "mkl")), (150, "", ("rows", 2, "openblas")),
          (100, "openblas", ("rows", 2, "openblas"))]  # fmt: skip


@pytest.mark.parametrize(("batch", "env", "want"), SPLITS)
def test_on_other_cpus_mkl_takes_a_units_split_of_small_shares(monkeypatch, batch, env, want):
    """Not an Intel CPU, FFNN_BLAS unset: MKL's products where the run splits each layer's units
    and the batch over the parts is MKL_UNITS_SHARE or less (100 / 2 here); OpenBLAS's split
    by examples above it (150 / 2) and with FFNN_BLAS=openblas."""
    from ffnn.core import blas

    if want[2] == "mkl" and blas.mkl_gemm_fn(np.float32) is None:
        pytest.skip("MKL is not installed (pip install mkl)")
    if rows.split_of(2, 10**5, 128, (256,), "mkl")[0] < 2 or C.numpy_gemm(np.float32) is None:
        pytest.skip("one core, or no NumPy BLAS to set to one thread")
    assert 150 // 2 > C.MKL_UNITS_SHARE >= 100 // 2
    monkeypatch.setattr(blas, "intel_cpu", lambda: False)
    monkeypatch.setattr(blas, "openblas_avx512", lambda: False)
    monkeypatch.setenv(C.BLAS_ENV, env)
    seen = _spied_runs(monkeypatch)
    X, y = _three_classes()
    net = ffnn.mlp([40, 256, 256, 3], "relu", output="softmax", rng=0)
    fit(net, X, y, "cross_entropy", lr=0.05, batch_size=batch, epochs=2, progress=False,
        threads=2, rng=1)  # fmt: skip
    assert set(seen) == {want}
    assert np.isfinite(net.theta).all()


def test_kernel_gemm_takes_mkl_for_small_units_shares_only(monkeypatch):
    from ffnn.core import blas

    monkeypatch.setattr(blas, "intel_cpu", lambda: False)
    monkeypatch.setattr(blas, "openblas_avx512", lambda: False)
    monkeypatch.delenv(C.BLAS_ENV, raising=False)
    has_mkl = blas.mkl_gemm_fn(np.float32) is not None
    assert C.kernel_gemm(np.float32, True, C.MKL_UNITS_SHARE)[1] == (
        "mkl" if has_mkl else "openblas"
    )
    assert C.kernel_gemm(np.float32, True, C.MKL_UNITS_SHARE + 1)[1] == "openblas"
    assert C.kernel_gemm(np.float32, True, None)[1] == "openblas"
    assert C.kernel_gemm(np.float32, False, C.MKL_UNITS_SHARE)[1] == "openblas"  # BLAS threaded


def test_kernel_gemm_keeps_openblas_where_it_runs_avx512(monkeypatch):
    """On a CPU not Intel's whose OpenBLAS runs AVX-512 kernels (an AMD Zen 4), a units split
    of small shares stays with OpenBLAS (MKL runs its AVX2 code there); FFNN_BLAS=mkl insists."""
    from ffnn.core import blas

    monkeypatch.setattr(blas, "intel_cpu", lambda: False)
    monkeypatch.setattr(blas, "openblas_avx512", lambda: True)
    monkeypatch.delenv(C.BLAS_ENV, raising=False)
    assert C.kernel_gemm(np.float32, True, C.MKL_UNITS_SHARE)[1] == "openblas"
    if blas.mkl_gemm_fn(np.float32) is not None:
        monkeypatch.setenv(C.BLAS_ENV, "mkl")
        assert C.kernel_gemm(np.float32, True, C.MKL_UNITS_SHARE)[1] == "mkl"


@pytest.fixture
def units(monkeypatch):
    monkeypatch.setattr(rows, "ROWS_BELOW", 0)  # every network is a large one
    if rows.split_of(2, 10, 8)[0] < 2 or C.numpy_gemm(np.float32) is None:
        pytest.skip("one core, or no NumPy BLAS to set to one thread")
    seen, run = [], C.Epochs.run

    def spy(self, *args):
        out = run(self, *args)
        seen.append((self.how, self.shares))
        return out

    monkeypatch.setattr(C.Epochs, "run", spy)
    return seen


@pytest.mark.parametrize(
    "widths, act, output, loss",
    [
        ([4, 1], "identity", "identity", "mse"),  # one layer of one unit: a part with none
        ([3, 1, 5, 2], "tanh", "softmax", "cross_entropy"),  # a hidden layer of one unit
        ([6, 7, 3, 1], "relu", "identity", "mse"),  # odd widths: uneven parts
    ],
)
def test_layers_narrower_than_the_parts_agree_with_the_numpy_path(units, widths, act, output, loss):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((45, widths[0]))
    y = rng.integers(0, widths[-1], 45) if output == "softmax" else np.sin(X[:, :1])
    thetas = []
    for compiled in (False, True):
        net = ffnn.mlp(widths, act, output=output, rng=1, dtype=np.float64)
        kw = dict(lr=0.05, batch_size=8, epochs=6, progress=False, rng=2, threads=2)
        h = fit(net, X, y, loss, compiled=compiled, **kw)  # 45 = 5·8 + 5: a short last batch
        thetas.append((net.theta.copy(), h["train_loss"], h["grad_norm"]))
    np.testing.assert_allclose(thetas[1][0], thetas[0][0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(thetas[1][1], thetas[0][1], rtol=1e-9)
    np.testing.assert_allclose(thetas[1][2], thetas[0][2], rtol=1e-9)
    assert set(units) == {("units", 2)}
