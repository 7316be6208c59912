"""The lab's one GD loop against the closed form on least squares."""

import numpy as np
import pytest

import ffnn
from ffnn.errors import FFNNError
from ffnn.lab.gd import gd


def test_gd_follows_the_linear_recurrence_and_stops_on_request():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 3)), rng.standard_normal(30)
    net = ffnn.mlp([3, 1], dtype=np.float64)
    A = np.hstack([X, np.ones((30, 1))])
    theta = net.theta.copy()
    lr = 0.1
    seen = []
    taken = gd(net, X, y, "mse", lr=lr, steps=25, callback=lambda t, L, g: seen.append(L))
    for _ in range(25):  # ∇L = 2/n Aᵀ(Aθ − y) for L = 1/n ‖Aθ − y‖²
        theta = theta - lr * 2 / 30 * A.T @ (A @ theta - y)
    assert taken == 25 and len(seen) == 26
    np.testing.assert_allclose(net.theta, theta, rtol=1e-12)
    assert seen[-1] == pytest.approx(np.mean((A @ theta - y) ** 2), rel=1e-12)
    before = net.theta.copy()
    assert gd(net, X, y, lr=lr, steps=100, callback=lambda t, L, g: t == 3) == 3
    assert not np.allclose(net.theta, before)
    with pytest.raises(FFNNError, match="learning rate"):
        gd(net, X, y, lr=0.0, steps=1)
