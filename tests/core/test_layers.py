"""Layers one at a time: forward/backward against finite differences, shapes, build errors."""

import numpy as np
import pytest

from ffnn import Act, Add, Concat, Dense, FFNNError, Input, Network, gradient_check

B = 4


def _params(rng, n_out, n_in, s_W=1.0, s_b=1.0):
    return rng.standard_normal((n_out, n_in)), rng.standard_normal(n_out), s_W, s_b


@pytest.mark.parametrize("scales", [(1.0, 1.0), (0.7, 0.1)])
def test_dense_forward_and_backward(scales, fd_grad, rel_error):
    rng = np.random.default_rng(0)
    s_W, s_b = scales
    W, b, _, _ = _params(rng, 3, 5)
    x = rng.standard_normal((B, 5))
    g = rng.standard_normal((B, 3))
    z, cache = Dense.forward((W, b, s_W, s_b), [x])
    np.testing.assert_allclose(z, s_W * x @ W.T + s_b * b)  # z = s_W W x + s_b b, rows
    gW, gb = np.empty_like(W), np.empty_like(b)
    (dx,) = Dense.backward((W, b, s_W, s_b), cache, g, (gW, gb), False, [True])

    def L(W_, b_, x_):
        return np.sum(g * Dense.forward((W_, b_, s_W, s_b), [x_])[0])

    assert rel_error(gW, fd_grad(lambda w: L(w, b, x), W)) < 1e-8
    assert rel_error(gb, fd_grad(lambda c: L(W, c, x), b)) < 1e-8
    assert rel_error(dx, fd_grad(lambda v: L(W, b, v), x)) < 1e-8
    # accumulate adds to what is there (weight sharing); need=[False] sends nothing
    gW2, gb2 = gW.copy(), gb.copy()
    assert Dense.backward((W, b, s_W, s_b), cache, g, (gW2, gb2), True, [False]) == [None]
    np.testing.assert_allclose(gW2, 2 * gW)
    np.testing.assert_allclose(gb2, 2 * gb)


def test_act_add_concat_backward_against_finite_differences(fd_grad, rel_error):
    rng = np.random.default_rng(1)
    x1, x2 = rng.standard_normal((2, B, 3))
    x3 = rng.standard_normal((B, 2))
    g3 = rng.standard_normal((B, 3))
    g8 = rng.standard_normal((B, 8))

    act = Act("tanh")
    y, cache = act.forward(None, [x1])
    (dx,) = act.backward(None, cache, g3, None, False, [True])
    assert rel_error(dx, fd_grad(lambda v: np.sum(g3 * act.forward(None, [v])[0]), x1)) < 1e-8

    add = Add()
    y, cache = add.forward(None, [x1, x2, x1])
    np.testing.assert_allclose(y, 2 * x1 + x2)
    sends = add.backward(None, cache, g3, None, False, [True, False, True])
    assert sends[1] is None
    np.testing.assert_array_equal(sends[0], g3)

    cat = Concat()
    y, cache = cat.forward(None, [x1, x3, x2])
    np.testing.assert_array_equal(y, np.hstack([x1, x3, x2]))
    parts = cat.backward(None, cache, g8, None, False, [True, True, True])
    np.testing.assert_array_equal(parts[0], g8[:, :3])
    np.testing.assert_array_equal(parts[1], g8[:, 3:5])
    np.testing.assert_array_equal(parts[2], g8[:, 5:])


def test_layers_never_write_into_the_message_they_receive():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((B, 3))
    g = rng.standard_normal((B, 3))
    keep = g.copy()
    W, b, _, _ = _params(rng, 3, 3)
    for s_W in (1.0, 0.5):
        params = (W, b, s_W, 0.3)
        _, cache = Dense.forward(params, [x])
        Dense.backward(params, cache, g, (np.empty_like(W), np.empty_like(b)), False, [True])
    for layer in (Act("relu"), Act("sigmoid"), Act("gelu")):
        _, cache = layer.forward(None, [x])
        layer.backward(None, cache, g, None, False, [True])
    Add().backward(None, None, g, None, False, [True, True])
    np.testing.assert_array_equal(g, keep)


