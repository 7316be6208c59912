"""Minibatch noise against (1/m)(n − m)/(n − 1) tr Σ, and SGD's stationary cloud."""

import numpy as np
import pytest

import ffnn
from ffnn.errors import FFNNError
from ffnn.lab.hessian import full_hessian
from ffnn.lab.sgd_noise import (
    batch_noise,
    gradient_covariance,
    predicted_batch_noise,
    sgd,
    stationary_covariance,
)


def _data(n=32, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, np.sin(X @ np.array([1.0, -1.0, 0.5])) + 0.3 * rng.standard_normal(n)


def test_covariance_mean_is_the_full_gradient_and_noise_matches_the_formula():
    X, y = _data()
    net = ffnn.mlp([3, 8, 1], "tanh", rng=0, dtype=np.float64)
    g, S = gradient_covariance(net, X, y, "mse")
    np.testing.assert_allclose(g, net.loss_and_grad(X, y, "mse")[1], atol=1e-14)
    rng = np.random.default_rng(1)
    for m in (1, 4, 16):
        mean, se = batch_noise(net, X, y, "mse", m, 300, rng)
        assert abs(mean - predicted_batch_noise(np.trace(S), 32, m)) < 4 * se
    assert batch_noise(net, X, y, "mse", 32, 3, rng)[0] < 1e-25  # the full batch has no noise
    with pytest.raises(FFNNError, match="batch size"):
        predicted_batch_noise(1.0, 10, 11)


def test_sgd_cloud_matches_the_lyapunov_solution():
    X, y = _data(n=24)
    net = ffnn.mlp([3, 1], rng=0, dtype=np.float64)
    A = np.c_[X, np.ones(24)]
    th = np.linalg.lstsq(A, y, rcond=None)[0]
    net.set_params([(th[:-1][None, :], th[-1:])])
    theta_star = net.theta.copy()
    H = full_hessian(net, X, y, "mse")
    _, Sig = gradient_covariance(net, X, y, "mse")
    K = np.stack([full_hessian(net, X[i : i + 1], y[i : i + 1], "mse") for i in range(24)])
    lr, m = 0.05, 4
    f = (24 - m) / (m * 23)
    S = stationary_covariance(H, f * Sig, lr, K=K, factor=f)
    assert np.trace(S) > np.trace(stationary_covariance(H, f * Sig, lr))  # noise grows with d
    d2 = []
    for s in range(6):
        net.theta[...] = theta_star
        path = sgd(net, X, y, "mse", lr=lr, m=m, steps=3000, rng=np.random.default_rng(s))
        d2.append(np.mean(np.sum((path[300:] - theta_star) ** 2, 1)))
    assert abs(np.mean(d2) - np.trace(S)) < 5 * np.std(d2, ddof=1) / np.sqrt(6)
    net.theta[...] = theta_star + 0.1
    path = sgd(net, X, y, "mse", lr=lr, m=None, steps=500, rng=None)
    assert np.linalg.norm(path[-1] - theta_star) < 1e-6  # GD: no cloud
    with pytest.raises(FFNNError, match="diverges"):
        stationary_covariance(H, Sig, 3 / np.linalg.eigvalsh(H)[-1])
