"""Lecture 11: a ReLU network with hand-set weights represents a continuous piecewise-linear
function of one variable exactly.

For f linear on the pieces between breakpoints a = t_0 < t_1 < … < t_K with slopes s_0, …, s_K,

    f(x) = f(a) + s_0 (x − a) + Σ_{k=1}^{K} (s_k − s_{k−1}) ReLU(x − t_k),

and the linear part is s_0 (ReLU(x − a) − ReLU(a − x)). One hidden layer of K + 2 ReLUs.
"""

import numpy as np
import pytest

from ffnn import FFNNError, from_weights


def cpwl_weights(a, fa, slopes, breaks):
    """(W, b) pairs of the construction: hidden units ReLU(x−a), ReLU(a−x), ReLU(x−t_k)."""
    slopes, breaks = np.asarray(slopes, float), np.asarray(breaks, float)
    K = breaks.size
    W1 = np.concatenate([[1.0, -1.0], np.ones(K)])  # a vector: read as the column (K+2, 1)
    b1 = np.concatenate([[-a, a], -breaks])
    W2 = np.concatenate([[slopes[0], -slopes[0]], np.diff(slopes)])[None, :]  # (1, K+2)
    b2 = np.array([fa])
    return [(W1, b1), (W2, b2)]


def cpwl_reference(x, a, fa, slopes, breaks):
    """f by walking the pieces: f(t_k) accumulates s_{k-1}(t_k − t_{k-1}); x < a uses s_0."""
    knots = np.concatenate([[a], breaks])
    values = [fa]
    for k in range(1, knots.size):
        values.append(values[-1] + slopes[k - 1] * (knots[k] - knots[k - 1]))
    idx = np.clip(np.searchsorted(knots, x, side="right") - 1, 0, knots.size - 1)
    return np.asarray(values)[idx] + np.asarray(slopes)[idx] * (x - knots[idx])


def test_the_lecture_example_exactly():
    """f(a)=1 at a=0; slopes 2, −1, 0.5 with breaks at 1 and 3."""
    a, fa, slopes, breaks = 0.0, 1.0, [2.0, -1.0, 0.5], [1.0, 3.0]
    net = from_weights(cpwl_weights(a, fa, slopes, breaks), "relu")
    assert net.widths == [1, 4, 1] and net.dtype == np.float64
    x = np.array([-1.0, 0.0, 0.5, 1.0, 2.0, 3.0, 5.0])
    expected = np.array([-1.0, 1.0, 2.0, 3.0, 2.0, 1.0, 2.0])
    np.testing.assert_array_equal(net(x[:, None])[:, 0], expected)


@pytest.mark.parametrize("seed", range(5))
def test_random_cpwl_functions_are_represented_exactly(seed):
    rng = np.random.default_rng(seed)
    K = int(rng.integers(1, 12))
    a = float(rng.uniform(-3, 0))
    breaks = np.sort(rng.uniform(a + 0.1, 4.0, K))
    slopes = rng.uniform(-3, 3, K + 1)
    fa = float(rng.standard_normal())
    net = from_weights(cpwl_weights(a, fa, slopes, breaks), "relu")
    assert net.n_params == (K + 2) * 2 + (K + 2) + 1
    knots = np.concatenate([[a], breaks])
    mids = (knots[:-1] + knots[1:]) / 2
    x = np.concatenate([knots, mids, [a - 2.0, breaks[-1] + 2.0], rng.uniform(a - 1, 5, 200)])
    got = net(x)[:, 0]  # one feature: a vector is read as a batch of scalars
    want = cpwl_reference(x, a, fa, slopes, breaks)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13)
    # the function is continuous and linear between knots: at the midpoint it is the mean
    f = lambda t: net(np.asarray(t, float))[:, 0]  # noqa: E731
    np.testing.assert_allclose(f(mids), (f(knots[:-1]) + f(knots[1:])) / 2, atol=1e-12)
    # and has slope s_k on piece k
    h = 1e-3
    np.testing.assert_allclose((f(mids + h) - f(mids - h)) / (2 * h), slopes[:-1], atol=1e-9)


def test_float32_on_request_is_exact_to_float32_precision():
    a, fa, slopes, breaks = 0.0, 1.0, [2.0, -1.0, 0.5], [1.0, 3.0]
    net = from_weights(cpwl_weights(a, fa, slopes, breaks), "relu", dtype=np.float32)
    x = np.linspace(-2, 6, 33)
    out = net(x)[:, 0]
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, cpwl_reference(x, a, fa, slopes, breaks), atol=1e-5)


def test_deep_composition_of_tent_maps():
    """The tent map g(x) = 2 ReLU(x) − 4 ReLU(x − ½) on [0, 1], composed m times, has 2^(m−1)
    teeth: a depth-m network of width 2 with exponentially many linear pieces."""
    m = 4
    W_in, b_in = np.array([[1.0], [1.0]]), np.array([0.0, -0.5])
    W_mid, b_mid = np.array([[2.0, -4.0], [2.0, -4.0]]), np.array([0.0, -0.5])
    W_out, b_out = np.array([[2.0, -4.0]]), np.zeros(1)
    net = from_weights([(W_in, b_in)] + [(W_mid, b_mid)] * (m - 1) + [(W_out, b_out)], "relu")
    x = np.linspace(0, 1, 2**m + 1)  # the knots j / 2^m
    expected = np.where(np.arange(x.size) % 2 == 0, 0.0, 1.0)
    np.testing.assert_allclose(net(x)[:, 0], expected, atol=1e-14)
    mids = (x[:-1] + x[1:]) / 2
    np.testing.assert_allclose(net(mids)[:, 0], 0.5, atol=1e-14)


def test_from_weights_checks_the_shapes():
    W1, b1 = np.ones((3, 2)), np.zeros(3)
    with pytest.raises(FFNNError, match=r"layer 2: W has 4 columns but layer 1 has 3 outputs"):
        from_weights([(W1, b1), (np.ones((1, 4)), np.zeros(1))])
    with pytest.raises(FFNNError, match=r"layer 1: W must have shape .*len\(b\) = 2"):
        from_weights([(W1, np.zeros(2))])
    with pytest.raises(FFNNError, match="does not fit b"):
        from_weights([(np.ones(5), np.zeros(2))])
    with pytest.raises(FFNNError, match="at least one"):
        from_weights([])
    # a vector W with a scalar b is a row: n_l = 1
    net = from_weights([(np.array([1.0, 2.0, 3.0]), 0.5)], "relu")
    assert net.widths == [3, 1]
    np.testing.assert_allclose(net(np.ones((1, 3))), [[6.5]])