def test_shared_concat_with_different_widths():
    """A Concat layer called twice on inputs of different widths splits each call correctly."""
    x = Input(3)
    cat = Concat()
    u = cat(Dense(2)(x), x)  # width 5
    v = cat(Dense(4)(x), x)  # width 7
    assert (u.dim, v.dim) == (5, 7)
    net = Network(x, Dense(1)(Add()(Dense(3)(u), Dense(3)(v))), dtype=np.float64)
    X = np.random.default_rng(3).standard_normal((5, 3))
    z, trace = net.forward(X)
    back = net.backward(trace, np.ones_like(z), input_grad=True)
    assert back.input.shape == X.shape
    y = np.random.default_rng(4).standard_normal((5, 1))
    assert gradient_check(net, X, y, "mse").max_error < 1e-6


def test_node_widths_are_predicted_at_build():
    x = Input(4)
    h = Dense(7)(x)
    a = Act("relu")(h)
    s = Add()(a, h, a)
    c = Concat()(s, x, a)
    assert (h.dim, a.dim, s.dim, c.dim) == (7, 7, 7, 18)
    net = Network(x, Dense(2)(c))
    z, trace = net.forward(np.zeros((3, 4)))
    for node, value in zip(net.nodes, trace.values, strict=True):
        assert value.shape == (3, node.dim), node


def test_build_errors_name_the_layer_and_the_widths():
    x = Input(3)
    h = Dense(5, name="hidden")(x)
    with pytest.raises(FFNNError, match=r"layer 'skip' adds inputs of widths \[5, 3\]"):
        Add(name="skip")(h, x)
    with pytest.raises(FFNNError, match="'skip2' adds two or more inputs"):
        Add(name="skip2")(h)
    with pytest.raises(FFNNError, match="concatenates two or more"):
        Concat()(h)
    with pytest.raises(FFNNError, match="'d' takes one input, got 2"):
        Dense(2, name="d")(h, x)
    with pytest.raises(FFNNError, match="'act' takes one input"):
        Act("relu", name="act")(h, h)
    shared = Dense(2, name="shared")
    shared(h)
    with pytest.raises(FFNNError, match=r"'shared' was built for 5 inputs.*width 3"):
        shared(x)
    with pytest.raises(FFNNError, match="must be called on graph nodes.*ndarray"):
        Dense(2)(np.zeros((2, 3)))
    for bad in (0, -1, 2.5, "3"):
        with pytest.raises(FFNNError, match="positive integer"):
            Dense(bad)
        with pytest.raises(FFNNError, match="positive integer"):
            Input(bad)


def test_layer_configs():
    d = Dense(3, init="lecun", name="d")
    assert d.config() == {
        "kind": "dense",
        "name": "d",
        "n_out": 3,
        "init": {"scheme": "lecun", "distribution": "normal", "C_b": None,
                 "parameterization": "standard"},
    }  # fmt: skip
    from ffnn.core.activations import ACTIVATIONS

    a = Act(ACTIVATIONS["leaky_relu"](0.3), name="a")
    assert a.config() == {
        "kind": "act",
        "name": "a",
        "activation": "leaky_relu",
        "activation_params": [0.3],
    }
    assert Add(name="s").config() == {"kind": "add", "name": "s"}


def _layer_cases(rng):
    """(layer, P(ε) maker or None, input widths) for every built-in kind."""
    W, b = rng.standard_normal((3, 4)), rng.standard_normal(3)
    VW, Vb = rng.standard_normal((3, 4)), rng.standard_normal(3)
    dense = (Dense(3), lambda e: (W + e * VW, b + e * Vb, 0.7, 0.2), (VW, Vb), [4])
    return [
        dense,
        (Act("tanh"), None, None, [4]),
        (Act("relu"), None, None, [4]),
        (Add(), None, None, [4, 4]),
        (Concat(), None, None, [4, 2]),
    ]


