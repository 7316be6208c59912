"""The network: trace and backprop recurrence, θ layout, dtypes, graph errors, config round trip."""

import json

import numpy as np
import pytest

import ffnn
from ffnn import (
    Act,
    Add,
    Concat,
    Dense,
    FFNNError,
    Init,
    Input,
    Network,
    Sequential,
    get_activation,
    get_loss,
    mlp,
)


def _skip_net(dtype=np.float32, **kw):
    x = Input(3)
    h = Act("tanh")(Dense(4)(x))
    shared = Dense(4)
    a = Act("sigmoid")(shared(h))
    b = shared(Act("gelu")(Dense(4)(x)))  # weight sharing, and h/x feed several consumers
    s = Add()(a, b, h)
    c = Concat()(s, x)
    return Network(x, Dense(2)(c), dtype=dtype, **kw)


# --- the backprop recurrence of the notes ------------------------------------------------------
def test_trace_and_delta_follow_the_notes_recurrence():
    acts = ["tanh", "relu", "softplus"]
    net = mlp([3, 5, 4, 6, 2], acts, dtype=np.float64, rng=1)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((7, 3))
    z_out, trace = net.forward(X)
    L = len(acts)
    # forward: z^(1) = W^(1) x + b^(1), x^(l) = σ(z^(l)), z^(l+1) = W^(l+1) x^(l) + b^(l+1)
    assert len(trace.z) == L + 1 and len(trace.x) == L + 1
    np.testing.assert_array_equal(trace.x[0], X)
    for l in range(1, L + 2):
        W, b = net.params[l - 1]
        np.testing.assert_allclose(trace.z[l - 1], trace.x[l - 1] @ W.T + b)
        if l <= L:
            sigma = get_activation(acts[l - 1]).sigma
            np.testing.assert_allclose(trace.x[l], sigma(trace.z[l - 1]))
    np.testing.assert_array_equal(trace.z[-1], z_out)
    np.testing.assert_array_equal(trace.output, z_out)

    # backward: δ^(L+1) given, δ^(l) = σ'(z^(l)) ⊙ W^(l+1)ᵀ δ^(l+1)
    delta_out = rng.standard_normal(z_out.shape)
    back = net.backward(trace, delta_out)
    deltas = [None] * (L + 2)
    deltas[L + 1] = delta_out
    for l in range(L, 0, -1):
        W_next = net.params[l][0]
        deltas[l] = get_activation(acts[l - 1]).dsigma(trace.z[l - 1]) * (deltas[l + 1] @ W_next)
    assert len(trace.delta) == L + 1
    for l in range(1, L + 2):
        np.testing.assert_allclose(trace.delta[l - 1], deltas[l], rtol=1e-12, atol=1e-14)
    # ∂L/∂W^(l) = Σ_i δ^(l) x^(l-1)ᵀ,  ∂L/∂b^(l) = Σ_i δ^(l)
    grads = net.unflatten(back.theta)
    for l in range(1, L + 2):
        gW, gb = grads[l - 1]
        np.testing.assert_allclose(gW, deltas[l].T @ trace.x[l - 1], rtol=1e-12)
        np.testing.assert_allclose(gb, deltas[l].sum(axis=0), rtol=1e-12)


def test_input_gradient_against_finite_differences(fd_grad, rel_error):
    net = _skip_net(np.float64, rng=3)
    X = np.random.default_rng(1).standard_normal((4, 3))
    y = np.random.default_rng(2).standard_normal((4, 2))
    loss = get_loss("mse")
    z, trace = net.forward(X)
    back = net.backward(trace, loss.delta(z, y, net.output), input_grad=True)
    fd = fd_grad(lambda x: loss.value(net.forward(x)[0], y, net.output), X)
    assert rel_error(back.input, fd) < 1e-7
    assert net.backward(trace, loss.delta(z, y, net.output)).input is None


