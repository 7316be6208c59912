"""One L-BFGS driver: least squares to its solution; the L2 penalty on W against finite
differences; the estimators and the lab both use it."""

from __future__ import annotations

import numpy as np

import ffnn
from ffnn.core.losses import get_loss
from ffnn.train.lbfgs import L2OnWeights, lbfgs


def test_lbfgs_solves_least_squares():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3 + 0.01 * rng.standard_normal(40)
    net = ffnn.mlp([3, 1], output="identity", rng=0, dtype=np.float64)
    seen = []
    res = lbfgs(net, X, y[:, None], get_loss("mse"), max_iter=200, gtol=1e-12,
                callback=seen.append)  # fmt: skip
    theta_star = np.linalg.lstsq(np.hstack([X, np.ones((40, 1))]), y, rcond=None)[0]
    np.testing.assert_allclose(net.theta, theta_star, atol=1e-6)
    assert seen and seen[-1] == res.fun and res.nit == len(seen)


def test_l2_on_weights_value_and_gradient_skip_the_biases():
    net = ffnn.mlp([3, 4, 2], rng=0, dtype=np.float64)
    pen = L2OnWeights(net, alpha=0.3)
    theta = net.theta.copy()
    W_sq = sum(float((W**2).sum()) for W, _ in net.params)
    assert pen.value(theta, 5.0) == 0.5 * 0.3 * W_sq / 5.0
    g = np.zeros_like(theta)
    L = pen.add_to(0.0, g, theta, 5.0)
    assert np.isclose(L, pen.value(theta, 5.0), rtol=1e-14)
    eps = 1e-6
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = eps
        fd = (pen.value(theta + e, 5.0) - pen.value(theta - e, 5.0)) / (2 * eps)
        assert abs(g[i] - fd) < 1e-8
    b_slices = [sl for name, sl in net.param_blocks() if name.endswith(".b")]
    assert all(not g[sl].any() for sl in b_slices)
    tmp = np.empty_like(theta)
    g2 = pen.add_gradient(np.zeros_like(theta), theta, 0.3 / 5.0, tmp)
    np.testing.assert_array_equal(g2, g)