@pytest.mark.parametrize("case", range(5))
def test_jvp_and_r_term_are_the_derivatives_of_forward_and_vjp(case, rel_error):
    """jvp = d/dε forward(P + εV, x + ε rx); vjp(R{g}) + r_term = d/dε vjp(P + εV, x + ε rx,
    g + ε rg), messages and parameter gradient alike (central differences, float64)."""
    rng = np.random.default_rng(case)
    layer, P_at, V, dims = _layer_cases(rng)[case]
    xs = [rng.standard_normal((B, d)) for d in dims]
    rx = [rng.standard_normal((B, d)) for d in dims]
    rx[0] = None if len(dims) > 1 else rx[0]  # an input that does not depend on θ
    P_at = P_at or (lambda e: None)
    y, cache = layer.forward(P_at(0.0), xs)
    g, rg = rng.standard_normal((2, *y.shape))
    need = [True] * len(dims)

    def at(e):
        moved = [x if r is None else x + e * r for x, r in zip(xs, rx, strict=True)]
        y_e, c_e = layer.forward(P_at(e), moved)
        grads = None if V is None else tuple(np.zeros_like(v) for v in V)
        sends = layer.vjp(P_at(e), c_e, g + e * rg, grads, False, need)
        return y_e, sends, grads

    h = 1e-6
    (yp, sp, gp), (ym, sm, gm) = at(h), at(-h)
    Ry = layer.jvp(P_at(0.0), cache, rx, V)
    assert rel_error(Ry, (yp - ym) / (2 * h)) < 1e-7
    rgrads = None if V is None else tuple(np.zeros_like(v) for v in V)
    lin = layer.vjp(P_at(0.0), cache, rg, rgrads, True, need)
    extra = layer.r_term(P_at(0.0), cache, g, rx, V, rgrads, need)
    for a, e, p, m in zip(lin, extra, sp, sm, strict=True):
        R = a if e is None else a + e
        assert rel_error(R, (p - m) / (2 * h)) < 1e-7
    for r, p, m in zip(rgrads or (), gp or (), gm or (), strict=True):
        assert rel_error(r, (p - m) / (2 * h)) < 1e-7


def test_dense_on_a_sparse_input_equals_the_dense_input():
    """z^(1) = X Wᵀ + b and ∂L/∂W^(1) = δᵀX computed on a SciPy sparse X (standard and NTK
    scales) equal the dense computation."""
    import scipy.sparse as sp

    from ffnn.core.graph import mlp
    from ffnn.core.init import Init

    X = sp.random(9, 6, density=0.3, random_state=0, format="csr")
    y = np.random.default_rng(0).normal(size=(9, 2))
    for parameterization in ("standard", "ntk"):
        init = Init("he", parameterization=parameterization)
        net = mlp([6, 4, 2], "tanh", init=init, rng=1, dtype="float64")
        Ls, gs = net.loss_and_grad(X, y, "mse")
        gs = gs.copy()
        Ld, gd = net.loss_and_grad(X.toarray(), y, "mse")
        np.testing.assert_allclose(Ls, Ld, rtol=1e-14)
        np.testing.assert_allclose(gs, gd, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("scales", [(1.0, 1.0), (0.7, 0.0), (0.4, 0.3)])
def test_dense_ntk_gram_equals_the_generic_rule_and_adds_into_out(scales):
    """Dense's Gram-matrix form of Σ_P ∂(seed a)/∂P(x_i)·∂(seed b)/∂P(x'_j) equals the generic
    per-example-rows rule, per pair, summed into out[0], and added to what out held."""
    from ffnn.core.layers import Layer

    rng = np.random.default_rng(4)
    layer = Dense(3)
    layer.bind([5])
    P = (rng.standard_normal((3, 5)), rng.standard_normal(3), *scales)
    xu, xv = rng.standard_normal((6, 5)), rng.standard_normal((4, 5))
    du, dv = [rng.standard_normal((6, 3)) for _ in range(2)], [rng.standard_normal((4, 3))] * 2
    pairs = [(0, 0), (0, 1), (1, 1)]
    ref = Layer.ntk_gram(layer, P, xu, du, xv, dv, pairs)
    assert ref.shape == (3, 6, 4)
    np.testing.assert_allclose(layer.ntk_gram(P, xu, du, xv, dv, pairs), ref, atol=1e-12)
    out, scratch = np.ones((1, 6, 4)), np.full((2, 6, 4), np.nan)
    got = layer.ntk_gram(P, xu, du, xv, dv, pairs, out, scratch)
    assert got is out
    np.testing.assert_allclose(out[0], 1 + ref.sum(axis=0), atol=1e-12)
    out = np.ones((1, 6, 4))
    np.testing.assert_allclose(Layer.ntk_gram(layer, P, xu, du, xv, dv, pairs, out), out)
    np.testing.assert_allclose(out[0], 1 + ref.sum(axis=0), atol=1e-12)
    one = [rng.standard_normal((6, 1))], [rng.standard_normal((4, 1))]  # an outer product
    layer1 = Dense(1)
    layer1.bind([5])
    P1 = (rng.standard_normal((1, 5)), rng.standard_normal(1), *scales)
    np.testing.assert_allclose(
        layer1.ntk_gram(P1, xu, one[0], xv, one[1], [(0, 0)]),
        Layer.ntk_gram(layer1, P1, xu, one[0], xv, one[1], [(0, 0)]),
        atol=1e-12,
    )