def test_loss_and_grad_and_reused_buffer_agree():
    net = _skip_net(np.float64, rng=4)
    X = np.random.default_rng(1).standard_normal((6, 3))
    y = np.random.default_rng(2).standard_normal((6, 2))
    value, g = net.loss_and_grad(X, y, "mse")
    z, trace = net.forward(X)
    v2, delta = get_loss("mse").value_and_delta(z, y, net.output)
    assert value == v2
    np.testing.assert_array_equal(net.backward(trace, delta).theta, g)
    buf = net.gradient_buffer()
    assert buf is net.gradient_buffer()
    for _ in range(3):  # backward overwrites, it never accumulates across calls
        out = net.backward(trace, delta, out=buf).theta
        assert out is buf
        np.testing.assert_allclose(buf, g, rtol=1e-13)
    other = np.full(net.n_params, 7.0)
    net.backward(trace, delta, out=other)
    np.testing.assert_allclose(other, g, rtol=1e-13)
    with pytest.raises(FFNNError, match=r"flat buffer of shape \(\d+,\)"):
        net.backward(trace, delta, out=np.empty(3))
    with pytest.raises(FFNNError, match="delta has shape"):
        net.backward(trace, delta[:, :1])


# --- predict: the forward pass without a trace, its buffers reused ---------------------------
def _forward_output(net, X):
    return net.output(net.forward(X)[0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("which", ["chain", "skip", "identity", "residual"])
def test_predict_gives_the_bits_of_the_forward_pass(which, dtype):
    rng = np.random.default_rng(0)
    if which == "chain":
        net = mlp([3, 8, 8, 8, 2], ["relu", "tanh", "sigmoid"], output="softmax", dtype=dtype)
    elif which == "skip":  # fan-out, weight sharing, Add and Concat
        net = _skip_net(dtype)
    elif which == "residual":  # z read by σ and again after it: σ(z) must not overwrite z
        x = Input(3)
        z = Dense(4)(x)
        net = Network(x, Dense(2)(Add()(Act("tanh")(z), z)), dtype=dtype)
    else:  # identity activations hand their input on as their value
        x = Input(3)
        h = Act("identity")(Act("identity")(x))  # σ(X) is X itself
        h = Act("relu")(Dense(3)(Act("identity")(Dense(3)(h))))  # widths a buffer would fit
        net = Network(x, Dense(2)(h), dtype=dtype)
    X = rng.standard_normal((33, 3)).astype(dtype)
    X0 = X.copy()
    for _ in range(2):
        np.testing.assert_array_equal(net.predict(X), _forward_output(net, X))
    np.testing.assert_array_equal(X, X0)  # the caller's X is never a buffer to reuse


def test_predict_leaves_the_arrays_a_users_activation_keeps_alone():
    kept = []

    def sigma(z):  # hands out arrays it keeps
        kept.append(np.tanh(z))
        kept.append(kept[-1].copy())
        return kept[-2]

    act = ffnn.Activation("keeps", sigma, lambda z: 1 - np.tanh(z) ** 2, lambda z: 0 * z)
    x = Input(3)
    h = Act(act)(Dense(4)(Act(act)(Dense(4)(x))))
    net = Network(x, Dense(2)(Act(act)(Dense(4)(h))), dtype=np.float64)
    X = np.random.default_rng(1).standard_normal((6, 3))
    f = net.predict(X)
    assert len(kept) == 6
    for handed, copy in zip(kept[::2], kept[1::2], strict=True):
        np.testing.assert_array_equal(handed, copy)  # none became a later layer's buffer
    np.testing.assert_array_equal(f, _forward_output(net, X))


def test_predict_on_a_sparse_batch_and_a_single_row():
    sparse = pytest.importorskip("scipy.sparse")
    net = mlp([5, 6, 6, 3], "relu", output="softmax", rng=0)
    X = sparse.random(9, 5, density=0.4, random_state=0, format="csr", dtype=np.float32)
    np.testing.assert_array_equal(net.predict(X), _forward_output(net, X))
    row = np.ones((1, 5), np.float32)
    np.testing.assert_array_equal(net.predict(row), _forward_output(net, row))


def test_a_deep_copy_owns_its_parameters():
    """copy.deepcopy (a "best model so far" habit) gives a network whose W, b are views into its
    own θ, before and after any pass, and whose passes follow that θ."""
    import copy

    X = np.ones((4, 3), np.float32)
    for warm in (False, True):
        net = mlp([3, 5, 2], "relu", rng=0)
        if warm:
            net.predict(X)  # plans and views made before the copy
        f = net.predict(X)
        held = {"a": net, "b": net}
        twin = copy.deepcopy(held)
        assert twin["a"] is twin["b"] and twin["a"] is not net
        twin = twin["a"]
        assert np.shares_memory(twin.params[0][0], twin.theta)
        np.testing.assert_array_equal(twin.predict(X), f)
        twin.theta[:] = 0
        np.testing.assert_array_equal(twin.predict(X), np.full((4, 2), 0.0))
        np.testing.assert_array_equal(twin.forward(X)[0], np.zeros((4, 2)))
        np.testing.assert_array_equal(net.predict(X), f)  # the original keeps its θ


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_network_pickles_through_its_config_and_theta(dtype):
    import pickle

    X = np.random.default_rng(0).standard_normal((5, 3)).astype(dtype)
    for net in (_skip_net(dtype, rng=3), mlp([3, 6, 2], ["leaky_relu"], "softmax", dtype=dtype)):
        back = pickle.loads(pickle.dumps(net))
        assert back.dtype == net.dtype and back.config() == net.config()
        np.testing.assert_array_equal(back.theta, net.theta)
        np.testing.assert_array_equal(back.predict(X), net.predict(X))
        back.theta[:] = 0  # its own θ
        assert net.theta.any()


def test_a_network_with_a_users_activation_refuses_pickling_and_saving(tmp_path):
    import pickle

    act = ffnn.Activation("relu", np.tanh, lambda z: 1 - np.tanh(z) ** 2, lambda z: 0 * z)
    x = Input(3)
    net = Network(x, Dense(2)(Act(act)(Dense(4)(x))))  # named "relu", but not ffnn's relu
    with pytest.raises(TypeError, match="user activation"):
        pickle.dumps(net)
    with pytest.raises(FFNNError, match="user activation"):
        ffnn.save_model(tmp_path / "m.safetensors", net)
    assert not (tmp_path / "m.safetensors").exists()
    import copy  # copying goes on without the config: a shallow copy shares θ, a deep one not

    assert copy.copy(net).theta is net.theta
    assert not np.shares_memory(copy.deepcopy(net).theta, net.theta)


# --- θ layout ------------------------------------------------------------------------------
def test_params_are_views_into_theta():
    net = _skip_net(rng=0)
    assert len(net.params) == len(net.dense_layers) == 4  # the shared layer counts once
    assert net.n_params == sum(W.size + b.size for W, b in net.params) == net.theta.size
    for (W, b), layer in zip(net.params, net.dense_layers, strict=True):
        assert W.shape == (layer.n_out, layer.n_in) and b.shape == (layer.n_out,)
        assert np.shares_memory(W, net.theta) and np.shares_memory(b, net.theta)
    net.theta[:] = np.arange(net.n_params)
    W0, b0 = net.params[0]
    np.testing.assert_array_equal(W0.ravel(), np.arange(W0.size))
    np.testing.assert_array_equal(b0, np.arange(W0.size, W0.size + b0.size))
    net.params[1][0][0, 0] = -5.0
    _, sw = net.param_blocks()[2]  # the second layer's W
    assert net.theta[sw.start] == -5.0
    # blocks tile θ exactly, in order
    stops = [s.stop for _, s in net.param_blocks()]
    starts = [s.start for _, s in net.param_blocks()]
    assert starts[0] == 0 and stops[-1] == net.n_params and starts[1:] == stops[:-1]
    assert [n for n, _ in net.param_blocks()][:2] == [
        f"{net.dense_layers[0].name}.W",
        f"{net.dense_layers[0].name}.b",
    ]
    # unflatten gives the same layout for any vector
    v = np.random.default_rng(0).standard_normal(net.n_params)
    for (W, b), (_, sW), (_, sb) in zip(
        net.unflatten(v), net.param_blocks()[::2], net.param_blocks()[1::2], strict=True
    ):
        np.testing.assert_array_equal(W.ravel(), v[sW])
        np.testing.assert_array_equal(b, v[sb])
    with pytest.raises(FFNNError, match="flat vector of shape"):
        net.unflatten(v[:-1])


def test_set_params_checks_shapes():
    net = mlp([2, 3, 1], "relu", dtype=np.float64)
    W1, b1 = np.arange(6.0).reshape(3, 2), np.array([1.0, 2.0, 3.0])
    W2, b2 = np.ones((1, 3)), 0.5
    net.set_params([(W1, b1), (W2, b2)])
    np.testing.assert_array_equal(net.params[0][0], W1)
    assert net.params[1][1][0] == 0.5
    with pytest.raises(FFNNError, match=r"needs W of shape \(3, 2\).*got \(2, 3\)"):
        net.set_params([(W1.T, b1), (W2, b2)])
    with pytest.raises(FFNNError, match=r"b of shape \(3,\).*\(2,\)"):
        net.set_params([(W1, b1[:2]), (W2, b2)])
    with pytest.raises(FFNNError, match="expected 2 .W, b. pairs, got 1"):
        net.set_params([(W1, b1)])


# --- dtypes --------------------------------------------------------------------------------
@pytest.mark.parametrize("output,loss", [("identity", "mse"), ("softmax", "cross_entropy"),
                                         ("sigmoid", "binary_cross_entropy"),
                                         ("sigmoid", "huber")])  # fmt: skip
def test_float32_by_default_everywhere(output, loss):
    x = Input(3)
    h = Act("elu")(Dense(4)(x))
    h = Act("erf")(Dense(4)(Concat()(h, x)))
    net = Network(x, Dense(3)(Add()(h, Act("softplus")(Dense(4)(x)))), output=output)
    assert net.dtype == np.float32 and net.theta.dtype == np.float32
    X = np.random.default_rng(0).standard_normal((5, 3))  # float64 in
    y = np.array([0, 1, 2, 0, 1]) if loss == "cross_entropy" else np.full((5, 3), 0.5)
    z, trace = net.forward(X)
    assert all(v.dtype == np.float32 for v in trace.values)
    assert net(X).dtype == np.float32
    value, delta = get_loss(loss).value_and_delta(z, y, net.output)
    assert isinstance(value, float) and delta.dtype == np.float32
    back = net.backward(trace, delta, input_grad=True)
    assert back.theta.dtype == back.input.dtype == np.float32
    assert all(d.dtype == np.float32 for d in trace.delta)
    assert net.loss_and_grad(X, y, loss)[1].dtype == np.float32
    assert net.gradient_buffer().dtype == np.float32
    # and float64 on request, agreeing to float32 precision
    net64 = net.astype(np.float64)
    assert net64.theta.dtype == np.float64 and net64(X).dtype == np.float64
    np.testing.assert_allclose(net64(X), net(X), rtol=1e-5, atol=1e-6)
    assert net64.gradient_buffer().dtype == np.float64


def test_dtype_choice():
    assert mlp([2, 1], dtype=np.float64).theta.dtype == np.float64
    assert mlp([2, 1], dtype="float64").dtype == np.float64
    for bad in (np.int32, np.float16, "complex128"):
        with pytest.raises(FFNNError, match="float32 or float64"):
            mlp([2, 1], dtype=bad)


def test_copies_are_independent():
    net = _skip_net(rng=0)
    buf = net.gradient_buffer()
    twin = net.copy()
    assert twin.gradient_buffer() is not buf
    twin.theta[:] = 0
    assert np.any(net.theta != 0)
    np.testing.assert_array_equal(twin.params[0][0], 0)
    X = np.ones((2, 3))
    np.testing.assert_array_equal(net.copy()(X), net(X))


# --- graph errors --------------------------------------------------------------------------
def test_wrong_input_shape_names_the_layer_and_shapes():
    x = Input(3, name="pixels")
    net = Network(x, Dense(2, name="first")(x))
    with pytest.raises(FFNNError, match=r"'pixels' feeds layer 'first'.*\(batch, 3\).*\(5, 4\)"):
        net.forward(np.zeros((5, 4)))
    with pytest.raises(FFNNError, match=r"\(batch, 3\); got shape \(3,\)"):
        net(np.zeros(3))
    with pytest.raises(FFNNError, match=r"got shape \(2, 3, 1\)"):
        net(np.zeros((2, 3, 1)))
    # one feature: a vector is read as a batch of scalars
    assert mlp([1, 2, 1])(np.zeros(4)).shape == (4, 1)


def test_graph_errors():
    x, other = Input(3, name="x"), Input(3, name="other")
    unrelated = Dense(2)(other)
    with pytest.raises(FFNNError, match="output '.*' does not depend on input 'x'"):
        Network(x, unrelated)
    both = Add()(Dense(2)(x), unrelated)
    with pytest.raises(FFNNError, match=r"reads input node\(s\) \['other'\] that were not given"):
        Network(x, both)
    with pytest.raises(FFNNError, match="made by Input"):
        Network(Dense(2)(x), both)
    with pytest.raises(FFNNError, match="must be a graph node"):
        Network(x, "y")
    with pytest.raises(FFNNError, match="at least"):
        mlp([3])
    with pytest.raises(FFNNError, match="2 hidden layers need 2 activations, got 1"):
        mlp([3, 4, 4, 1], ["relu"])


# --- building forms, config round trip ------------------------------------------------------
def test_mlp_equals_sequential_and_predict_applies_the_output():
    a = mlp([3, 4, 2], "tanh", output="softmax", rng=5)
    b = Sequential(3, [Dense(4), Act("tanh"), Dense(2)], output="softmax", rng=5)
    np.testing.assert_array_equal(a.theta, b.theta)
    X = np.random.default_rng(0).standard_normal((4, 3))
    np.testing.assert_array_equal(a(X), b.predict(X))
    z, _ = a.forward(X)
    np.testing.assert_allclose(a(X), a.output.apply(z))
    np.testing.assert_allclose(a(X).sum(axis=1), 1, rtol=1e-6)
    assert a.widths == [3, 4, 2] and a.is_chain and not _skip_net().is_chain
    assert "softmax" in a.summary() and "p = 26" in a.summary()
    assert "widths=[3, 4, 2]" in repr(a)


@pytest.mark.parametrize("which", ["chain", "dag"])
def test_config_round_trip(which):
    if which == "chain":
        net = mlp(
            [3, 5, 4, 2],
            ["leaky_relu", "elu"],
            output="sigmoid",
            init=Init("lecun", "uniform", C_b=0.1, parameterization="ntk"),
            rng=3,
            dtype=np.float64,
        )
    else:
        net = _skip_net(output="softmax", init=Init("glorot"), rng=3)
    cfg = json.loads(json.dumps(net.config()))  # JSON-able
    twin = Network.from_config(cfg, rng=99)
    assert twin.dtype == net.dtype and twin.n_params == net.n_params
    assert twin.config() == cfg
    assert [i.to_dict() for i in twin.inits] == [i.to_dict() for i in net.inits]
    assert twin._scales == net._scales
    twin.theta[:] = net.theta
    X = np.random.default_rng(0).standard_normal((6, 3))
    np.testing.assert_array_equal(twin(X), net(X))


def test_from_config_rejects_garbage():
    with pytest.raises(FFNNError, match="not a valid ffnn network"):
        Network.from_config({"layers": []})


def test_a_network_reexports_its_pieces():
    assert ffnn.Network is Network and issubclass(FFNNError, ValueError)


def test_shared_layer_nodes_have_their_own_names_and_trace_lookup():
    x = Input(2)
    shared = Dense(2, name="sq")
    h = shared(x)
    out = shared(Act("tanh", name="t")(h))
    assert (h.name, out.name) == ("sq", "sq#2")
    net = Network(x, out, dtype=np.float64)
    X = np.ones((3, 2))
    z, trace = net.forward(X)
    np.testing.assert_array_equal(trace["sq#2"], z)
    np.testing.assert_array_equal(trace[h], trace["sq"])
    np.testing.assert_allclose(trace["t"], np.tanh(trace["sq"]))
    with pytest.raises(KeyError):
        trace["nope"]
    assert [n for n, _ in net.param_blocks()] == ["sq.W", "sq.b"]
    # the rebuilt graph names its nodes the same way
    assert [n.name for n in Network.from_config(net.config()).nodes] == [n.name for n in net.nodes]


def test_a_float64_delta_does_not_promote_a_float32_network():
    net = _skip_net(rng=0)
    z, trace = net.forward(np.ones((2, 3)))
    back = net.backward(trace, np.ones(z.shape, dtype=np.float64), input_grad=True)
    assert back.theta.dtype == back.input.dtype == np.float32
    assert all(d.dtype == np.float32 for d in trace.delta)
