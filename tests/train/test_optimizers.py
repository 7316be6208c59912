"""Optimizers: convergence on a quadratic with a known minimum, clipping, weight decay, chaining,
and step-by-step agreement with torch.optim where PyTorch is installed."""

from __future__ import annotations

import numpy as np
import pytest

from ffnn.errors import FFNNError
from ffnn.train import optimizers as O
from ffnn.train.schedules import Cosine


def quadratic(p: int = 6, seed: int = 0, cond: float = 10.0):
    """L(θ) = ½ (θ − θ*)ᵀ A (θ − θ*) with eigenvalues of A in [1, cond]."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((p, p)))
    A = Q @ np.diag(np.linspace(1.0, cond, p)) @ Q.T
    theta_star = rng.standard_normal(p)
    return A, theta_star, (lambda th: A @ (th - theta_star))


def run(opt: O.Optimizer, grad, theta0: np.ndarray, steps: int) -> np.ndarray:
    theta = theta0.copy()
    state = opt.init(theta)
    for _ in range(steps):
        step, state = opt.update(grad(theta), state, theta)
        theta += step
    return theta


CONVERGING = {
    "gd": (O.sgd(0.15), 300, 1e-10),
    "momentum": (O.momentum(0.05, momentum=0.8), 300, 1e-8),
    "nesterov": (O.nesterov(0.05, momentum=0.8), 300, 1e-8),
    "rmsprop": (O.rmsprop(0.05, schedule=Cosine(2000)), 2000, 1e-3),
    "adam": (O.adam(0.05, schedule=Cosine(2000)), 2000, 1e-3),
    "adamw": (O.adamw(0.05, weight_decay=0.0, schedule=Cosine(2000)), 2000, 1e-3),
}


@pytest.mark.parametrize("name", list(CONVERGING))
def test_each_optimizer_converges_on_a_quadratic(name):
    opt, steps, tol = CONVERGING[name]
    A, theta_star, grad = quadratic()
    theta0 = np.zeros_like(theta_star)
    theta = run(opt, grad, theta0, steps)
    assert np.linalg.norm(theta - theta_star) < tol * np.linalg.norm(theta_star)


def test_gd_step_is_minus_lr_times_gradient_and_grad_is_not_written():
    theta = np.array([1.0, -2.0, 3.0])
    g = np.array([0.5, 0.25, -1.0])
    g0 = g.copy()
    opt = O.sgd(0.1)
    state = opt.init(theta)
    step, state = opt.update(g, state, theta)
    np.testing.assert_array_equal(step, -0.1 * g0)
    np.testing.assert_array_equal(g, g0)
    assert state["step"] == 1


def test_adamw_with_weight_decay_converges_to_the_shrunk_minimum():
    """Decoupled decay λθ pulls the iterate toward 0: it ends nearer to 0 than θ* is."""
    A, theta_star, grad = quadratic()
    theta = run(O.adamw(0.05, weight_decay=0.5, schedule=Cosine(2000)), grad, 0 * theta_star, 2000)
    assert np.linalg.norm(theta) < np.linalg.norm(theta_star)


def test_clipping_caps_the_norm():
    opt = O.chain(O.clip_by_norm(1.0), O.scale_by_lr(1.0))
    theta = np.zeros(4)
    state = opt.init(theta)
    big = np.array([3.0, 4.0, 0.0, 12.0])  # norm 13
    step, state = opt.update(big, state, theta)
    assert np.linalg.norm(step) == pytest.approx(1.0, rel=1e-12)
    np.testing.assert_allclose(step, -big / 13.0)
    small = np.array([0.1, 0.2, 0.0, 0.2])  # norm 0.3: untouched
    step, state = opt.update(small, state, theta)
    np.testing.assert_array_equal(step, -small)
    # through a named optimizer
    sgd = O.sgd(0.5, clip_norm=2.0)
    st = sgd.init(theta)
    step, _ = sgd.update(big, st, theta)
    assert np.linalg.norm(step) == pytest.approx(0.5 * 2.0)


@pytest.mark.parametrize("factory", [O.sgd, O.momentum, O.adam])
def test_l2_weight_decay_shrinks_the_weights(factory):
    theta = np.array([1.0, -2.0, 4.0])
    opt = factory(0.1, weight_decay=0.5)
    state = opt.init(theta)
    norms = [np.linalg.norm(theta)]
    for _ in range(5):
        step, state = opt.update(np.zeros_like(theta), state, theta)
        theta += step
        norms.append(np.linalg.norm(theta))
    assert all(b < a for a, b in zip(norms, norms[1:], strict=False))


def test_weight_decay_is_exact_for_sgd_and_adamw():
    theta0 = np.array([1.0, -2.0, 4.0])
    for opt in (O.sgd(0.1, weight_decay=0.5), O.adamw(0.1, weight_decay=0.5)):
        theta = run(opt, lambda th: np.zeros_like(th), theta0, 3)
        np.testing.assert_allclose(theta, theta0 * (1 - 0.1 * 0.5) ** 3, rtol=1e-12)


def test_chain_state_layout_and_unpacking():
    opt = O.chain(
        O.clip_by_norm(1.0), O.momentum_block(0.9), O.momentum_block(0.5), O.scale_by_lr(0.1)
    )
    init, update = opt
    state = init(np.zeros(3, dtype=np.float32))
    assert state["step"] == 0
    assert set(state["momentum"]) == {"v"} and set(state["momentum2"]) == {"v"}
    assert state["momentum"]["v"].dtype == np.float32
    step, state = update(np.ones(3, dtype=np.float32), state, np.zeros(3, dtype=np.float32))
    assert step.dtype == np.float32 and state["step"] == 1
    assert opt.learning_rate(0) == pytest.approx(0.1)
    cfg = opt.config()
    assert [b["name"] for b in cfg["blocks"]] == ["clip", "momentum", "momentum", "lr"]


def test_load_state_checks_the_structure():
    theta = np.zeros(3)
    adam_state = O.adam().init(theta)
    with pytest.raises(FFNNError, match="does not fit"):
        O.momentum().load_state(adam_state, theta)
    with pytest.raises(FFNNError, match="shape"):
        O.adam().load_state(adam_state, np.zeros(4))
    st = O.adam().load_state({**adam_state, "step": 7}, theta)
    assert st["step"] == 7 and st["adam"]["m"] is not adam_state["adam"]["m"]


def test_get_optimizer_names_and_errors():
    assert O.get_optimizer("adam", 0.01, beta1=0.8).config()["blocks"][0]["beta1"] == 0.8
    assert O.get_optimizer("GD").name == "gd"
    with pytest.raises(FFNNError, match="unknown optimizer"):
        O.get_optimizer("lbfgs")
    with pytest.raises(FFNNError, match="does not take"):
        O.get_optimizer("sgd", 0.1, beta1=0.9)
    with pytest.raises(FFNNError, match="learning rate"):
        O.sgd(-1.0)
    with pytest.raises(FFNNError, match="momentum"):
        O.momentum(0.1, momentum=1.5)


# --- against torch.optim ----------------------------------------------------------------------
def _torch_pairs():
    return {
        "sgd": (O.sgd(0.05), lambda p, T: T.optim.SGD(p, lr=0.05)),
        "sgd_wd": (
            O.sgd(0.05, weight_decay=0.1),
            lambda p, T: T.optim.SGD(p, lr=0.05, weight_decay=0.1),
        ),
        "momentum": (
            O.momentum(0.05, momentum=0.9),
            lambda p, T: T.optim.SGD(p, lr=0.05, momentum=0.9),
        ),
        "nesterov": (
            O.nesterov(0.05, momentum=0.9),
            lambda p, T: T.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
        ),
        "rmsprop": (
            O.rmsprop(0.01, rho=0.99, eps=1e-8),
            lambda p, T: T.optim.RMSprop(p, lr=0.01, alpha=0.99, eps=1e-8),
        ),
        "adam": (O.adam(0.01), lambda p, T: T.optim.Adam(p, lr=0.01)),
        "adam_l2": (
            O.adam(0.01, weight_decay=0.1),
            lambda p, T: T.optim.Adam(p, lr=0.01, weight_decay=0.1),
        ),
        "adamw": (
            O.adamw(0.01, weight_decay=0.1),
            lambda p, T: T.optim.AdamW(p, lr=0.01, weight_decay=0.1),
        ),
    }


@pytest.mark.parametrize("name", list(_torch_pairs()))
def test_matches_torch_optim_step_by_step(name):
    torch = pytest.importorskip("torch")
    ours, make = _torch_pairs()[name]
    A, theta_star, grad = quadratic(p=5, seed=1)
    theta = np.linspace(-1, 1, 5)
    p = torch.nn.Parameter(torch.tensor(theta.copy(), dtype=torch.float64))
    topt = make([p], torch)
    state = ours.init(theta)
    At, st = torch.tensor(A), torch.tensor(theta_star)
    for _ in range(25):
        step, state = ours.update(grad(theta), state, theta)
        theta += step
        topt.zero_grad()
        p.grad = At @ (p.detach() - st)
        topt.step()
    np.testing.assert_allclose(theta, p.detach().numpy(), rtol=1e-10, atol=1e-12)
