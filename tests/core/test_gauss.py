"""Gaussian expectation rules (ffnn.core.gauss): closed forms against quadrature and Monte Carlo,
and the quadrature's accuracy against a finer one."""

import numpy as np
import pytest

from ffnn import Act, Dense, Init, Input, get_activation
from ffnn.core import gauss
from ffnn.core.kernels import kernel_sweep
from ffnn.lab.kernels import analytic_ntk

# variances from 0.01 to 20, correlations up to ±0.999
K11 = np.array([0.01, 1.0, 1.3, 20.0, 2.0, 5.0])
K22 = np.array([0.02, 1.0, 0.7, 15.0, 2.0, 0.3])
K12 = np.array([0.3, 0.999, -0.5, 0.9, -0.999, 0.0]) * np.sqrt(K11 * K22)


def _scaled_error(a, b):
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


def _quad(name, **kw):
    a = get_activation(name)
    return gauss.quadrature(a.sigma, a.dsigma, K11, K22, K12, **kw)


@pytest.mark.parametrize("name", ["erf", "sin", "identity"])
def test_quadrature_matches_smooth_closed_forms(name):
    exact = get_activation(name).gauss(K11, K22, K12)
    for q, e in zip(_quad(name), exact, strict=True):
        assert _scaled_error(q, e) < 1e-9


@pytest.mark.parametrize("name", ["relu", "leaky_relu"])
def test_quadrature_converges_slowly_at_a_kink_and_warns(name):
    """σ' jumps at 0: the product rule converges like the step (E[σ'σ']) and its square (E[σσ])."""
    exact = get_activation(name).gauss(K11, K22, K12)
    e_ss, e_dd = _quad(name, step=1 / 32)
    assert _scaled_error(e_ss, exact[0]) < 5e-5
    assert _scaled_error(e_dd, exact[1]) < 2e-2
    with pytest.warns(RuntimeWarning, match="kink"):
        _quad(name)


def _mc(name, k11, k22, k12, n=400_000):
    u, v = np.linalg.cholesky([[k11, k12], [k12, k22]]) @ np.random.default_rng(0).normal(
        size=(2, n)
    )
    a = get_activation(name)
    terms = a.sigma(u) * a.sigma(v), a.dsigma(u) * a.dsigma(v)
    return [(t.mean(), t.std() / np.sqrt(n)) for t in terms]


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "sin", "tanh", "softplus", "gelu"])
def test_rules_match_monte_carlo(name):
    a = get_activation(name)
    for k11, k22, k12 in [(1.3, 0.7, 0.5), (4.0, 3.0, -2.5)]:
        rule = a.gauss or (lambda *k, a=a: gauss.quadrature(a.sigma, a.dsigma, *k))
        for value, (mean, se) in zip(rule(k11, k22, k12), _mc(name, k11, k22, k12), strict=True):
            assert abs(value - mean) < 5 * se + 1e-12


def test_tanh_ntk_reaches_the_target_accuracy():
    """Issue 15: Gauss–Hermite at 24 nodes was 2% off; the adaptive rule meets its tolerance."""
    X = np.random.default_rng(0).standard_normal((6, 3))
    kw = dict(depth=3, activation="tanh", C_W=2.0, C_b=0.1)
    T = analytic_ntk(X, **kw)
    x = Input(3)
    h = x
    for _ in range(3):
        h = Act("tanh")(Dense(1, init=Init(2.0, C_b=0.1, parameterization="ntk"))(h))
    out = Dense(1, init=Init(2.0, C_b=0.1, parameterization="ntk"))(h)
    ref = kernel_sweep(out, X, step=1 / 64)[-1].T12  # a fixed finer step: the reference
    assert _scaled_error(T, ref) < 1e-8
    assert _scaled_error(analytic_ntk(X, **kw, quad_order=24), ref) > 1e-2
    assert _scaled_error(analytic_ntk(X, **kw, quad_order=48), ref) > 1e-3
