"""Losses: values, δ = ∂L/∂z and (∂²L/∂z²) v against finite differences; pairing errors; dtypes."""

import numpy as np
import pytest

import ffnn
from ffnn import FFNNError, get_loss
from ffnn.core.activations import get_output_activation

N, K = 6, 3


def _targets(loss_name: str, output: str, rng) -> np.ndarray:
    if loss_name == "cross_entropy":
        return rng.integers(0, K, size=N)
    if loss_name == "binary_cross_entropy" or output in ("sigmoid", "softmax"):
        return rng.uniform(0, 1, size=(N, K))
    return rng.standard_normal((N, K))


# every supported (loss, output activation) pairing
PAIRS = [
    ("mse", "identity"),
    ("mse", "sigmoid"),
    ("mse", "softmax"),
    ("mae", "identity"),
    ("mae", "sigmoid"),
    ("mae", "softmax"),
    ("huber", "identity"),
    ("huber", "sigmoid"),
    ("huber", "softmax"),
    ("binary_cross_entropy", "sigmoid"),
    ("cross_entropy", "softmax"),
]


def _z_away_from_kinks(loss, out, y, rng):
    """z whose residuals stay away from |r| = 0 (MAE) and |r| = threshold (Huber)."""
    for _ in range(100):
        z = rng.standard_normal((N, K)) * 1.5
        if isinstance(y, np.ndarray) and y.ndim == 2 and loss.name in ("mae", "huber"):
            r = np.abs(out.apply(z) - y)
            if np.min(np.abs(r)) < 1e-3 or np.min(np.abs(r - 1.0)) < 1e-3:
                continue
        return z
    raise AssertionError("could not draw z")


@pytest.mark.parametrize("loss_name,output", PAIRS)
def test_delta_is_the_gradient_of_the_value(loss_name, output, fd_grad, rel_error):
    rng = np.random.default_rng(0)
    loss, out = get_loss(loss_name), get_output_activation(output)
    y = _targets(loss_name, output, rng)
    z = _z_away_from_kinks(loss, out, y, rng)
    value, delta = loss.value_and_delta(z, y, out)
    assert delta.shape == z.shape
    assert isinstance(value, float)
    assert value == pytest.approx(loss.value(z, y, out))
    fd = fd_grad(lambda zz: loss.value(zz, y, out), z)
    assert rel_error(delta, fd) < 1e-7
    np.testing.assert_allclose(loss.delta(z, y, out), delta)


@pytest.mark.parametrize("loss_name,output", PAIRS)
def test_hvp_z_is_the_derivative_of_delta(loss_name, output, fd_directional, rel_error):
    rng = np.random.default_rng(1)
    loss, out = get_loss(loss_name), get_output_activation(output)
    y = _targets(loss_name, output, rng)
    z = _z_away_from_kinks(loss, out, y, rng)
    for _ in range(3):
        v = rng.standard_normal(z.shape)
        hv = loss.hvp_z(z, y, out, v)
        fd = fd_directional(lambda zz: loss.delta(zz, y, out), z, v, eps=1e-5)
        assert hv.shape == z.shape
        if loss_name == "mae" and output == "identity":
            np.testing.assert_allclose(hv, 0.0)
        else:
            assert rel_error(hv, fd) < 1e-7, (loss_name, output)


def test_hvp_z_matches_an_explicit_hessian_for_cross_entropy():
    """∂²L/∂z² = (Σ_k y_k)(diag(s) − s sᵀ)/n per example."""
    rng = np.random.default_rng(2)
    z = rng.standard_normal((N, K))
    y = rng.integers(0, K, N)
    out = get_output_activation("softmax")
    v = rng.standard_normal((N, K))
    s = out.apply(z)
    H = np.stack([np.diag(si) - np.outer(si, si) for si in s]) / N
    np.testing.assert_allclose(
        get_loss("cross_entropy").hvp_z(z, y, out, v), np.einsum("nij,nj->ni", H, v)
    )


def test_mse_is_the_notes_mean_of_squared_norms():
    z = np.array([[1.0, 2.0], [0.0, -1.0]])
    y = np.array([[0.0, 0.0], [1.0, 1.0]])
    out = get_output_activation("identity")
    value, delta = get_loss("mse").value_and_delta(z, y, out)
    assert value == pytest.approx(((1 + 4) + (1 + 4)) / 2)  # 1/n Σ ‖y − f‖², no ½
    np.testing.assert_allclose(delta, 2 * (z - y) / 2)


def test_mae_and_huber_values():
    z = np.array([[3.0], [-0.5]])
    y = np.zeros(2)  # a 1-D target is accepted for one output
    out = get_output_activation("identity")
    assert get_loss("mae").value(z, y, out) == pytest.approx((3 + 0.5) / 2)
    # Huber(t=1): |r| = 3 -> 1 (3 − ½) = 2.5;  |r| = 0.5 -> ½ 0.25 = 0.125
    assert get_loss("huber").value(z, y, out) == pytest.approx((2.5 + 0.125) / 2)
    assert ffnn.Huber(threshold=0.25).value(z, y, out) == pytest.approx(
        (0.25 * (3 - 0.125) + 0.25 * (0.5 - 0.125)) / 2
    )


