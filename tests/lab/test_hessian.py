"""Exact Hessian-vector products (R-operator) against finite differences and the full Hessian."""

import zlib

import numpy as np
import pytest

import ffnn
from ffnn import Act, Add, Concat, Dense, Init, Input, Network
from ffnn.core.activations import ACTIVATIONS as BUILTIN_ACTIVATIONS
from ffnn.core.graph import Workspace
from ffnn.errors import FFNNError
from ffnn.lab.hessian import (
    Curvature,
    full_gauss_newton,
    full_hessian,
    gauss_newton_operator,
    gnvp,
    hessian_operator,
    hvp,
    loss_hvp_z,
)

# every built-in σ (the list of their names: tests/core/test_activations.py)
ACTIVATIONS = tuple(BUILTIN_ACTIVATIONS)

N = 12


def _targets(rng, loss):
    """(loss, output activation, y) for every loss of the core."""
    return {
        "mse": ("identity", rng.standard_normal((N, 2))),
        "mae": ("identity", rng.standard_normal((N, 2))),
        "huber": ("identity", 2 * rng.standard_normal((N, 2))),
        "binary_cross_entropy": ("sigmoid", rng.random((N, 2))),
        "cross_entropy": ("softmax", rng.integers(0, 2, N)),
    }[loss]


def _fd_hvp(net, X, y, loss, v, eps=1e-5):
    """Central difference of the gradient along v: (g(θ + εv) − g(θ − εv)) / 2ε."""
    t0 = net.theta.copy()
    net.theta[:] = t0 + eps * v
    _, gp = net.loss_and_grad(X, y, loss)
    net.theta[:] = t0 - eps * v
    _, gm = net.loss_and_grad(X, y, loss)
    net.theta[:] = t0
    return (gp - gm) / (2 * eps)


def _rel(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300)


@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("loss", ["mse", "mae", "huber", "binary_cross_entropy", "cross_entropy"])
def test_hvp_matches_finite_differences(act, loss):
    rng = np.random.default_rng(zlib.crc32(f"{act}-{loss}".encode()))
    output, y = _targets(rng, loss)
    # nonzero biases keep every ReLU pre-activation off its kink at 0
    net = ffnn.mlp([3, 5, 4, 2], act, output=output, init=Init(C_b=0.1), rng=rng, dtype=np.float64)
    X = rng.standard_normal((N, 3))
    v = rng.standard_normal(net.n_params)
    h = hvp(net, X, y, loss, v)
    assert _rel(h, _fd_hvp(net, X, y, loss, v)) < 1e-6


@pytest.mark.parametrize("output", ["identity", "sigmoid", "softmax"])
@pytest.mark.parametrize("loss", ["mse", "huber"])
def test_regression_losses_with_every_output(output, loss):
    rng = np.random.default_rng(1)
    net = ffnn.mlp([3, 6, 3], "tanh", output=output, rng=rng, dtype=np.float64)
    X, y = rng.standard_normal((N, 3)), rng.random((N, 3))
    v = rng.standard_normal(net.n_params)
    assert _rel(hvp(net, X, y, loss, v), _fd_hvp(net, X, y, loss, v)) < 1e-6


def test_loss_hvp_z_softmax_regression_term():
    """The softmax second-order term, checked against differences of δ = ∂L/∂z."""
    from ffnn.core.activations import get_output_activation
    from ffnn.lab.hessian import _regression_softmax_hvp_z

    rng = np.random.default_rng(2)
    z, u, y = rng.standard_normal((5, 4)), rng.standard_normal((5, 4)), rng.random((5, 4))
    out = get_output_activation("softmax")
    loss = ffnn.get_loss("mse")
    eps = 1e-6
    fd = (loss.delta(z + eps * u, y, out) - loss.delta(z - eps * u, y, out)) / (2 * eps)
    assert _rel(_regression_softmax_hvp_z(loss, z, y, out, u), fd) < 1e-7
    assert _rel(loss_hvp_z(loss, z, y, out, u), fd) < 1e-7


