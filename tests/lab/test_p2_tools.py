"""Convergence, implicit-regularization and restart tools of the part-2 lab."""

import numpy as np
import pytest

import ffnn
from ffnn.errors import FFNNError
from ffnn.lab.convergence import (
    detect_plateaus,
    escape_steps,
    find_minimum,
    gradient_descent,
    linearized_errors,
    measured_rate,
    predicted_rate,
)
from ffnn.lab.hessian import full_hessian
from ffnn.lab.implicit import (
    antisymmetric_network,
    empirical_kernel,
    gd_least_squares,
    kernel_change,
    min_norm_solution,
    output_jacobian,
)
from ffnn.lab.minima import restarts, stuck_fraction


def test_rates_on_a_quadratic():
    """Linear least squares: GD's error follows (I − ηH)^t e_0 exactly, rate ρ(η)."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 3)), rng.standard_normal(30)
    net = ffnn.mlp([3, 1], dtype=np.float64)
    info = find_minimum(net, X, y, "mse")
    assert info["grad_norm"] < 1e-12
    theta_star = net.theta.copy()
    H = full_hessian(net, X, y, "mse")
    lam = np.linalg.eigvalsh(H)
    e0 = rng.standard_normal(4)
    net.theta += e0
    lr = 1.0 / lam[-1]
    run = gradient_descent(net, X, y, "mse", lr, 60, theta_star=theta_star)
    assert np.allclose(run.err, linearized_errors(H, e0, lr, 60), rtol=1e-8, atol=1e-14)
    rho = predicted_rate(lr, lam[0], lam[-1])
    assert measured_rate(run.err) == pytest.approx(rho, rel=1e-3)
    assert predicted_rate(2.5 / lam[-1], lam[0], lam[-1]) > 1


def test_gradient_descent_stops_on_blowup():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((20, 2)), rng.standard_normal(20)
    net = ffnn.mlp([2, 1], dtype=np.float64)
    lam = np.linalg.eigvalsh(full_hessian(net, X, y, "mse"))[-1]
    run = gradient_descent(net, X, y, "mse", 3 / lam, 500, theta_star=np.zeros(3), blowup=1e3)
    assert run.diverged and run.steps < 500
    with pytest.raises(FFNNError):
        gradient_descent(net, X, y, "mse", -1.0, 5)


def test_detect_plateaus_and_escape():
    loss = np.concatenate([np.linspace(2, 1, 10), np.ones(50), np.linspace(1, 0.01, 20)])
    grad = np.concatenate([np.ones(10), 1e-6 * np.ones(50), np.ones(20)])
    pl = detect_plateaus(loss, grad, grad_tol=1e-3, loss_gap=0.1, min_length=10)
    assert len(pl) == 1 and (pl[0].start, pl[0].end) == (10, 60)
    assert escape_steps(0.1, -1.0, 1e-4) == pytest.approx(np.log(1e4) / np.log(1.1))
    assert escape_steps(0.1, 0.5, 1e-4) == float("inf")


def test_min_norm_and_nearest_interpolant():
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((8, 30)), rng.standard_normal(8)
    net, steps = gd_least_squares(X, y)
    mn = min_norm_solution(X, y)
    assert np.linalg.norm(net.theta - mn) < 1e-6 * np.linalg.norm(mn)
    assert steps < 100000
    theta0 = rng.standard_normal(31)
    net2, _ = gd_least_squares(X, y, theta0=theta0)
    A = np.hstack([X, np.ones((8, 1))])
    assert np.allclose(A @ net2.theta, y, atol=1e-8)  # an interpolant ...
    assert np.linalg.norm(net2.theta) > np.linalg.norm(mn) * 1.01  # ... but not the smallest


def test_antisymmetric_network_and_kernel():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((6, 3))
    net, _ = antisymmetric_network(3, 5, 2.0, rng=0)
    assert np.allclose(net(X), 0)
    J = output_jacobian(net, X)
    v = rng.standard_normal(net.n_params)
    eps = 1e-6
    net.theta += eps * v
    fp = net(X)[:, 0]
    net.theta -= 2 * eps * v
    fm = net(X)[:, 0]
    net.theta += eps * v
    assert np.allclose(J @ v, (fp - fm) / (2 * eps), atol=1e-6)
    K = empirical_kernel(net, X)
    assert np.allclose(K, K.T) and np.linalg.eigvalsh(K)[0] > -1e-10
    assert kernel_change(K, K) == 0.0
    big, _ = antisymmetric_network(3, 5, 4.0, rng=0)
    # ReLU is homogeneous: the weight part of K scales like α²; the two output biases add 2
    assert np.allclose(empirical_kernel(big, X) - 2, 4.0 * (K - 2), rtol=1e-10)


def test_restarts_small():
    X = np.linspace(-2, 2, 15)[:, None]
    y = np.sin(2 * X[:, 0])
    res = restarts(X, y, [2, 16], n_restarts=2, epochs=300)
    assert len(res) == 4 and {r.width for r in res} == {2, 16}
    assert all(r.lambda_min is not None for r in res if r.width == 2)
    assert stuck_fraction([0.1, 0.5, 1.0], 0.1) == pytest.approx(2 / 3)
