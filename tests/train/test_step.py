"""The step loop as parts: a caller driving Trainer/Batches gets fit's weights bit for bit; one
step is forward → loss → backward → update; divergence raises Diverged with θ kept."""

from __future__ import annotations

import numpy as np
import pytest

import ffnn
from ffnn.core.losses import get_loss
from ffnn.errors import FFNNError
from ffnn.train import fit
from ffnn.train.data import split_validation, targets
from ffnn.train.optimizers import get_optimizer
from ffnn.train.step import Batches, Diverged, Trainer


def data(n=50, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, 2)).astype(np.float32)
    return X, np.sin(2 * X[:, 0]) + X[:, 1] ** 2


@pytest.mark.parametrize("batch_size", [None, 1, 8])
def test_a_caller_driving_the_trainer_gets_fits_weights_bit_for_bit(batch_size):
    X, y = data()
    net_fit = ffnn.mlp([2, 6, 1], "tanh", rng=0)
    h = fit(net_fit, X, y, "mse", optimizer="adam", lr=0.01, batch_size=batch_size, epochs=4,
            rng=7, progress=False)  # fmt: skip

    net = ffnn.mlp([2, 6, 1], "tanh", rng=0)
    loss, rng = get_loss("mse"), np.random.default_rng(7)
    Y = targets(net, loss, y, X.shape[0], "y")
    batches = Batches(net, X, Y, batch_size)
    steps = batches.steps
    trainer = Trainer(net, loss, get_optimizer("adam", 0.01), batches)
    records = []
    for epoch in range(1, 5):
        assert trainer.epoch(epoch, rng)
        records.append(trainer.record(epoch))
    np.testing.assert_array_equal(net.theta, net_fit.theta)
    assert [r["train_loss"] for r in records] == h["train_loss"]
    assert [r["grad_norm"] for r in records] == h["grad_norm"]
    assert trainer.state["step"] == 4 * steps