def _dag_net(rng):
    """Shared Dense layer, skip connection (Add), Concat with a θ-free input branch."""
    x = Input(3)
    d = Dense(4)
    h = Act("tanh")(d(x))
    h2 = Act("sin")(Dense(4)(h))
    s = Add()(h, h2)
    c = Concat()(s, Act("gelu")(d(x)), Act("tanh")(x))
    return Network(x, Dense(2)(c), output="softmax", rng=rng, dtype=np.float64)


def test_dag_shared_layers_full_hessian_symmetric_and_consistent():
    rng = np.random.default_rng(3)
    net = _dag_net(rng)
    X, y = rng.standard_normal((N, 3)), rng.integers(0, 2, N)
    H = full_hessian(net, X, y, "cross_entropy")
    assert H.shape == (net.n_params, net.n_params)
    assert np.abs(H - H.T).max() < 1e-12 * np.abs(H).max()
    v = rng.standard_normal(net.n_params)
    fd = _fd_hvp(net, X, y, "cross_entropy", v)
    assert _rel(H @ v, fd) < 1e-6
    # Hessian by finite differences of gradients, column by column, on a few columns
    for k in [0, 7, net.n_params - 1]:
        e = np.zeros(net.n_params)
        e[k] = 1
        assert _rel(H[:, k], _fd_hvp(net, X, y, "cross_entropy", e)) < 1e-6


def test_batches_average_to_full_batch_and_gradient():
    rng = np.random.default_rng(4)
    net = _dag_net(rng)
    X, y = rng.standard_normal((23, 3)), rng.integers(0, 2, 23)
    v = rng.standard_normal(net.n_params)
    full = Curvature(net, X, y, "cross_entropy")
    chunked = Curvature(net, X, y, "cross_entropy", batch_size=5)
    assert _rel(chunked.hvp(v), full.hvp(v)) < 1e-12
    L, g = net.loss_and_grad(X, y, "cross_entropy")
    assert abs(chunked.value - L) < 1e-12
    assert _rel(chunked.gradient, g) < 1e-12


def test_ntk_parameterization():
    rng = np.random.default_rng(5)
    init = Init(C_b=0.1, parameterization="ntk")
    net = ffnn.mlp([3, 6, 2], "tanh", init=init, rng=rng, dtype=np.float64)
    X, y = rng.standard_normal((N, 3)), rng.standard_normal((N, 2))
    v = rng.standard_normal(net.n_params)
    assert _rel(hvp(net, X, y, "mse", v), _fd_hvp(net, X, y, "mse", v)) < 1e-6


def test_linear_least_squares_hessian_is_exact():
    """For a linear model z = W x + b and MSE, H = 2/n [X 1]ᵀ [X 1] (independent of θ)."""
    rng = np.random.default_rng(6)
    net = ffnn.mlp([4, 1], rng=rng, dtype=np.float64)
    X, y = rng.standard_normal((9, 4)), rng.standard_normal(9)
    A = np.hstack([X, np.ones((9, 1))])
    assert np.allclose(full_hessian(net, X, y, "mse"), 2 / 9 * A.T @ A, atol=1e-13)


def test_gauss_newton_psd_and_equal_to_jacobian_form():
    rng = np.random.default_rng(7)
    net = ffnn.mlp([3, 5, 3], "tanh", output="softmax", rng=rng, dtype=np.float64)
    X, y = rng.standard_normal((N, 3)), rng.integers(0, 3, N)
    G = full_gauss_newton(net, X, y, "cross_entropy")
    assert np.abs(G - G.T).max() < 1e-12
    assert np.linalg.eigvalsh(G).min() > -1e-12
    # J by columns of R{z}: G = Σ_i J_iᵀ H_z,i J_i
    C = Curvature(net, X, y, "cross_entropy")
    J = np.stack([C.jvp(e) for e in np.eye(net.n_params)], axis=-1)  # (n, K, p)
    z, _ = net.forward(X)
    HzJ = np.stack(
        [loss_hvp_z(C.loss, z, y, net.output, J[:, :, k]) for k in range(net.n_params)], -1
    )
    assert np.allclose(np.einsum("nkp,nkq->pq", J, HzJ), G, atol=1e-13)
    v = rng.standard_normal(net.n_params)
    assert _rel(gnvp(net, X, y, "cross_entropy", v), G @ v) < 1e-12
    # for a linear model with MSE the Gauss-Newton matrix is the Hessian
    lin = ffnn.mlp([3, 2], rng=rng, dtype=np.float64)
    Y = rng.standard_normal((N, 2))
    assert np.allclose(full_gauss_newton(lin, X, Y, "mse"), full_hessian(lin, X, Y, "mse"))


