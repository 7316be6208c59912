"""The training loop's fast paths give the same numbers as the plain ones: Workspace buffers,
``out=`` arguments of layers and activations, ``value_and_delta_into``, ``update_theta``, and the
validation split by index."""

from __future__ import annotations

import numpy as np
import pytest

import ffnn
from ffnn import Act, Add, Concat, Dense, Input, Network
from ffnn.core.activations import ACTIVATIONS
from ffnn.core.graph import Workspace
from ffnn.train import fit, optimizers
from ffnn.train.loop import _inputs


def dag_net(dtype=np.float64):
    x = Input(3)
    h = Act("tanh")(Dense(5)(x))
    u = Act("relu")(Dense(5)(x))
    s = Add()(h, u)
    c = Concat()(s, Act("sigmoid")(Dense(2)(h)))
    return Network(x, Dense(4)(c), output="softmax", rng=1, dtype=dtype)


@pytest.mark.parametrize("make", [lambda: ffnn.mlp([3, 6, 6, 2], "relu", rng=0), dag_net])
@pytest.mark.parametrize("input_grad", [False, True])
def test_workspace_passes_equal_plain_passes(make, input_grad):
    net = make()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((7, 3)).astype(net.dtype)
    d = rng.standard_normal((7, net.output_node.dim)).astype(net.dtype)
    z, tr = net.forward(X)
    ref = net.backward(tr, d, input_grad=input_grad)
    ws = net.workspace(7)
    for _ in range(2):  # the second pass reuses the buffers
        zw, trw = net.forward(X, workspace=ws)
        back = net.backward(trw, d, input_grad=input_grad, workspace=ws)
        np.testing.assert_array_equal(zw, z)
        np.testing.assert_array_equal(back.theta, ref.theta)
        for a, b in zip(trw.delta, tr.delta, strict=True):
            np.testing.assert_array_equal(a, b)
        if input_grad:
            np.testing.assert_array_equal(back.input, ref.input)
    # a trace made without a workspace is not touched by later passes
    z_copy = [v.copy() for v in tr.values[1:]]
    net.forward(2 * X)
    net.forward(2 * X, workspace=ws)
    for v, c in zip(tr.values[1:], z_copy, strict=True):
        np.testing.assert_array_equal(v, c)
    with pytest.raises(ffnn.FFNNError, match="workspace"):
        net.forward(X[:3], workspace=ws)


def _relu_chains():
    """(net, node pairs that share values, pairs that must not): a relu MLP; relu after relu;
    a Dense output read by two layers; leaky relu with α < 0 and with α > 0; tanh."""
    x = Input(3)
    d = Dense(5)(x)
    fan = Add()(Act("relu")(d), Act("tanh")(d))  # d has two readers: neither overwrites it
    twice = Act("relu")(Act("relu")(Dense(4)(fan)))  # one buffer for the Dense and both relus
    neg = Act(ACTIVATIONS["leaky_relu"](alpha=-0.5))(Dense(4)(twice))
    pos = Act("leaky_relu")(Dense(4)(neg))
    dag = Network(x, Dense(2)(Act("tanh")(Dense(3)(pos))), output="softmax", rng=2)
    return [
        (ffnn.mlp([3, 6, 6, 2], "relu", rng=0), [(1, 2), (3, 4)], []),
        (dag, [(5, 6), (6, 7), (10, 11)], [(1, 2), (1, 3), (8, 9), (12, 13)]),
    ]


@pytest.mark.parametrize("case", range(2))
def test_in_place_workspace_overwrites_only_what_nobody_else_reads(case):
    net, shared, apart = _relu_chains()[case]
    ws = Workspace(net, 7, in_place=True)
    for p, i in shared:
        assert ws.values[i] is ws.values[p], (p, i)
    for p, i in apart:
        assert ws.values[i] is not ws.values[p], (p, i)
    for i in range(1, len(net.nodes)):  # a relu's message goes over the one it was sent
        users = [u for u, ps in enumerate(net._parents) if i in ps]
        if (i - 1, i) in shared and len(users) == 1 and ws.sends[users[0]] is not None:
            assert ws.sends[i] is ws.sends[users[0]], i
    plain = Workspace(net, 7)
    assert len({id(v) for v in plain.values[1:]}) == len(net.nodes) - 1
    rng = np.random.default_rng(4)
    X = rng.standard_normal((7, 3)).astype(net.dtype)
    d = rng.standard_normal((7, 2)).astype(net.dtype)
    z, tr = net.forward(X)
    ref = net.backward(tr, d, input_grad=True)
    for _ in range(2):  # the second pass reuses the buffers
        zw, trw = net.forward(X, workspace=ws)
        back = net.backward(trw, d, input_grad=True, workspace=ws)
        np.testing.assert_array_equal(zw, z)
        np.testing.assert_array_equal(back.theta, ref.theta)
        np.testing.assert_array_equal(back.input, ref.input)
    for p, i in shared:  # the Trace holds x = σ(z) where z was
        np.testing.assert_array_equal(trw.values[p], tr.values[i])