def test_one_step_is_gradient_descent_on_the_batch():
    X, y = data(8)
    net = ffnn.mlp([2, 4, 1], "tanh", rng=0, dtype=np.float64)
    X = X.astype(np.float64)
    Y = y[:, None]
    theta0 = net.theta.copy()
    L0, g0 = net.loss_and_grad(X, Y, "mse")
    g0 = g0.copy()
    trainer = Trainer(net, get_loss("mse"), get_optimizer("sgd", 0.1))
    L, gsq = trainer.step(X, Y)
    assert L == L0 and gsq == pytest.approx(g0 @ g0, rel=1e-12)
    np.testing.assert_allclose(net.theta, theta0 - 0.1 * g0, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(trainer.prev, theta0)


def test_a_non_finite_loss_raises_diverged_and_keeps_theta():
    net = ffnn.mlp([2, 3, 1], rng=0, dtype=np.float64)
    trainer = Trainer(net, get_loss("mse"), get_optimizer("sgd", 0.1))
    theta0 = net.theta.copy()
    with pytest.raises(Diverged) as e, np.errstate(over="ignore", invalid="ignore"):
        trainer.step(np.full((2, 2), 1e200), np.zeros((2, 1)))
    assert e.value.what == "loss" and e.value.restore
    np.testing.assert_array_equal(net.theta, theta0)


def test_an_epoch_stops_at_a_batch_boundary_and_goes_on_from_pos():
    X, y = data(40)
    net = ffnn.mlp([2, 5, 1], rng=0)
    Y = targets(net, get_loss("mse"), y, 40, "y")
    trainer = Trainer(net, get_loss("mse"), get_optimizer("sgd", 0.05), Batches(net, X, Y, 8))

    class StopAfter:  # checked before each step: True at the third check (before step 2)
        def __init__(self, k):
            self.k, self.checks = k, 0

        @property
        def hit(self):
            self.checks += 1
            return self.checks > self.k

    stop = StopAfter(2)
    rng = np.random.default_rng(0)
    assert not trainer.epoch(1, rng, stop=stop)
    assert trainer.pos == 2 and trainer.n_batches == 2
    assert trainer.epoch(1, rng)
    assert trainer.pos == 0 and trainer.n_batches == 5


def test_batches_split_rows_and_errors():
    X, y = data(20)
    net = ffnn.mlp([2, 3, 1], rng=0)
    loss = get_loss("mse")
    Y = targets(net, loss, y, 20, "y")
    Xv, Yv, rows = split_validation(net, loss, X, Y, 0.25, np.random.default_rng(0))
    b = Batches(net, X, Y, 4, rows)
    assert (b.n, b.steps, Xv.shape[0]) == (15, 4, 5)
    b.new_epoch(np.random.default_rng(1))
    seen = np.concatenate([b.batch(s)[0].copy() for s in range(b.steps)])  # reused buffers
    np.testing.assert_array_equal(np.sort(seen, axis=0), np.sort(X[rows], axis=0))
    with pytest.raises(FFNNError, match="batch_size"):
        Batches(net, X, Y, 0)


@pytest.mark.parametrize("optimizer, n", [("sgd", 56), ("sgd", 48), ("momentum", 56)])
def test_the_epoch_loop_uses_two_buffers_and_matches_step_by_step_bits(optimizer, n):
    """The NumPy epoch writes θ_{t+1} into the other of two buffers and binds the network to it;
    after an odd or even number of steps the network is bound to its own buffer again, holding
    the bits of calling ``step`` batch by batch, and ``prev`` holds θ before the last step."""
    X, y = data(n)
    loss = get_loss("mse")
    runs = []
    for by_step in (False, True):
        net = ffnn.mlp([2, 6, 1], "tanh", rng=0)
        own, W = net.theta, net.params[0][0]
        Y = targets(net, loss, y, X.shape[0], "y")
        batches = Batches(net, X, Y, 8)  # 7 or 6 steps an epoch
        trainer = Trainer(net, loss, get_optimizer(optimizer, 0.05), batches)
        for epoch in (1, 2):
            if by_step:
                batches.new_epoch(np.random.default_rng(epoch))
                for s in range(batches.steps):
                    trainer.step(*batches.batch(s))
            else:
                assert trainer.epoch(epoch, np.random.default_rng(epoch))
            assert net.theta is own and net.params[0][0] is W  # bound to its own buffer
            assert np.shares_memory(W, own)
        runs.append((own.copy(), trainer.prev.copy()))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    assert not np.array_equal(runs[0][0], runs[0][1])


def test_a_stop_or_divergence_mid_epoch_leaves_the_network_on_its_own_buffer():
    X, y = data(64)
    net = ffnn.mlp([2, 6, 1], "tanh", rng=0, dtype=np.float64)
    own = net.theta
    Y = targets(net, get_loss("mse"), y, X.shape[0], "y")
    trainer = Trainer(net, get_loss("mse"), get_optimizer("sgd", 0.05), Batches(net, X, Y, 8))

    class StopAfter:
        checks = 0

        @property
        def hit(self):
            self.checks += 1
            return self.checks == 4  # after 3 steps: the last θ was in the other buffer

    assert not trainer.epoch(1, np.random.default_rng(0), stop=StopAfter())
    assert trainer.pos == 3 and net.theta is own
    before = own.copy()
    X_bad = X.copy()
    X_bad[3 * 8 :] = np.inf  # the loss of step 3 (0-based) is not finite: after 3 steps
    trainer.batches = Batches(net, X_bad, Y, 8, shuffle=False)
    trainer.pos = 0
    with pytest.raises(Diverged), np.errstate(over="ignore", invalid="ignore"):
        trainer.epoch(2, np.random.default_rng(0))
    assert net.theta is own and trainer.pos == 3
    assert not np.array_equal(own, before) and np.isfinite(trainer.prev).all()
    last = own.copy()  # θ_3 (the loss at it was not finite); prev: θ_2 = θ_3 − s_2
    np.testing.assert_allclose(last - trainer.prev, -0.05 * trainer.grad, rtol=1e-6, atol=1e-12)