def test_operators_and_blocks():
    rng = np.random.default_rng(8)
    net = ffnn.mlp([3, 4, 1], "tanh", rng=rng)  # float32
    X, y = rng.standard_normal((N, 3)), rng.standard_normal(N)
    op = hessian_operator(net, X, y, "mse")
    assert op.shape == (net.n_params, net.n_params) and op.dtype == np.float64
    V = rng.standard_normal((net.n_params, 3))
    HV = op @ V
    assert HV.shape == (net.n_params, 3)
    assert _rel(HV[:, 1], op @ V[:, 1]) < 1e-12
    assert op.curvature.n_products == 4
    gop = gauss_newton_operator(net, X, y, "mse")
    assert (gop @ V[:, 0]).shape == (net.n_params,)


def test_user_errors():
    rng = np.random.default_rng(9)
    net = ffnn.mlp([3, 4, 2], "tanh", output="identity", rng=rng)
    X, y = rng.standard_normal((N, 3)), rng.standard_normal((N, 2))
    with pytest.raises(FFNNError, match="softmax"):
        Curvature(net, X, y, "cross_entropy")
    C = Curvature(net, X, y, "mse")
    with pytest.raises(FFNNError, match="shape"):
        C.hvp(np.ones(3))
    with pytest.raises(FFNNError, match="rows"):
        Curvature(net, X, y[:5], "mse")
    big = ffnn.mlp([100, 100, 1], rng=0)
    with pytest.raises(FFNNError, match="hessian_operator"):
        full_hessian(big, np.zeros((2, 100)), np.zeros(2), "mse")


