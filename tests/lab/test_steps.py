"""GD's steps to a tolerance against T = ⌈log(tol/err⁰)/log β⌉ from the Hessian's extremes."""

import numpy as np
import pytest

import ffnn
from ffnn.errors import FFNNError
from ffnn.lab.steps import (
    contraction,
    gd_errors,
    hessian_extremes,
    predicted_steps,
    slope_fit,
    steps_to_tolerance,
)


def test_least_squares_steps_follow_the_predicted_rate():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 4)) * np.array([0.4, 0.7, 1.0, 1.3])
    y = X @ rng.standard_normal(4)
    net = ffnn.mlp([4, 1], rng=0, dtype=np.float64)
    th = np.linalg.lstsq(np.c_[X, np.ones(40)], y, rcond=None)[0]
    net.set_params([(th[:-1][None, :], th[-1:])])
    theta_star = net.theta.copy()
    lam = np.linalg.eigvalsh(ffnn.lab.hessian.full_hessian(net, X, y, "mse"))
    lmin, lmax = hessian_extremes(net, X, y, "mse")
    np.testing.assert_allclose([lmin, lmax], [lam[0], lam[-1]], rtol=1e-8)
    lr = 1 / lmax
    beta = contraction(lr, lmin, lmax)
    assert beta == pytest.approx(1 - lmin / lmax)
    net.initialize(1)
    err = gd_errors(net, X, y, "mse", theta_star, lr=lr, steps=2000)
    tols = np.logspace(-3, -9, 7)
    T, P = steps_to_tolerance(err, tols), predicted_steps(beta, err[0], tols)
    assert np.all((T >= 0) & (T <= P))  # the bound holds
    slope, se = slope_fit(tols, T)
    assert abs(slope + 1 / np.log(beta)) < 2 / np.log(1e6)  # the rate: within rounding


def test_edges():
    assert list(steps_to_tolerance([1.0, 0.5, 0.1], [0.6, 0.01])) == [1, -1]
    assert list(predicted_steps(0.5, 1.0, [2.0, 0.25])) == [0, 2]
    with pytest.raises(FFNNError, match="contraction"):
        predicted_steps(1.0, 1.0, [0.1])
    with pytest.raises(FFNNError, match="3 tolerances"):
        slope_fit([0.1, 0.01], [1, 2])
    assert slope_fit([1e-1, 1e-2, 1e-3], [1, 2, 3]) == pytest.approx((1 / np.log(10), 0.0))
