"""Activations σ, σ', σ'' and output activations φ_out against finite differences (float64)."""

import numpy as np
import pytest

import ffnn
from ffnn import FFNNError
from ffnn.core.activations import ACTIVATIONS, get_activation, get_output_activation

NAMES = [
    "identity",
    "relu",
    "leaky_relu",
    "tanh",
    "sigmoid",
    "softplus",
    "elu",
    "gelu",
    "erf",
    "sin",
]


def _points() -> np.ndarray:
    """Points in [-4, 4] kept away from the kink at 0 of relu / leaky_relu / elu."""
    z = np.random.default_rng(0).uniform(-4, 4, size=200)
    z = z[np.abs(z) > 1e-3]
    return np.concatenate([z, [-2.5, -1.0, -0.3, 0.3, 1.0, 2.5]])


def test_registry_has_every_activation_of_the_issue():
    assert set(NAMES) <= set(ACTIVATIONS)


@pytest.mark.parametrize("name", NAMES)
def test_dsigma_is_the_derivative_of_sigma(name):
    act = get_activation(name)
    z, h = _points(), 1e-5
    fd = (act.sigma(z + h) - act.sigma(z - h)) / (2 * h)
    np.testing.assert_allclose(act.dsigma(z), fd, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_d2sigma_is_the_derivative_of_dsigma(name):
    act = get_activation(name)
    z, h = _points(), 1e-5
    fd = (act.dsigma(z + h) - act.dsigma(z - h)) / (2 * h)
    np.testing.assert_allclose(act.d2sigma(z), fd, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_backward_is_dsigma_times_g(name):
    act = get_activation(name)
    z = _points()
    g = np.random.default_rng(1).standard_normal(z.shape)
    np.testing.assert_allclose(act.backward(z, act.sigma(z), g), act.dsigma(z) * g, rtol=1e-12)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved(name, dtype):
    act = get_activation(name)
    z = np.linspace(-3, 3, 12, dtype=dtype).reshape(3, 4)
    x = act.sigma(z)
    for out in (x, act.dsigma(z), act.d2sigma(z), act.backward(z, x, z)):
        assert out.dtype == dtype
        assert out.shape == z.shape


@pytest.mark.parametrize("name", NAMES)
def test_float32_agrees_with_float64(name):
    act = get_activation(name)
    z = _points()
    for f in (act.sigma, act.dsigma, act.d2sigma):
        np.testing.assert_allclose(f(z.astype(np.float32)), f(z), rtol=1e-4, atol=1e-5)


def test_known_values():
    z = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_allclose(get_activation("relu")(z), [0, 0, 3])
    np.testing.assert_allclose(get_activation("leaky_relu")(z), [-0.02, 0, 3])
    np.testing.assert_allclose(get_activation("sigmoid")(np.zeros(1)), [0.5])
    np.testing.assert_allclose(get_activation("softplus")(np.zeros(1)), [np.log(2)])
    np.testing.assert_allclose(get_activation("elu")(z), [np.expm1(-2), 0, 3])
    # GELU(z) = z Φ(z): Φ(1) = 0.8413447460685429
    np.testing.assert_allclose(get_activation("gelu")(np.ones(1)), [0.8413447460685429])
    np.testing.assert_allclose(get_activation("erf")(np.ones(1)), [0.8427007929497149])
    # derivatives at the kink are the one-sided right values used in practice
    assert get_activation("relu").dsigma(np.zeros(1))[0] == 0
    assert get_activation("elu").dsigma(np.zeros(1))[0] == 1


def test_leaky_relu_and_elu_take_alpha():
    act = ACTIVATIONS["leaky_relu"](0.2)
    np.testing.assert_allclose(act(np.array([-1.0, 2.0])), [-0.2, 2.0])
    np.testing.assert_allclose(act.dsigma(np.array([-1.0, 2.0])), [0.2, 1.0])
    elu = ACTIVATIONS["elu"](0.5)
    np.testing.assert_allclose(elu(np.array([-1.0])), [0.5 * np.expm1(-1.0)])


def test_extreme_inputs_stay_finite():
    z = np.array([-1000.0, -50.0, 50.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for name in ("sigmoid", "softplus", "elu", "gelu", "erf", "tanh"):
            act = get_activation(name)
            for f in (act.sigma, act.dsigma, act.d2sigma):
                assert np.all(np.isfinite(f(z))), name
    np.testing.assert_allclose(get_activation("softplus")(z)[-1], 1000.0)


def test_unknown_activation_names_the_choices():
    with pytest.raises(FFNNError, match="unknown activation 'swish'.*relu"):
        get_activation("swish")
    with pytest.raises(FFNNError, match="unknown activation"):
        ffnn.Act("nope")
    with pytest.raises(FFNNError, match="unknown output activation 'tanh'.*softmax"):
        get_output_activation("tanh")
    with pytest.raises(FFNNError, match="unknown output activation"):
        ffnn.mlp([2, 3, 1], "relu", output="relu")


# --- output activations -------------------------------------------------------------------
OUTPUTS = ["identity", "sigmoid", "softmax"]


def _jacobian_fd(apply, z, h=1e-6):
    """(n, k_out, k_in) per-example Jacobians of apply at z by central differences."""
    n, k = z.shape
    J = np.empty((n, k, k))
    for j in range(k):
        e = np.zeros_like(z)
        e[:, j] = h
        J[:, :, j] = (apply(z + e) - apply(z - e)) / (2 * h)
    return J


@pytest.mark.parametrize("name", OUTPUTS)
def test_output_vjp_and_jvp_against_finite_differences(name):
    out = get_output_activation(name)
    rng = np.random.default_rng(2)
    z = rng.standard_normal((5, 4)) * 2
    g, v = rng.standard_normal((2, 5, 4))
    f = out.apply(z)
    J = _jacobian_fd(out.apply, z)
    np.testing.assert_allclose(out.vjp(z, f, g), np.einsum("nij,ni->nj", J, g), atol=1e-9)
    np.testing.assert_allclose(out.jvp(z, f, v), np.einsum("nij,nj->ni", J, v), atol=1e-9)


@pytest.mark.parametrize("name", OUTPUTS)
def test_output_activation_keeps_float32(name):
    out = get_output_activation(name)
    z = np.random.default_rng(3).standard_normal((4, 3)).astype(np.float32)
    f = out.apply(z)
    assert f.dtype == out.vjp(z, f, z).dtype == out.jvp(z, f, z).dtype == np.float32


def test_softmax_rows_are_probabilities_even_for_huge_logits():
    out = get_output_activation("softmax")
    z = np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        f = out.apply(z)
    np.testing.assert_allclose(f.sum(axis=1), 1.0)
    np.testing.assert_allclose(f[0], [1, 0, 0], atol=1e-300)
    e = np.exp([1.0, 2.0, 3.0])
    np.testing.assert_allclose(f[1], e / e.sum())
    # invariant to adding a constant to every logit of a row
    np.testing.assert_allclose(out.apply(z + 7.0), f)
