import numpy as np
import pytest

import ffnn
from ffnn.errors import FFNNError
from ffnn.lab.represent import (
    bump_network,
    count_pieces,
    interpolate,
    linear_pieces,
    relu_interpolant,
    sawtooth,
    sawtooth_deep,
    sawtooth_shallow,
    staircase,
    step_network,
)


def test_relu_interpolant_is_exact():
    rng = np.random.default_rng(0)
    t = np.sort(rng.uniform(-3, 3, 9))
    v = rng.standard_normal(9)
    net = relu_interpolant(t, v)
    assert net.widths == [1, 9, 1]
    x = np.concatenate([np.linspace(t[0], t[-1], 2001), t])
    np.testing.assert_allclose(net(x[:, None])[:, 0], np.interp(x, t, v), atol=1e-13)
    # continued linearly outside [t_0, t_m]
    left = (v[1] - v[0]) / (t[1] - t[0])
    assert net(np.array([[t[0] - 2.0]]))[0, 0] == pytest.approx(v[0] - 2 * left, abs=1e-12)
    assert count_pieces(net, -3.5, 3.5) == 8
    assert len(linear_pieces(net, -3.5, 3.5)) - 1 == 8


def test_relu_interpolant_errors():
    with pytest.raises(FFNNError):
        relu_interpolant([0, 0], [1, 2])
    with pytest.raises(FFNNError):
        relu_interpolant([0], [1])


def test_interpolation_error_falls_like_k_squared():
    x = np.linspace(0, 3, 30001)
    errs = [
        np.max(np.abs(interpolate(np.exp, 0, 3, k)(x[:, None])[:, 0] - np.exp(x)))
        for k in (8, 16, 32)
    ]
    assert 3.5 < errs[0] / errs[1] < 4.5 and 3.5 < errs[1] / errs[2] < 4.5


def test_step_and_bump():
    x = np.array([[0.0], [2.99], [3.01], [5.0], [7.5]])
    assert np.allclose(step_network(3.0, 1000.0)(x)[:, 0], [0, 0, 1, 1, 1], atol=1e-4)
    assert np.allclose(bump_network(3.0, 7.0, 2.0)(x)[:, 0], [0, 0, 2, 2, 0], atol=1e-3)
    xs = np.linspace(0, 1, 5001)
    e = [
        np.max(np.abs(staircase(np.sin, 0, 1, k)(xs[:, None])[:, 0] - np.sin(xs))) for k in (10, 40)
    ]
    assert 3 < e[0] / e[1] < 5


@pytest.mark.parametrize("k", [1, 2, 5, 8])
def test_sawtooth_deep_has_2_to_k_pieces(k):
    deep, shallow = sawtooth_deep(k), sawtooth_shallow(k)
    x = np.linspace(0, 1, 3001)
    np.testing.assert_allclose(deep(x[:, None])[:, 0], sawtooth(x, k), atol=1e-12)
    np.testing.assert_allclose(shallow(x[:, None])[:, 0], sawtooth(x, k), atol=1e-9)
    assert len(linear_pieces(deep, 0, 1)) - 1 == 2**k
    assert count_pieces(deep, 0, 1, 2**14) == 2**k
    assert deep.widths == [1] + [2] * k + [1]
    assert shallow.widths[1] == 2**k + 1


def test_one_layer_pieces_bounded_by_width_plus_one():
    rng = np.random.default_rng(1)
    for m in (3, 10):
        net = ffnn.mlp([1, m, 1], "relu", rng=rng, dtype=np.float64)
        net.params[0][1][:] = rng.uniform(-1, 1, m)
        n_exact = len(linear_pieces(net, -4, 4)) - 1
        assert n_exact <= m + 1
        assert count_pieces(net, -4, 4) == n_exact


def test_linear_pieces_rejects_smooth_activations():
    with pytest.raises(FFNNError, match="piecewise-linear"):
        linear_pieces(ffnn.mlp([1, 3, 1], "tanh", dtype=np.float64), 0, 1)
