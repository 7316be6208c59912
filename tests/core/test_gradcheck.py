"""Backprop against central finite differences (float64, relative error < 1e-6): every activation,
every loss, both parameterizations, and many random DAGs with skips, fan-out, Concat and sharing."""

from collections import Counter

import numpy as np
import pytest

from ffnn import (
    Act,
    Activation,
    Dense,
    FFNNError,
    Init,
    Input,
    Network,
    gradient_check,
    mlp,
)
from ffnn.core.activations import ACTIVATIONS as BUILTIN_ACTIVATIONS

TOL = 1e-6
# every built-in σ (the list of their names: tests/core/test_activations.py)
ACTS = tuple(BUILTIN_ACTIVATIONS)


def _data(n_in=3, n_out=2, n=5, seed=0, kind="regression"):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_in))
    if kind == "labels":
        return X, rng.integers(0, n_out, n)
    if kind == "unit":
        return X, rng.uniform(0, 1, (n, n_out))
    return X, rng.standard_normal((n, n_out))


@pytest.mark.parametrize("act", ACTS)
def test_every_activation(act):
    net = mlp([3, 5, 4, 2], act, rng=1, dtype=np.float64)
    X, y = _data()
    check = gradient_check(net, X, y, "mse")
    assert check.passed, str(check)
    assert check.max_error < TOL
    assert set(check.errors) == {n for n, _ in net.param_blocks()} | {"input"}


@pytest.mark.parametrize(
    "loss,output,kind",
    [
        ("mse", "identity", "regression"),
        ("mae", "identity", "regression"),
        ("huber", "identity", "regression"),
        ("mse", "sigmoid", "unit"),
        ("mse", "softmax", "unit"),
        ("huber", "softmax", "unit"),
        ("binary_cross_entropy", "sigmoid", "unit"),
        ("cross_entropy", "softmax", "labels"),
        ("cross_entropy", "softmax", "unit"),  # probability targets
    ],
)
def test_every_loss(loss, output, kind):
    net = mlp([3, 6, 3], "tanh", output=output, rng=2, dtype=np.float64)
    X, y = _data(n_out=3, n=6, kind=kind)
    if kind == "unit" and loss == "cross_entropy":
        y = y / y.sum(axis=1, keepdims=True)
    check = gradient_check(net, X, y, loss)
    assert check.max_error < TOL, str(check)


@pytest.mark.parametrize("parameterization", ["standard", "ntk"])
@pytest.mark.parametrize("scheme", ["he", "glorot"])
def test_both_parameterizations(parameterization, scheme):
    init = Init(scheme, C_b=0.1, parameterization=parameterization)
    net = mlp([3, 6, 5, 2], ["gelu", "sigmoid"], init=init, rng=3, dtype=np.float64)
    X, y = _data()
    check = gradient_check(net, X, y, "mse")
    assert check.max_error < TOL, str(check)


def test_float32_network_is_checked_in_float64():
    net = mlp([3, 4, 2], "tanh", rng=4)  # float32
    X, y = _data()
    check = gradient_check(net, X, y, "mse")
    assert check.max_error < TOL, str(check)
    assert net.dtype == np.float32  # the network itself is left alone


N_DAGS = 100


def test_random_dags(random_dag):
    """Many seeded random graphs; together they must contain every kind of structure."""
    seen: Counter = Counter()
    outputs = [("identity", "mse", "regression"), ("softmax", "cross_entropy", "labels"),
               ("sigmoid", "binary_cross_entropy", "unit")]  # fmt: skip
    for seed in range(N_DAGS):
        output, loss, kind = outputs[seed % 3]
        net, kinds = random_dag(seed, n_in=3, n_out=3, steps=8, output=output)
        seen.update(kinds)
        X, y = _data(n_in=3, n_out=3, n=4, seed=seed, kind=kind)
        check = gradient_check(net, X, y, loss)
        assert check.max_error < TOL, f"seed {seed}:\n{net.summary()}\n{check}"
    for kind in ("add", "skip", "concat", "shared", "fanout"):
        assert seen[kind] >= 5, (kind, seen)


def test_random_dag_shapes_predicted_at_build(random_dag):
    for seed in range(N_DAGS):
        net, _ = random_dag(seed, steps=10, dtype=np.float32)
        X = np.random.default_rng(seed).standard_normal((3, 3))
        z, trace = net.forward(X)
        for node, value in zip(net.nodes, trace.values, strict=True):
            assert value.shape == (3, node.dim), (seed, node)
            assert value.dtype == np.float32
        back = net.backward(trace, np.ones_like(z), input_grad=True)
        assert back.theta.shape == net.theta.shape and back.input.shape == X.shape
        # one δ per Dense node, aligned with trace.z
        assert [d.shape for d in trace.delta] == [v.shape for v in trace.z]


def test_weight_sharing_sums_both_uses():
    """f = W2 (W1 x) with W1 = W2 = one shared square layer: the gradient has two terms."""
    x = Input(2)
    shared = Dense(2)
    net = Network(x, shared(shared(x)), dtype=np.float64, init=Init(C_b=0.1))
    assert len(net.dense_layers) == 1 and net.n_params == 6
    X, y = _data(n_in=2, n_out=2)
    assert gradient_check(net, X, y, "mse").max_error < TOL


def test_the_check_catches_a_wrong_derivative():
    """A checker that cannot fail proves nothing: give tanh a wrong σ' and watch it fail."""
    bad = Activation("bad_tanh", np.tanh, lambda z: 1 - np.tanh(z) ** 2 + 0.01, lambda z: z * 0)
    x = Input(3)
    net = Network(x, Dense(2)(Act(bad)(Dense(4)(x))), dtype=np.float64)
    X, y = _data()
    check = gradient_check(net, X, y, "mse")
    assert not check.passed and check.max_error > 1e-4
    assert "FAIL" in str(check)
    # the last layer's gradient does not go through σ' and is still right
    assert check.errors[f"{net.dense_layers[1].name}.W"] < TOL


def test_gradient_check_refuses_a_mismatched_loss():
    net = mlp([2, 3], output="identity")
    with pytest.raises(FFNNError, match="needs output activation"):
        gradient_check(net, np.zeros((2, 2)), np.array([0, 1]), "cross_entropy")
