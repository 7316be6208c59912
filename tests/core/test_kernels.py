"""The kernel sweep (ffnn.core.kernels) against Monte Carlo over finite random networks.

Each analytic kernel is compared with the average over many random networks of the same graph:
the NNGP kernel K with E[z(x) z(x')] of the output units, the NTK Θ with the mean empirical NTK
∂z(x)/∂θ · ∂z(x')/∂θ. Tolerances: 4 standard errors of the Monte Carlo mean plus a finite-width
allowance (the bias of a width-n network is O(1/n) relative).
"""

import numpy as np
import pytest

from ffnn import Act, Add, Concat, Dense, Init, Input, Network, mlp
from ffnn.core.kernels import kernel_sweep, nngp_ntk
from ffnn.core.layers import Layer
from ffnn.errors import FFNNError

X = np.random.default_rng(7).standard_normal((5, 3))


def _empirical_ntk(net, X):
    """Θ = G Gᵀ from the per-example gradients G: (n, p) of the single output z."""
    G = []
    for x in X:
        z, trace = net.forward(x[None])
        G.append(net.backward(trace, np.ones_like(z)).theta.copy())
    G = np.array(G)
    return G @ G.T


def _monte_carlo(net, X, n_nets, ntk):
    """Mean and standard error over networks of Z Zᵀ / k (Z: (n, k) outputs), or of the NTK."""
    draws = []
    for s in range(n_nets):
        net.initialize(s)
        if ntk:
            draws.append(_empirical_ntk(net, X))
        else:
            Z = net.forward(X)[0]
            draws.append(Z @ Z.T / Z.shape[1])
    draws = np.array(draws)
    return draws.mean(0), draws.std(0, ddof=1) / np.sqrt(n_nets)


def _agrees(analytic, mean, se, width, bias=2.0):
    """|MC mean − analytic| <= 4 SE + bias/width · max|analytic|, entry-wise."""
    tol = 4 * se + bias / width * np.abs(analytic).max()
    return np.abs(mean - analytic).max() / np.abs(analytic).max(), bool(
        np.all(np.abs(mean - analytic) <= tol)
    )


def _chain(act, width, k_out, init):
    return mlp([3, width, width, k_out], act, init=init, rng=0, dtype=np.float64)


@pytest.mark.parametrize("act", ["relu", "erf", "tanh"])
def test_chain_nngp_matches_monte_carlo(act):
    init = Init(1.6, C_b=0.1)
    net = _chain(act, 256, 64, init)
    K, _ = nngp_ntk(net, X)
    mean, se = _monte_carlo(net, X, 200, ntk=False)
    rel, ok = _agrees(K, mean, se, 256)
    assert ok, rel


@pytest.mark.parametrize("act", ["relu", "erf", "tanh"])
def test_chain_ntk_matches_monte_carlo(act):
    net = _chain(act, 256, 1, Init(1.6, C_b=0.1, parameterization="ntk"))
    _, T = nngp_ntk(net, X)
    mean, se = _monte_carlo(net, X, 80, ntk=True)
    rel, ok = _agrees(T, mean, se, 256)
    assert ok, rel


def test_standard_parameterization_ntk_is_the_expected_one_at_these_widths():
    net = _chain("tanh", 128, 1, Init(1.6, C_b=0.1))
    _, T = nngp_ntk(net, X)
    mean, se = _monte_carlo(net, X, 80, ntk=True)
    rel, ok = _agrees(T, mean, se, 128)
    assert ok, rel
    T_ntk = nngp_ntk(_chain("tanh", 128, 1, Init(1.6, C_b=0.1, parameterization="ntk")), X)[1]
    assert np.abs(T).max() > 30 * np.abs(T_ntk).max()  # grows with width: ≈ n_in / C_W


