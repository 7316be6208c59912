"""Stopping rules as callbacks: each one alone in callbacks= stops as fit's own option does;
scikit-learn's no-improvement rule and adaptive learning rate."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ffnn
from ffnn.errors import FFNNError
from ffnn.train import fit
from ffnn.train.callbacks import Callback
from ffnn.train.stopping import (
    AdaptiveRate,
    EarlyStopping,
    GradTolerance,
    LossTolerance,
    NoImprovement,
    RateMultiplier,
    StoppingRule,
    TimeLimit,
)


def data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, 2))
    return X, np.sin(2 * X[:, 0]) + X[:, 1] ** 2


def test_rules_are_callbacks():
    for rule in (
        LossTolerance(1.0),
        GradTolerance(1.0),
        TimeLimit(5),
        EarlyStopping(2, np.ones(3)),
    ):
        assert isinstance(rule, StoppingRule) and isinstance(rule, Callback)


@pytest.mark.parametrize(
    "make, kwargs",
    [(lambda: LossTolerance(0.05), dict(tol_loss=0.05)),
     (lambda: GradTolerance(0.3), dict(tol_grad=0.3))],
)  # fmt: skip
def test_a_rule_in_callbacks_stops_at_the_same_epoch_as_the_option(make, kwargs):
    X, y = data()
    common = dict(optimizer="sgd", lr=0.1, batch_size=None, epochs=300, progress=False)
    net_a, net_b = ffnn.mlp([2, 6, 1], "tanh", rng=0), ffnn.mlp([2, 6, 1], "tanh", rng=0)
    ha = fit(net_a, X, y, "mse", **common, **kwargs)
    rule = make()
    hb = fit(net_b, X, y, "mse", **common, callbacks=[rule])
    assert ha.stop_reason == rule.reason and hb.stop_reason == "callback"
    assert len(ha) == len(hb) < 300 and rule.message == ha.message
    np.testing.assert_array_equal(net_a.theta, net_b.theta)


def test_early_stopping_rule_keeps_and_restores_the_best_theta():
    net = ffnn.mlp([2, 3, 1], rng=0)
    rule = EarlyStopping(2, net.theta)
    theta_best = net.theta.copy()
    for epoch, val in enumerate([1.0, 0.5, 0.7, 0.9], start=1):
        net.theta += 1.0
        if epoch == 2:
            theta_best = net.theta.copy()
        stop = rule(net, epoch, {"val_loss": val})
    assert stop and rule.best_epoch == 2 and rule.bad_epochs == 2
    assert "restored the weights of epoch 2" in rule.finish(net, "early_stopping")
    np.testing.assert_array_equal(net.theta, theta_best)
    assert rule.finish(net, "interrupted") == ""


def test_time_limit_reads_the_records_time():
    rule = TimeLimit(10.0)
    assert not rule(None, 1, {"time": 1.0})
    rule2 = TimeLimit(10.0)
    assert rule2(None, 1, {"time": 11.0}) and "time limit" in rule2.message


def test_no_improvement_counts_as_scikit_learn_and_the_adaptive_rate_divides_by_5():
    scores = iter([1.0, 0.99995, 0.9999, 0.99985, 0.5])
    rate = RateMultiplier()
    rule = NoImprovement(lambda net, e, logs: next(scores), tol=1e-3, n_iter_no_change=2,
                         adaptive=AdaptiveRate(rate, lr=0.1))  # fmt: skip
    answers = [rule(None, e, {}) for e in range(1, 5)]
    assert answers == [False, False, False, False]  # 3 epochs without improvement > 2: η / 5
    assert rate.value == pytest.approx(0.2) and rule.count == 0 and rule.best == 0.99985
    tiny = RateMultiplier()
    tiny.value = 1e-6
    rule = NoImprovement(lambda net, e, logs: 1.0, tol=0.0, n_iter_no_change=1, best=0.5,
                         adaptive=AdaptiveRate(tiny, lr=1.0))  # fmt: skip
    assert not rule(None, 1, {}) and rule(None, 2, {})
    assert rule.message.endswith("Learning rate too small. Stopping.")


def test_no_improvement_maximizes_a_score_and_keeps_the_best_theta():
    net = ffnn.mlp([2, 3, 1], rng=0)
    scores = iter([0.5, 0.8, 0.7, 0.7])
    rule = NoImprovement(lambda n, e, logs: next(scores), tol=0.0, n_iter_no_change=1,
                         maximize=True, keep_best=net.theta)  # fmt: skip
    kept = None
    for epoch in range(1, 5):
        net.theta += 1.0
        kept = net.theta.copy() if epoch == 2 else kept
        if rule(net, epoch, {}):
            break
    assert epoch == 4 and rule.best == 0.8 and math.isfinite(rule.best)
    rule.restore(net)
    np.testing.assert_array_equal(net.theta, kept)


def test_early_stopping_on_the_accuracy_breaks_ties_by_the_loss_and_round_trips():
    net = ffnn.mlp([2, 3, 1], rng=0)
    rule = EarlyStopping(2, net.theta, monitor="val_accuracy")
    logs = [(0.5, 1.0), (0.7, 1.2), (0.7, 1.1), (float("nan"), 0.1), (0.65, 0.8)]
    stops = []
    for epoch, (acc, loss) in enumerate(logs, start=1):
        net.theta[:] = epoch
        stops.append(rule(net, epoch, {"val_accuracy": acc, "val_loss": loss}))
    assert stops == [False, False, False, False, True] and rule.fired
    assert rule.best_epoch == 3 and rule.best_val == 1.1
    assert "validation accuracy did not improve for 2 epochs" in rule.message
    info, arrays = rule.state()
    again = EarlyStopping(2, net.theta, monitor="val_accuracy")
    again.load_state(info, arrays, net.theta)
    assert again.best == rule.best and again.bad_epochs == 2
    assert "(val_accuracy 70.00%)" in rule.finish(net, "early_stopping")
    np.testing.assert_array_equal(net.theta, 3.0)
    with pytest.raises(FFNNError, match="monitor is one of"):
        EarlyStopping(2, net.theta, monitor="accuracy")