@pytest.mark.parametrize("act", ["tanh", "relu"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_one_off_buffers_are_reused_safely(act, dtype):
    """hvp() reuses per-thread scratch: results equal a kept Curvature's bit for bit, never
    alias a previous result, and leave the network untouched."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((N, 3)).astype(dtype)
    y = rng.integers(0, 2, N)
    nets = [
        ffnn.mlp([3, 5, 4, 2], act, output="softmax", init=Init(C_b=0.1), rng=s, dtype=dtype)
        for s in (0, 1)
    ]
    thetas = [net.theta.copy() for net in nets]
    vs = [rng.standard_normal(nets[0].n_params).astype(dtype) for _ in range(2)]
    first = hvp(nets[0], X, y, "cross_entropy", vs[0])
    kept = first.copy()
    for net in nets:
        for v in vs:
            ref = Curvature(net, X, y, "cross_entropy").hvp(v)
            np.testing.assert_array_equal(hvp(net, X, y, "cross_entropy", v), ref)
    np.testing.assert_array_equal(first, kept)  # a returned product is never overwritten
    # another batch size and a net of another shape in between
    hvp(nets[0], X[:5], y[:5], "cross_entropy", vs[0])
    hvp(
        ffnn.mlp([3, 2], "relu", dtype=np.float64),
        X,
        rng.standard_normal((N, 2)),
        "mse",
        np.ones(8),
    )
    np.testing.assert_array_equal(
        hvp(nets[1], X, y, "cross_entropy", vs[1]),
        Curvature(nets[1], X, y, "cross_entropy").hvp(vs[1]),
    )
    for net, theta in zip(nets, thetas, strict=True):
        np.testing.assert_array_equal(net.theta, theta)  # the one-off path does not copy θ
        assert net.params[0][0].base is not None  # W still a view into θ
    # a one-off product is the same as before a kept Curvature's products and a gradient
    C = Curvature(nets[0], X, y, "cross_entropy")
    C.hvp(vs[1])
    nets[0].loss_and_grad(X, y, "cross_entropy")
    np.testing.assert_array_equal(C.hvp(vs[0]), kept)


def test_one_off_buffers_follow_the_activations():
    """The one-off buffers of a relu net work in place: a tanh net of the same widths in turn
    (whose z must be kept) gets buffers of its own, and both equal a kept Curvature's."""
    rng = np.random.default_rng(8)
    X = rng.standard_normal((N, 3))
    y = rng.integers(0, 2, N)
    nets = [ffnn.mlp([3, 5, 4, 2], a, output="softmax", rng=0, dtype=np.float64)
            for a in ("relu", "tanh", "leaky_relu")]  # fmt: skip
    for _ in range(2):
        for net in nets:
            v = rng.standard_normal(net.n_params)
            ref = Curvature(net, X, y, "cross_entropy").hvp(v)
            np.testing.assert_array_equal(hvp(net, X, y, "cross_entropy", v), ref)


def test_one_off_in_place_buffers_on_a_dag():
    """The in-place buffers where a relu's z has two readers, after relu after relu, with
    leaky relus of α < 0 (kept apart) and α > 0 (in place), and a relu as the output node."""
    x = Input(3)
    d = Dense(5)(x)
    fan = Add()(Act("relu")(d), Act("tanh")(d))
    twice = Act("relu")(Act("relu")(Dense(4)(fan)))
    neg = Act(BUILTIN_ACTIVATIONS["leaky_relu"](alpha=-0.5))(Dense(4)(twice))
    pos = Act("leaky_relu")(Dense(4)(neg))
    out = Act("relu")(Dense(2)(Concat()(pos, twice)))
    net = Network(x, out, rng=2, dtype=np.float64, init=Init(C_b=0.1))
    ws = Workspace(net, 11, in_place=True)
    shared = [i for i, ps in enumerate(net._parents) if ps and ws.values[i] is ws.values[ps[0]]]
    assert len(shared) == 4  # the two relus after Add, the leaky relu of α > 0, the output
    rng = np.random.default_rng(9)
    X, t = rng.standard_normal((11, 3)), rng.standard_normal((11, 2))
    for _ in range(2):
        v = rng.standard_normal(net.n_params)
        ref = Curvature(net, X, t, "mse").hvp(v)
        np.testing.assert_array_equal(hvp(net, X, t, "mse", v), ref)
        assert _rel(ref, _fd_hvp(net, X, t, "mse", v)) < 1e-6


def test_chunked_jvp_and_products_with_reused_scratch():
    """Chunks share the R-pass scratch arrays; jvp must still return every chunk's rows."""
    rng = np.random.default_rng(6)
    X = rng.standard_normal((N, 3))
    y = rng.standard_normal((N, 2))
    net = ffnn.mlp([3, 6, 2], "tanh", rng=0, dtype=np.float64)
    v = rng.standard_normal(net.n_params)
    whole = Curvature(net, X, y, "mse")
    parts = Curvature(net, X, y, "mse", batch_size=5)  # chunks of 5, 5 and 2
    np.testing.assert_allclose(parts.jvp(v), whole.jvp(v), rtol=1e-12, atol=1e-12)
    for _ in range(2):  # repeated products reuse the scratch
        np.testing.assert_allclose(parts.hvp(v), whole.hvp(v), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(parts.gnvp(v), whole.gnvp(v), rtol=1e-10, atol=1e-12)


def test_one_off_on_a_dag_with_shared_layer_equals_kept_curvature():
    """The one-off path runs the forward in a workspace: Add, Concat and a shared Dense too."""
    x = Input(3)
    shared = Dense(5)
    h = Act("relu")(shared(x))
    h2 = Act("tanh")(shared(Act("relu")(Dense(3)(x))))
    y = Dense(2)(Concat()(Add()(h, h2), Dense(4)(x)))
    net = Network(
        x, y, output="softmax", rng=0, dtype=np.float64, init=Init(parameterization="ntk", C_b=0.1)
    )
    rng = np.random.default_rng(7)
    X = rng.standard_normal((9, 3))
    t = rng.integers(0, 2, 9)
    for _ in range(2):
        v = rng.standard_normal(net.n_params)
        ref = Curvature(net, X, t, "cross_entropy").hvp(v)
        np.testing.assert_array_equal(hvp(net, X, t, "cross_entropy", v), ref)
        assert _rel(ref, _fd_hvp(net, X, t, "cross_entropy", v)) < 1e-6