def test_cross_entropies_equal_their_definitions():
    rng = np.random.default_rng(3)
    z = rng.standard_normal((N, K))
    labels = rng.integers(0, K, N)
    s = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    ce = get_loss("cross_entropy")
    soft = get_output_activation("softmax")
    expected = -np.mean(np.log(s[np.arange(N), labels]))
    assert ce.value(z, labels, soft) == pytest.approx(expected, rel=1e-12)
    onehot = np.eye(K)[labels]
    assert ce.value(z, onehot, soft) == pytest.approx(expected, rel=1e-12)
    assert ce.value(z, labels.astype(float), soft) == pytest.approx(expected, rel=1e-12)
    # probability rows: −Σ_k y_k log s_k
    p = rng.dirichlet(np.ones(K), N)
    assert ce.value(z, p, soft) == pytest.approx(-np.mean(np.sum(p * np.log(s), 1)), rel=1e-12)

    y = rng.uniform(0, 1, (N, K))
    f = 1 / (1 + np.exp(-z))
    bce = -np.mean(np.sum(y * np.log(f) + (1 - y) * np.log(1 - f), axis=1))
    assert get_loss("bce").value(z, y, get_output_activation("sigmoid")) == pytest.approx(
        bce, rel=1e-12
    )


def test_cross_entropies_are_stable_for_huge_logits():
    z = np.array([[1000.0, -1000.0], [-1000.0, 1000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        v, d = get_loss("cross_entropy").value_and_delta(
            z, np.array([0, 0]), get_output_activation("softmax")
        )
        assert v == pytest.approx(1000.0)  # (0 + 2000) / 2
        np.testing.assert_allclose(d, [[0, 0], [-0.5, 0.5]])
        v, d = get_loss("bce").value_and_delta(
            z, np.array([[1.0, 0.0], [1.0, 0.0]]), get_output_activation("sigmoid")
        )
        assert v == pytest.approx(1000.0)  # (0 + 0 + 1000 + 1000) / 2
        assert np.all(np.isfinite(d))


@pytest.mark.parametrize("loss_name,output", PAIRS)
def test_float32_in_float32_out(loss_name, output):
    rng = np.random.default_rng(4)
    loss, out = get_loss(loss_name), get_output_activation(output)
    y = _targets(loss_name, output, rng)
    z = rng.standard_normal((N, K)).astype(np.float32)
    value, delta = loss.value_and_delta(z, y, out)
    assert isinstance(value, float)
    assert delta.dtype == np.float32
    assert loss.hvp_z(z, y, out, z).dtype == np.float32
    value64, delta64 = loss.value_and_delta(z.astype(np.float64), y, out)
    assert value == pytest.approx(value64, rel=1e-5)
    np.testing.assert_allclose(delta, delta64, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    "loss_name,output",
    [
        ("cross_entropy", "identity"),
        ("cross_entropy", "sigmoid"),
        ("binary_cross_entropy", "identity"),
        ("binary_cross_entropy", "softmax"),
    ],
)
def test_cross_entropy_refuses_the_wrong_output_activation(loss_name, output):
    loss, out = get_loss(loss_name), get_output_activation(output)
    z = np.zeros((2, 3))
    y = np.array([0, 1]) if loss_name == "cross_entropy" else np.zeros((2, 3))
    with pytest.raises(FFNNError, match=f"needs output activation.*'{output}'"):
        loss.value_and_delta(z, y, out)
    with pytest.raises(FFNNError, match="output="):
        loss.check_output(out)
    net = ffnn.mlp([2, 3], output=output)
    with pytest.raises(FFNNError, match="needs output activation"):
        net.loss_and_grad(np.zeros((2, 2)), y, loss_name)


def test_regression_losses_accept_any_output():
    for name in ("mse", "mae", "huber"):
        for out in ("identity", "sigmoid", "softmax"):
            get_loss(name).check_output(get_output_activation(out))


def test_target_errors():
    soft = get_output_activation("softmax")
    with pytest.raises(FFNNError, match=r"labels must lie in 0\.\.2.*from 0 to 3"):
        get_loss("cross_entropy").value(np.zeros((2, 3)), np.array([0, 3]), soft)
    with pytest.raises(FFNNError, match="labels must lie"):
        get_loss("cross_entropy").value(np.zeros((2, 3)), np.array([-1, 0]), soft)
    with pytest.raises(FFNNError, match="integer class labels"):
        get_loss("cross_entropy").value(np.zeros((2, 3)), np.array([0.5, 1.0]), soft)
    with pytest.raises(FFNNError, match=r"targets have shape \(2, 2\).*shape \(2, 3\)"):
        get_loss("mse").value(np.zeros((2, 3)), np.zeros((2, 2)), soft)


def test_unknown_loss_names_the_choices():
    with pytest.raises(FFNNError, match="unknown loss 'l2'.*mse"):
        get_loss("l2")
    assert isinstance(get_loss("ce"), ffnn.CrossEntropy)
    assert isinstance(get_loss("bce"), ffnn.BinaryCrossEntropy)
    loss = ffnn.Huber(threshold=2.0)
    assert get_loss(loss) is loss