def _dag(n, k_out, init):
    """A residual block, a Concat of two branches of widths n and n/2, a sum of two outputs."""
    x = Input(3)
    h0 = Dense(n)(x)
    h1 = Add()(h0, Dense(n)(Act("relu")(h0)))  # residual block: the branch ends in a fresh Dense
    c = Concat()(Act("tanh")(h1), Act("relu")(Dense(n // 2)(x)))
    out = Add()(Dense(k_out)(c), Dense(k_out)(Act("erf")(h1)))
    return Network(x, out, init=init, rng=0, dtype=np.float64)


def test_skip_from_the_input_matches_monte_carlo():
    """x + Dense(x): the kernel of the input (x·x'/n_0, an average over its units) plus the
    Dense one; exact in expectation at any width when only Dense layers follow."""
    x = Input(3)
    net = Network(x, Dense(64)(Add()(x, Dense(3)(x))), init=Init(1.6, C_b=0.1), dtype=np.float64)
    K, _ = nngp_ntk(net, X)
    mean, se = _monte_carlo(net, X, 200, ntk=False)
    rel, ok = _agrees(K, mean, se, np.inf)
    assert ok, rel


@pytest.mark.parametrize("ntk", [False, True], ids=["nngp", "ntk"])
def test_dag_with_skips_and_concat_matches_monte_carlo(ntk):
    init = Init(1.6, C_b=0.1, parameterization="ntk" if ntk else "standard")
    net = _dag(256, 1 if ntk else 64, init)
    K, T = nngp_ntk(net, X)
    mean, se = _monte_carlo(net, X, 80 if ntk else 200, ntk=ntk)
    rel, ok = _agrees(T if ntk else K, mean, se, 256)
    assert ok, rel


def test_node_kernels_in_topological_order():
    net = _dag(8, 1, Init())
    ks = kernel_sweep(net, X)
    assert len(ks) == len(net.nodes)
    assert [k.width for k in ks] == [n.dim for n in net.nodes]
    np.testing.assert_allclose(ks[0].K12, X @ X.T / 3)
    for k in ks:  # the diagonals are the diagonal of K(X, X)
        np.testing.assert_allclose(np.diag(k.K12), k.K11, rtol=1e-12)


def test_two_inputs_and_cross_kernel():
    net = _dag(8, 1, Init(parameterization="ntk"))
    X2 = np.random.default_rng(1).standard_normal((4, 3))
    K, T = nngp_ntk(net, X, X2)
    K_all, T_all = nngp_ntk(net, np.vstack([X, X2]))
    np.testing.assert_allclose(K, K_all[:5, 5:], rtol=1e-12)
    np.testing.assert_allclose(T, T_all[:5, 5:], rtol=1e-12)


def _refused(out, match):
    net = Network(out[0], out[1], rng=0, dtype=np.float64)
    with pytest.raises(FFNNError, match=match):
        kernel_sweep(net, X)


def test_refuses_activation_on_a_non_gaussian_node():
    x = Input(3)
    _refused((x, Dense(1)(Act("relu", name="act_on_x")(x))), "act_on_x.*not a Gaussian")
    c = Concat()(Dense(4)(x), Dense(4)(x))
    _refused((x, Dense(1)(Act("tanh", name="after_concat")(c))), "after_concat.*not a Gaussian")
    z = Dense(4)(x)
    s = Add()(z, Dense(4)(Act("relu")(z)))
    r = Act("relu")(s)
    _refused((x, Dense(1)(Act("tanh", name="relu_sum")(Add()(r, Dense(4)(r))))), "relu_sum")


def test_refuses_correlated_sums():
    x = Input(3)
    z = Dense(4)(x)
    _refused((x, Dense(1)(Add(name="z_plus_relu_z")(z, Act("relu")(z)))), "z_plus_relu_z.*correl")
    a, b = Act("relu")(Dense(4)(x)), Act("relu")(Dense(4)(x))
    _refused((x, Dense(1)(Add(name="relu_plus_relu")(a, b))), "relu_plus_relu.*correlated")


def test_refuses_weight_sharing_and_layers_without_a_rule():
    x = Input(3)
    shared = Dense(3, name="shared")
    _refused((x, Dense(1)(shared(Act("tanh")(shared(x))))), "'shared' is used at two nodes")

    class Twice(Layer):
        kind = "twice"

        def bind(self, dims):
            return self._need_one(dims)

        def forward(self, params, xs, out=None):
            return 2 * xs[0], None

        def backward(self, params, cache, g, grads, accumulate, need, out=None):
            return [2 * g]

    _refused((x, Dense(1)(Twice(name="twice")(Dense(4)(x)))), "'twice' .*no infinite-width")


def test_a_user_layer_with_its_own_rule():
    class Twice(Layer):
        """y = 2x: K ↦ 4K, Θ ↦ 4Θ (a Dense output stays Gaussian)."""

        kind = "twice"

        def bind(self, dims):
            return self._need_one(dims)

        def forward(self, params, xs, out=None):
            return 2 * xs[0], None

        def backward(self, params, cache, g, grads, accumulate, need, out=None):
            return [2 * g]

        def kernel(self, ks, ctx):
            from dataclasses import replace

            (k,) = ks
            return replace(k, K12=4 * k.K12, K11=4 * k.K11, K22=4 * k.K22, T12=4 * k.T12)

    init = Init(1.6, C_b=0.1, parameterization="ntk")
    x = Input(3)
    out = Dense(1)(Act("tanh")(Twice()(Dense(64)(x))))
    net = Network(x, out, init=init, rng=0, dtype=np.float64)
    x2 = Input(3)
    ref = Dense(1)(Act("tanh")(Dense(64, init=Init(6.4, C_b=0.4, parameterization="ntk"))(x2)))
    K, _ = nngp_ntk(net, X)
    np.testing.assert_allclose(K, nngp_ntk(Network(x2, ref, init=init), X)[0], rtol=1e-12)
    mean, se = _monte_carlo(net, X, 40, ntk=True)
    rel, ok = _agrees(nngp_ntk(net, X)[1], mean, se, 64, bias=4.0)
    assert ok, rel


def test_bad_inputs():
    net = _dag(8, 1, Init())
    with pytest.raises(FFNNError, match=r"shape \(n, 3\)"):
        kernel_sweep(net, np.zeros((4, 2)))
