"""The L1 block and the playground's optimizer chains."""

import numpy as np
import pytest

from ffnn.errors import FFNNError
from ffnn.playground.optim import build_optimizer, l1_penalty


def test_l1_step_adds_lambda_sign_theta_to_the_gradient():
    opt = build_optimizer("sgd", 0.1, l1=0.5)
    theta = np.array([2.0, -3.0, 0.0])
    g = np.array([1.0, 1.0, 1.0])
    step, _ = opt.update(g, opt.init(theta), theta)
    np.testing.assert_allclose(step, -0.1 * (g + 0.5 * np.sign(theta)))


def test_l1_gradient_descent_finds_the_soft_threshold():
    """min ½‖θ − a‖² + λ‖θ‖₁ has θ* = sign(a) max(|a| − λ, 0): small entries become zero."""
    a = np.array([3.0, -2.0, 0.3, -0.1])
    lam = 0.5
    opt = build_optimizer("sgd", 0.01, l1=lam)
    theta = np.zeros(4)
    state = opt.init(theta)
    for _ in range(3000):
        state = opt.update_theta(theta - a, state, theta)
    want = np.sign(a) * np.maximum(np.abs(a) - lam, 0)
    np.testing.assert_allclose(theta, want, atol=0.02)


def test_l2_and_l1_chain_in_front_of_adam():
    opt = build_optimizer("adam", 0.01, l1=0.1, l2=0.2)
    assert [b.name for b in opt.blocks] == ["l1", "weight_decay", "adam", "lr"]
    assert opt.name == "adam"
    assert [b.name for b in build_optimizer("momentum", 0.1).blocks] == ["momentum", "lr"]


@pytest.mark.parametrize("bad", [-0.1, float("nan")])
def test_l1_refuses_a_negative_or_nan_coefficient(bad):
    with pytest.raises(FFNNError, match="L1"):
        l1_penalty(bad)


def test_unknown_optimizer_is_refused():
    with pytest.raises(FFNNError, match="choose one of sgd, momentum, adam"):
        build_optimizer("lbfgs", 0.1)
