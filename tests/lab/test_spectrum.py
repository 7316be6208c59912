"""Spectrum tools on matrix-free operators, against dense eigendecompositions."""

import numpy as np
import pytest

import ffnn
from ffnn.errors import FFNNError
from ffnn.lab.hessian import Curvature, full_hessian
from ffnn.lab.spectrum import (
    extreme_eigenvalues,
    hutchinson_trace,
    lanczos,
    min_eigenvalue,
    plot_spectrum,
    slq_density,
    top_eigenvalues,
)


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(0)
    net = ffnn.mlp([3, 8, 2], "tanh", output="softmax", rng=rng, dtype=np.float64)
    X, y = rng.standard_normal((30, 3)), rng.integers(0, 2, 30)
    H = full_hessian(net, X, y, "cross_entropy")
    return Curvature(net, X, y, "cross_entropy"), np.linalg.eigvalsh(H), H


def test_top_and_min_eigenvalues_match_dense(small):
    C, lam, _ = small
    top = top_eigenvalues(C, k=3)
    assert np.allclose(top, lam[::-1][:3], rtol=1e-8, atol=1e-10)
    lmin, v = min_eigenvalue(C)
    assert lmin == pytest.approx(lam[0], abs=1e-8)
    Hv = C.hvp(v)
    assert np.allclose(Hv, lmin * v, atol=1e-7)
    lo, hi = extreme_eigenvalues(C)
    assert (lo, hi) == (pytest.approx(lam[0], abs=1e-8), pytest.approx(lam[-1], rel=1e-8))


def test_hutchinson_trace_within_error_bar(small):
    C, lam, _ = small
    est, se = hutchinson_trace(C, n_probes=200, rng=1)
    assert abs(est - lam.sum()) < 4 * se
    assert se > 0


def test_lanczos_full_steps_recovers_spectrum():
    rng = np.random.default_rng(2)
    lam = np.linspace(-1, 5, 20)
    Q, _ = np.linalg.qr(rng.standard_normal((20, 20)))
    A = Q @ np.diag(lam) @ Q.T
    a, b = lanczos(A, rng.standard_normal(20), 20)
    T = np.diag(a) + np.diag(b, 1) + np.diag(b, -1)
    assert np.allclose(np.linalg.eigvalsh(T), lam, atol=1e-8)


def test_slq_density_moments_and_mass():
    rng = np.random.default_rng(3)
    lam = np.concatenate([rng.normal(0, 0.05, 380), [3.0, 5.0]])  # a bulk and two outliers
    A = np.diag(lam)
    d = slq_density(A, n_probes=20, n_steps=40, rng=4)
    for w in d.weights:
        assert w.sum() == pytest.approx(1.0)
    assert d.moment(1) == pytest.approx(lam.mean(), abs=0.01)
    assert d.support[1] == pytest.approx(5.0, abs=1e-6)  # Lanczos finds the extreme outlier
    assert d.mass(-0.5, 0.5) > 0.95
    grid = np.linspace(-1, 6, 4001)
    phi = d.evaluate(grid, sigma=0.05)
    assert np.trapezoid(phi, grid) == pytest.approx(1.0, abs=1e-3)


def test_plot_spectrum_writes_png(small, tmp_path):
    C, _, _ = small
    d = slq_density(C, n_probes=2, n_steps=10)
    path = plot_spectrum(d, tmp_path / "spec.png", top=top_eigenvalues(C, k=2))
    assert path.exists() and path.read_bytes()[:4] == b"\x89PNG"


def test_float32_network_top_eigenvalue():
    rng = np.random.default_rng(5)
    net = ffnn.mlp([4, 16, 3], "relu", output="softmax", rng=rng)  # float32
    X, y = rng.standard_normal((50, 4)), rng.integers(0, 3, 50)
    lam = np.linalg.eigvalsh(full_hessian(net.astype(np.float64), X, y, "cross_entropy"))
    assert top_eigenvalues(Curvature(net, X, y, "cross_entropy"))[0] == pytest.approx(
        lam[-1], rel=1e-4
    )


def test_errors():
    with pytest.raises(FFNNError, match="square"):
        top_eigenvalues(np.ones((3, 4)))
    with pytest.raises(FFNNError, match="LinearOperator"):
        top_eigenvalues("H")
    with pytest.raises(FFNNError, match="k must"):
        top_eigenvalues(np.eye(3), k=5)
