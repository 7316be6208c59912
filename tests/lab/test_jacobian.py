import numpy as np
import pytest

import ffnn
from ffnn import Act, Add, Concat, Dense, Init, Input, Network
from ffnn.errors import FFNNError
from ffnn.lab.jacobian import gradient_rank, input_jacobian, param_jacobian, per_example_gradients


def _dag(output="identity"):
    x = Input(3)
    shared = Dense(5)
    h = Act("tanh")(shared(x))
    h2 = Act("relu")(shared(Act("tanh")(Dense(3)(x))))  # the same Dense layer used twice
    y = Dense(2)(Concat()(Add()(h, h2), Dense(4)(x)))
    return Network(
        x, y, output=output, rng=0, dtype=np.float64, init=Init(parameterization="ntk", C_b=0.1)
    )


def _fd_param_jacobian(net, X, eps=1e-6):
    th = net.theta.copy()
    J = np.zeros((X.shape[0], net.widths[-1], net.n_params))
    for q in range(net.n_params):
        net.theta[q] = th[q] + eps
        zp = net.forward(X)[0]
        net.theta[q] = th[q] - eps
        zm = net.forward(X)[0]
        net.theta[q] = th[q]
        J[:, :, q] = (zp - zm) / (2 * eps)
    return J


@pytest.mark.parametrize(
    "make", [_dag, lambda: ffnn.mlp([3, 6, 5, 2], "tanh", rng=1, dtype=np.float64)]
)
def test_param_jacobian_matches_finite_differences(make):
    net = make()
    X = np.random.default_rng(0).standard_normal((5, 3))
    J = param_jacobian(net, X)
    assert J.shape == (5, 2, net.n_params)
    np.testing.assert_allclose(J, _fd_param_jacobian(net, X), atol=1e-8)


def test_param_jacobian_through_output_activation():
    net = _dag(output="softmax")
    X = np.random.default_rng(1).standard_normal((4, 3))
    J = param_jacobian(net, X, wrt="f")
    eps, th = 1e-6, net.theta.copy()
    q = 7
    net.theta[q] = th[q] + eps
    fp = net(X)
    net.theta[q] = th[q] - eps
    fm = net(X)
    net.theta[q] = th[q]
    np.testing.assert_allclose(J[:, :, q], (fp - fm) / (2 * eps), atol=1e-8)


def test_per_example_gradients_average_to_batch_gradient():
    net = _dag()
    rng = np.random.default_rng(2)
    X, Y = rng.standard_normal((7, 3)), rng.standard_normal((7, 2))
    G = per_example_gradients(net, X, Y, "mse")
    _, g = net.loss_and_grad(X, Y, "mse")
    np.testing.assert_allclose(G.mean(axis=0), g, atol=1e-13)
    # row i is the gradient of the loss on example i alone
    _, g3 = net.loss_and_grad(X[3:4], Y[3:4], "mse")
    np.testing.assert_allclose(G[3], g3, atol=1e-13)


def test_per_example_gradients_cross_entropy_float32():
    net = ffnn.mlp([4, 8, 3], "relu", output="softmax", rng=0)
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((6, 4)).astype(np.float32), rng.integers(0, 3, 6)
    G = per_example_gradients(net, X, y, "cross_entropy")
    assert G.dtype == np.float32
    np.testing.assert_allclose(G.mean(0), net.loss_and_grad(X, y, "cross_entropy")[1], atol=1e-6)


def test_input_jacobian_matches_finite_differences():
    net = _dag()
    X = np.random.default_rng(4).standard_normal((3, 3))
    J = input_jacobian(net, X)
    assert J.shape == (3, 2, 3)
    eps = 1e-6
    for q in range(3):
        E = np.zeros_like(X)
        E[:, q] = eps
        np.testing.assert_allclose(
            J[:, :, q], (net.forward(X + E)[0] - net.forward(X - E)[0]) / (2 * eps), atol=1e-8
        )


def test_gradient_rank():
    rng = np.random.default_rng(5)
    A = rng.standard_normal((4, 50))
    r = gradient_rank(np.vstack([A, A[:1] + A[1:2]]))  # 5 rows, rank 4
    assert r.rank == 4 and not r.full_rank and r.sigma_min < 1e-10
    r = gradient_rank(A)
    assert r.rank == 4 and r.full_rank and r.sigma_min > 0.1
    r = gradient_rank(A.T)  # 50 gradients in p = 4 dimensions: rank 4 = p, not independent
    assert r.rank == 4 == r.p and not r.full_rank
    with pytest.raises(FFNNError):
        gradient_rank(np.zeros(3))


def test_bad_wrt_raises():
    net = _dag()
    with pytest.raises(FFNNError, match="wrt"):
        param_jacobian(net, np.zeros((2, 3)), wrt="x")


@pytest.mark.parametrize("wrt", ["z", "f"])
def test_sensitivities_in_workspaces_equal_fresh_ones(wrt):
    """With one in-place Workspace per output, the forward values and every output's messages
    live in its buffers, and equal the freshly allocated ones (the relu nodes share buffers)."""
    from ffnn.core.graph import Workspace
    from ffnn.lab.jacobian import sensitivities

    net = _dag("softmax")
    X = np.random.default_rng(5).standard_normal((6, 3))
    fresh = sensitivities(net, X, wrt=wrt)
    ws = [Workspace(net, 6, in_place=True) for _ in range(2)]
    kept = sensitivities(net, X, wrt=wrt, workspaces=ws)
    assert [u.layer for u in kept] == [u.layer for u in fresh]
    for u, v in zip(kept, fresh, strict=True):
        np.testing.assert_array_equal(np.asarray(u.cache), np.asarray(v.cache))
        for a, b in zip(u.delta, v.delta, strict=True):
            np.testing.assert_array_equal(a, b)
    with pytest.raises(FFNNError, match="workspace was made for batches of 6"):
        sensitivities(net, X[:4], workspaces=ws)
