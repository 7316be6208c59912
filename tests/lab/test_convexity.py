"""No hidden layer: H ⪰ 0 everywhere and GD → the one optimum; one hidden layer: neither."""

import numpy as np

import ffnn
from ffnn.lab.convexity import (
    curvature_at_points,
    gd_from_starts,
    gd_losses,
    output_block,
    roundoff_floor,
    suboptimality_bound,
)


def _data(n=30, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = X @ np.arange(1.0, d + 1) + rng.standard_normal(n)
    return X, y, (y + 2 * rng.standard_normal(n) > 0).astype(float)[:, None]


def test_no_hidden_layer_hessian_is_psd_under_mse_and_cross_entropy():
    X, y, yb = _data()
    rng = np.random.default_rng(1)
    for loss, out, t in (("mse", "identity", y), ("binary_cross_entropy", "sigmoid", yb)):
        net = ffnn.mlp([3, 1], output=out, dtype=np.float64)
        rows = curvature_at_points(net, X, t, loss, 5, rng, scale=3.0)
        assert all(r["lambda_min"] >= -r["floor"] for r in rows)


def test_one_hidden_layer_has_negative_curvature_but_its_output_block_does_not():
    X = np.linspace(-3, 3, 20)[:, None]
    y = np.sin(2 * X[:, 0])
    net = ffnn.mlp([1, 3, 1], "tanh", dtype=np.float64)
    rows = curvature_at_points(net, X, y, "mse", 6, np.random.default_rng(0))
    assert sum(r["lambda_min"] < -100 * r["floor"] for r in rows) >= 3
    assert all(r["out_min"] >= -r["floor"] for r in rows)
    assert output_block(net) == slice(3 + 3, 3 + 3 + 3 + 1)  # W1: 3, b1: 3, then W2: 3, b2: 1


def test_gd_from_any_start_reaches_the_least_squares_optimum():
    X, y, _ = _data()
    A = np.c_[X, np.ones(len(X))]
    L_star = float(np.mean((A @ np.linalg.lstsq(A, y, rcond=None)[0] - y) ** 2))
    rows = gd_from_starts(
        lambda s: ffnn.mlp([3, 1], rng=s, dtype=np.float64),
        X,
        y,
        "mse",
        [0, 1, 2],
        lr=0.1,
        steps=400,
    )
    for r in rows:
        assert abs(r["loss"] - L_star) <= r["bound"] + 1e-12 and r["lambda_min"] > 0
        assert r["path"][0] > r["path"][-1] and len(r["path"]) == 401


def test_bound_and_floor():
    X, y, _ = _data()
    net = ffnn.mlp([3, 1], rng=0, dtype=np.float64)
    L0, g0, b0, mu = suboptimality_bound(net, X, y, "mse")
    losses = gd_losses(net, X, y, "mse", lr=0.1, steps=2000)
    assert losses[0] == L0 and 0 <= L0 - losses[-1] <= b0 and mu > 0 and g0 > 0
    assert roundoff_floor(np.eye(4)) == 4 * np.finfo(float).eps
