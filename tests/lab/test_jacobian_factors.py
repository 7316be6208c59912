"""Per-example gradients as factors: norms, Gram, products and the mean against the
materialized m × p matrix, on a chain and on a DAG with a shared layer (float64)."""

import numpy as np
import pytest

import ffnn
from ffnn.core.graph import Network
from ffnn.core.layers import Act, Dense, Input
from ffnn.lab.jacobian import per_example_factors, per_example_gradients

NETS = {
    "chain": lambda: ffnn.mlp([3, 7, 6, 2], ["tanh", "relu"], rng=0, dtype=np.float64),
    "sigmoid": lambda: ffnn.mlp([3, 6, 2], "sigmoid", rng=0, dtype=np.float64),
}


def _shared_layer_net():
    x = Input(3)
    d = Dense(3)
    h = Act("tanh")(d(x))
    h = Act("tanh")(d(h))  # the same W, b at two nodes
    return Network(x, Dense(2)(h), rng=1, dtype=np.float64)


@pytest.mark.parametrize("build", [NETS["chain"], NETS["sigmoid"], _shared_layer_net])
def test_factors_agree_with_the_materialized_matrix(build):
    net = build()
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((9, 3)), rng.standard_normal((9, 2))
    J = per_example_gradients(net, X, y, "mse")
    F = per_example_factors(net, X, y, "mse")
    np.testing.assert_allclose(F.sq_norms(), np.einsum("ip,ip->i", J, J), rtol=1e-12)
    np.testing.assert_allclose(F.gram(), J @ J.T, rtol=1e-12, atol=1e-14)
    v = rng.standard_normal(net.n_params)
    np.testing.assert_allclose(F.dot(v), J @ v, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(F.mean(), J.mean(axis=0), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(F.materialize(), J)
    _, g = net.loss_and_grad(X, y, "mse")
    np.testing.assert_allclose(F.mean(), g, rtol=1e-12, atol=1e-15)


def test_cross_entropy_norms():
    net = ffnn.mlp([4, 5, 3], "relu", output="softmax", rng=0, dtype=np.float64)
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((6, 4)), rng.integers(0, 3, 6)
    J = per_example_gradients(net, X, y, "cross_entropy")
    F = per_example_factors(net, X, y, "cross_entropy")
    np.testing.assert_allclose(F.sq_norms(), (J * J).sum(axis=1), rtol=1e-12)