def test_in_place_activations():
    get = ffnn.get_activation
    assert get("relu").in_place and get("identity").in_place and get("leaky_relu").in_place
    assert not ACTIVATIONS["leaky_relu"](alpha=-0.1).in_place
    assert not any(get(n).in_place for n in ("tanh", "sigmoid", "elu", "gelu", "softplus"))


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_out_arguments(name):
    act = ffnn.get_activation(name)
    z = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
    g = np.cos(z)
    out = np.full_like(z, np.nan)
    x = act.forward(z, out)
    np.testing.assert_array_equal(x, act.sigma(z))
    buf = np.full_like(z, np.nan)
    np.testing.assert_array_equal(act.backward(z, x, g, buf), act.backward(z, x, g))
    g2 = g.copy()  # a message overwritten in place (Workspace(in_place=True))
    assert act.backward(z, x, g2, g2) is g2
    np.testing.assert_array_equal(g2, act.backward(z, x, g))
    np.testing.assert_allclose(act.backward(z, x, g), act.dsigma(z) * g, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(
    "loss, output, y",
    [
        ("mse", "identity", "real"),
        ("mse", "sigmoid", "real"),
        ("cross_entropy", "softmax", "onehot"),
        ("cross_entropy", "softmax", "probs"),
        ("huber", "identity", "real"),
    ],
)
def test_value_and_delta_into_gives_equal_bits(loss, output, y):
    rng = np.random.default_rng(3)
    z = rng.standard_normal((9, 4)).astype(np.float32)
    if y == "onehot":
        Y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 9)]
    elif y == "probs":
        Y = rng.dirichlet(np.ones(4), 9).astype(np.float32)
    else:
        Y = rng.standard_normal((9, 4)).astype(np.float32)
    loss = ffnn.get_loss(loss)
    out_act = ffnn.core.activations.get_output_activation(output)
    L, d = loss.value_and_delta(z, Y, out_act)
    buf = np.empty_like(z)
    L2, d2 = loss.value_and_delta_into(z, Y, out_act, buf)
    assert L2 == L
    np.testing.assert_array_equal(d2, d)


def test_a_subclass_redefining_value_and_delta_is_called():
    calls = []

    class Spy(ffnn.MSE):
        def value_and_delta(self, z, y, output):
            calls.append(1)
            return super().value_and_delta(z, y, output)

    z = np.ones((2, 1), np.float32)
    Spy().value_and_delta_into(z, z, ffnn.core.activations.get_output_activation("identity"), z)
    assert calls == [1]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_update_theta_is_theta_plus_the_step(name, dtype):
    rng = np.random.default_rng(0)
    theta = rng.standard_normal(50).astype(dtype)
    g = rng.standard_normal(50).astype(dtype)
    opt = optimizers.get_optimizer(name, 0.1)
    st1, st2 = opt.init(theta), opt.init(theta)
    ref = theta.copy()
    for _ in range(3):
        step, st1 = opt.update(g, st1, ref)
        ref += step
        st2 = opt.update_theta(g, st2, theta)
    assert st2["step"] == st1["step"] == 3
    np.testing.assert_allclose(theta, ref, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_update_theta_into_out_gives_the_bits_of_the_step_in_place(name, dtype):
    rng = np.random.default_rng(1)
    theta = rng.standard_normal(50).astype(dtype)
    g = rng.standard_normal(50).astype(dtype)
    opt = optimizers.get_optimizer(name, 0.1)
    st1, st2 = opt.init(theta), opt.init(theta)
    here, out = theta.copy(), np.full_like(theta, np.nan)
    for _ in range(3):
        st1 = opt.update_theta(g, st1, here)  # in place
        before = theta.copy()
        st2 = opt.update_theta(g, st2, theta, out=out)
        np.testing.assert_array_equal(theta, before)  # θ itself left as it was
        theta, out = out, theta  # the step loop's two buffers, in turn
    assert st2["step"] == st1["step"] == 3
    np.testing.assert_array_equal(theta, here)


@pytest.mark.parametrize("shuffle", [True, False])
def test_validation_split_by_index_trains_as_on_the_split_copy(shuffle):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3)).astype(np.float32)
    y = rng.integers(0, 3, 40)
    kw = dict(loss="cross_entropy", batch_size=8, epochs=3, progress=False, shuffle=shuffle)
    net = ffnn.mlp([3, 8, 3], "relu", output="softmax", rng=0)
    h = fit(net, X, y, validation=0.25, metrics=["accuracy"], rng=0, **kw)
    gen = np.random.default_rng(0)
    perm = gen.permutation(40)
    va, tr = perm[:10], perm[10:]
    ref = ffnn.mlp([3, 8, 3], "relu", output="softmax", rng=0)
    h_ref = fit(ref, X[tr], y[tr], validation=(X[va], y[va]), metrics=["accuracy"], rng=gen, **kw)
    np.testing.assert_array_equal(net.theta, ref.theta)
    assert h["train_loss"] == h_ref["train_loss"] and h["val_loss"] == h_ref["val_loss"]
    assert h["train_accuracy"] == h_ref["train_accuracy"]


def test_fit_does_not_copy_float32_contiguous_inputs():
    net = ffnn.mlp([4, 3, 1], rng=0)
    X = np.zeros((10, 4), np.float32)
    assert _inputs(net, X, "X") is X
    X[3, 2] = np.nan
    with pytest.raises(ffnn.FFNNError, match="NaN"):
        _inputs(net, X, "X")
