"""Initialization: weight statistics, the NTK parameterization, seeds, and bad specifications."""

import math

import numpy as np
import pytest

from ffnn import Act, Dense, FFNNError, Init, Input, Network, mlp

N_IN, N_OUT = 400, 300


def _layer(init: Init, rng=0) -> Network:
    x = Input(N_IN)
    return Network(x, Dense(N_OUT)(x), init=init, rng=rng, dtype=np.float64)


@pytest.mark.parametrize("distribution", ["normal", "uniform"])
@pytest.mark.parametrize(
    "scheme,C_W",
    [
        ("he", 2.0),
        ("kaiming", 2.0),
        ("lecun", 1.0),
        ("glorot", 2.0 * N_IN / (N_IN + N_OUT)),
        ("xavier", 2.0 * N_IN / (N_IN + N_OUT)),
        (0.5, 0.5),
    ],
)
def test_weight_variance_is_C_W_over_n_in(scheme, C_W, distribution):
    net = _layer(Init(scheme, distribution))
    W, b = net.params[0]
    var = C_W / N_IN
    # 120 000 draws: the sample variance is within 3 % with overwhelming probability
    assert W.var() == pytest.approx(var, rel=0.03)
    assert abs(W.mean()) < 4 * math.sqrt(var / W.size)
    np.testing.assert_array_equal(b, 0)  # C_b = 0 by default in the standard parameterization
    if distribution == "uniform":
        assert np.abs(W).max() <= math.sqrt(3 * var)
        assert np.abs(W).max() > 0.99 * math.sqrt(3 * var)
    else:  # a Gaussian has kurtosis 3, a uniform 1.8
        assert np.mean(W**4) / W.var() ** 2 == pytest.approx(3.0, rel=0.05)


def test_C_W_formulas():
    for n_in, n_out in [(3, 5), (10, 1), (1, 10)]:
        assert Init("he").C_W(n_in, n_out) == Init("kaiming").C_W(n_in, n_out) == 2.0
        assert Init("lecun").C_W(n_in, n_out) == 1.0
        # Glorot: Var W = 2 / (n_in + n_out)
        assert Init("glorot").C_W(n_in, n_out) / n_in == pytest.approx(2 / (n_in + n_out))
        assert Init("xavier").C_W(n_in, n_out) == Init("glorot").C_W(n_in, n_out)
        assert Init(0.7).C_W(n_in, n_out) == 0.7


def test_bias_variance():
    net = _layer(Init("he", C_b=0.25))
    b = net.params[0][1]
    assert b.var() == pytest.approx(0.25, rel=0.25)  # 300 draws
    assert Init(parameterization="ntk").bias_variance() == 0.01
    assert Init().bias_variance() == 0.0


@pytest.mark.parametrize("scheme", ["he", "lecun", "glorot"])
def test_ntk_parameterization_draws_unit_variance_and_scales_forward(scheme):
    init = Init(scheme, parameterization="ntk", C_b=0.09)
    net = _layer(init)
    W, b = net.params[0]
    assert W.var() == pytest.approx(1.0, rel=0.03)
    assert b.var() == pytest.approx(1.0, rel=0.25)
    s_W, s_b = net._scales[0]
    assert s_W == pytest.approx(math.sqrt(init.C_W(N_IN, N_OUT) / N_IN))
    assert s_b == pytest.approx(0.3)
    X = np.random.default_rng(1).standard_normal((3, N_IN))
    np.testing.assert_allclose(net.forward(X)[0], s_W * X @ W.T + s_b * b)


def test_ntk_and_standard_layers_agree_exactly_on_the_same_draws():
    """With equal C_b both draw W then b from the same normals, so z is the same."""
    X = np.random.default_rng(1).standard_normal((5, N_IN))
    std = _layer(Init("he", C_b=0.1), rng=7)
    ntk = _layer(Init("he", C_b=0.1, parameterization="ntk"), rng=7)
    np.testing.assert_allclose(ntk.forward(X)[0], std.forward(X)[0], rtol=1e-12, atol=1e-12)
    assert not np.allclose(ntk.theta, std.theta)


def test_ntk_gives_the_same_z_variance_as_standard_at_init():
    """Var z^(l) layer by layer, averaged over seeds, in a deep tanh network of width 256."""
    X = np.random.default_rng(0).standard_normal((40, 10))
    widths, acts = [10, 256, 256, 256, 256], ["tanh", "tanh", "tanh"]

    def variances(parameterization, seeds):
        out = []
        for seed in seeds:
            net = mlp(widths, acts, init=Init("lecun", C_b=0.05, parameterization=parameterization),
                      rng=seed, dtype=np.float64)  # fmt: skip
            out.append([z.var() for z in net.forward(X)[1].z])
        return np.mean(out, axis=0)

    # different seeds: the claim is about distributions, not about equal draws
    v_std, v_ntk = variances("standard", range(4)), variances("ntk", range(10, 14))
    np.testing.assert_allclose(v_ntk, v_std, rtol=0.2)
    # and both match the first layer's exact expectation C_W ‖x‖²/n_0 + C_b
    expected = np.mean(np.sum(X**2, axis=1)) / 10 + 0.05
    assert v_std[0] == pytest.approx(expected, rel=0.1)
    assert v_ntk[0] == pytest.approx(expected, rel=0.1)


def test_same_seed_same_theta():
    a = mlp([4, 8, 3], rng=11)
    b = mlp([4, 8, 3], rng=11)
    c = mlp([4, 8, 3], rng=12)
    np.testing.assert_array_equal(a.theta, b.theta)
    assert not np.array_equal(a.theta, c.theta)
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    np.testing.assert_array_equal(mlp([4, 8, 3], rng=g1).theta, mlp([4, 8, 3], rng=g2).theta)
    before = a.theta.copy()
    a.initialize(99)
    assert not np.array_equal(a.theta, before)
    a.initialize(11)
    np.testing.assert_array_equal(a.theta, before)
    # float32 and float64 networks draw the same numbers
    np.testing.assert_allclose(mlp([4, 8, 3], rng=11, dtype=np.float64).theta, before, rtol=1e-6)


def test_a_layer_init_overrides_the_network_default():
    x = Input(200)
    h = Act("tanh")(Dense(200, init=Init("lecun", "uniform"))(x))
    net = Network(x, Dense(200)(h), init="he", rng=0)
    (W1, _), (W2, _) = net.params
    assert W1.var() == pytest.approx(1 / 200, rel=0.05)
    assert np.abs(W1).max() <= math.sqrt(3 / 200)
    assert W2.var() == pytest.approx(2 / 200, rel=0.05)
    assert [i.scheme for i in net.inits] == ["lecun", "he"]
    assert Network(x, Dense(3, init=4.0)(x)).inits[0].scheme == 4.0


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"scheme": "orthogonal"}, "unknown initialization 'orthogonal'"),
        ({"scheme": -1.0}, "C_W must be positive"),
        ({"scheme": 0}, "C_W must be positive"),
        ({"distribution": "cauchy"}, "unknown distribution 'cauchy'"),
        ({"parameterization": "mup"}, "unknown parameterization 'mup'"),
        ({"C_b": -0.1}, "C_b must be >= 0"),
    ],
)
def test_bad_init_specifications(kwargs, match):
    with pytest.raises(FFNNError, match=match):
        Init(**kwargs)


def test_bad_init_names_through_the_builders():
    with pytest.raises(FFNNError, match="unknown initialization 'zeros'"):
        mlp([2, 3, 1], init="zeros")
    with pytest.raises(FFNNError, match="unknown initialization"):
        Dense(3, init="nope")
