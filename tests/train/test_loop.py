"""The fit loop: GD's linear rate on least squares, exact resume, divergence, early stopping,
reproducibility, stopping rules, validation and argument errors."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

import ffnn
from ffnn.errors import FFNNError
from ffnn.io import load_checkpoint
from ffnn.train import fit, optimizers


def regression_data(n=64, d=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, d))
    y = np.sin(2 * X[:, 0]) + 0.5 * X[:, 1] ** 2
    return X, y


def small_net(seed=0, dtype=np.float32):
    return ffnn.mlp([2, 8, 8, 1], "tanh", rng=seed, dtype=dtype)


# --- GD on least squares: the linear rate of the notes ------------------------------------------
def test_gd_on_least_squares_has_the_linear_rate_max_abs_1_minus_eta_lambda():
    """L(θ) = 1/n ‖y − X̃θ‖² with X̃ = [X, 1] has Hessian H = 2 X̃ᵀX̃ / n; GD gives
    err_{t+1} = (I − ηH) err_t, so ‖err_{t+1}‖ / ‖err_t‖ ≤ β = max_i |1 − η λ_i| and → β."""
    rng = np.random.default_rng(0)
    n, d = 50, 3
    X = rng.standard_normal((n, d)) * np.array([1.0, 0.6, 0.3])
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3 + 0.1 * rng.standard_normal(n)
    Xt = np.hstack([X, np.ones((n, 1))])  # θ = [W (1, d), b (1,)] in this order
    H = 2 * Xt.T @ Xt / n
    lam = np.linalg.eigvalsh(H)
    theta_star = np.linalg.lstsq(Xt, y, rcond=None)[0]
    eta = 1.0 / lam.max()
    beta = np.max(np.abs(1 - eta * lam))

    net = ffnn.mlp([d, 1], output="identity", rng=0, dtype=np.float64)
    thetas = [net.theta.copy()]
    fit(
        net,
        X,
        y,
        "mse",
        optimizer="gd",
        lr=eta,
        batch_size=None,
        epochs=150,
        progress=False,
        callbacks=[lambda net, epoch, logs: thetas.append(net.theta.copy())],
    )
    err = np.array([np.linalg.norm(th - theta_star) for th in thetas])
    ratios = err[1:] / err[:-1]
    assert np.all(ratios <= beta * (1 + 1e-9))  # the bound, every step
    assert ratios[-1] == pytest.approx(beta, rel=1e-4)  # and the rate it tends to
    assert err[-1] < 1e-3 * err[0]


def test_full_batch_is_one_step_per_epoch_and_matches_hand_gd():
    X, y = regression_data(n=20)
    net = ffnn.mlp([2, 1], output="identity", rng=0, dtype=np.float64)
    ref = net.copy()
    hist = fit(net, X, y, optimizer="gd", lr=0.1, batch_size=None, epochs=5, progress=False)
    assert hist["step"] == [1, 2, 3, 4, 5]
    for _ in range(5):
        L, g = ref.loss_and_grad(X, y, "mse")
        ref.theta -= 0.1 * g
    np.testing.assert_allclose(net.theta, ref.theta, rtol=1e-12)
    # the epoch's train loss is the loss at the start of the (only) step
    assert hist["train_loss"][-1] == pytest.approx(L)


def test_single_example_sgd_takes_n_steps_per_epoch():
    X, y = regression_data(n=12)
    hist = fit(small_net(), X, y, batch_size=1, epochs=2, progress=False)
    assert hist["step"] == [12, 24]


# --- same seed, same run ------------------------------------------------------------------------
def test_same_seed_same_run_and_another_seed_another():
    X, y = regression_data()
    runs = []
    for seed in (3, 3, 4):
        net = small_net()
        h = fit(
            net,
            X,
            y,
            optimizer="adam",
            lr=0.01,
            epochs=3,
            batch_size=8,
            validation=0.25,
            rng=seed,
            progress=False,
        )
        runs.append((net.theta.copy(), h["train_loss"]))
    assert np.array_equal(runs[0][0], runs[1][0]) and runs[0][1] == runs[1][1]
    assert not np.array_equal(runs[0][0], runs[2][0])


# --- resume from a checkpoint: the same weights, bit for bit -------------------------------------
FIT = dict(
    optimizer="adam",
    lr=0.01,
    batch_size=10,
    epochs=6,
    validation=0.2,
    early_stopping=50,
    metrics=["mse"],
    rng=7,
    progress=False,
)


def uninterrupted():
    X, y = regression_data()
    net = small_net()
    hist = fit(net, X, y, **FIT)
    return X, y, net, hist


def test_resume_after_keyboard_interrupt_in_a_callback(tmp_path):
    X, y, ref, ref_hist = uninterrupted()
    ck = tmp_path / "run.ckpt"

    def ctrl_c(net, epoch, logs):
        if epoch == 3:
            raise KeyboardInterrupt

    net = small_net()
    h1 = fit(net, X, y, checkpoint=ck, callbacks=[ctrl_c], **FIT)
    assert h1.stop_reason == "interrupted" and h1.epochs == 3
    assert load_checkpoint(ck).epoch == 3
    net2 = small_net(seed=99)  # other weights: the checkpoint's must win
    h2 = fit(net2, X, y, resume=ck, checkpoint=ck, **FIT)
    assert np.array_equal(net2.theta, ref.theta)
    assert h2["train_loss"] == ref_hist["train_loss"]
    assert h2["val_loss"] == ref_hist["val_loss"]
    assert h2.stop_reason == "max_epochs"


def test_resume_after_stopping_at_epoch_k(tmp_path):
    X, y, ref, _ = uninterrupted()
    ck = tmp_path / "run.ckpt"
    net = small_net()
    fit(net, X, y, checkpoint=ck, **{**FIT, "epochs": 2})
    net2 = small_net()
    fit(net2, X, y, resume=ck, **FIT)
    assert np.array_equal(net2.theta, ref.theta)


def test_ctrl_c_mid_epoch_stops_at_a_batch_boundary_and_resumes_exactly(tmp_path):
    X, y, ref, ref_hist = uninterrupted()
    calls = {"n": 0}

    class SignalOnCall(ffnn.MSE):
        def value_and_delta(self, z, y, output):
            calls["n"] += 1
            if calls["n"] == 13:  # epoch 2 (6 steps + 2 evaluations per epoch), step 5
                os.kill(os.getpid(), signal.SIGINT)
            return super().value_and_delta(z, y, output)

    ck = tmp_path / "run.ckpt"
    net = small_net()
    h1 = fit(net, X, y, loss=SignalOnCall(), checkpoint=ck, **FIT)
    assert h1.stop_reason == "interrupted"
    c = load_checkpoint(ck)
    assert c.loop["pos"] > 0 and "order" in c.arrays  # a mid-epoch checkpoint
    np.testing.assert_array_equal(c.net.theta, net.theta)
    net2 = small_net()
    h2 = fit(net2, X, y, resume=ck, **FIT)
    assert np.array_equal(net2.theta, ref.theta)
    assert h2["train_loss"] == ref_hist["train_loss"]


def test_partial_fit_state_continues_the_optimizer():
    X, y = regression_data()
    a = small_net()
    fit(a, X, y, optimizer="momentum", lr=0.05, epochs=4, batch_size=None, progress=False)
    b = small_net()
    h = fit(b, X, y, optimizer="momentum", lr=0.05, epochs=2, batch_size=None, progress=False)
    h2 = fit(
        b,
        X,
        y,
        optimizer="momentum",
        lr=0.05,
        epochs=2,
        batch_size=None,
        progress=False,
        state=h.state,
    )
    assert h2["epoch"] == [3, 4] and h2["step"] == [3, 4]
    np.testing.assert_array_equal(a.theta, b.theta)


def test_resume_errors(tmp_path):
    X, y = regression_data()
    ck = tmp_path / "c.ckpt"
    fit(small_net(), X, y, checkpoint=ck, epochs=1, progress=False)
    with pytest.raises(FFNNError, match="architecture"):
        fit(ffnn.mlp([2, 4, 1], rng=0), X, y, resume=ck, epochs=2, progress=False)
    with pytest.raises(FFNNError, match="does not fit|batches"):
        fit(small_net(), X, y, resume=ck, epochs=2, optimizer="adam", progress=False)
    with pytest.raises(FFNNError, match="batches"):
        fit(small_net(), X, y, resume=ck, epochs=2, batch_size=5, progress=False)
    with pytest.raises(FFNNError, match="does not exist"):
        fit(small_net(), X, y, resume=tmp_path / "none.ckpt", progress=False)


# --- divergence ---------------------------------------------------------------------------------
def test_huge_learning_rate_stops_with_a_message_and_finite_parameters():
    X, y = regression_data()
    net = ffnn.mlp([2, 16, 1], "relu", rng=0)
    with pytest.warns(RuntimeWarning, match="diverged"):
        hist = fit(net, X, 100 * y, optimizer="sgd", lr=50.0, epochs=50, progress=False)
    assert hist.diverged
    assert "training diverged at epoch" in hist.stop_reason
    assert "lower the learning rate (now 50)" in hist.stop_reason
    assert np.all(np.isfinite(net.theta))
    L, _ = net.loss_and_grad(X, 100 * y, "mse")
    assert np.isfinite(L)


# --- early stopping -----------------------------------------------------------------------------
def test_early_stopping_restores_the_best_weights():
    """Validation targets opposite to the training ones: the better the fit, the worse the
    validation loss, so it peaks early and training stops after `patience` more epochs."""
    X, y = regression_data(n=48)
    net = small_net(dtype=np.float64)
    snapshots = {}
    hist = fit(
        net,
        X,
        y,
        optimizer="adam",
        lr=0.02,
        batch_size=16,
        epochs=100,
        validation=(X, -y),
        early_stopping=3,
        progress=False,
        callbacks=[lambda net, e, logs: snapshots.setdefault(e, net.theta.copy())],
    )
    assert hist.stop_reason == "early_stopping"
    best = hist.best_epoch
    assert hist.epochs == best + 3
    assert hist["val_loss"][best - 1] == min(hist["val_loss"])
    np.testing.assert_array_equal(net.theta, snapshots[best])
    assert "restored the weights of epoch" in hist.message


# --- other stopping rules -------------------------------------------------------------------------
def test_tolerances_stop_the_run():
    X, y = regression_data()
    net = ffnn.mlp([2, 1], output="identity", rng=0, dtype=np.float64)
    h = fit(
        net,
        X,
        y,
        optimizer="gd",
        lr=0.2,
        batch_size=None,
        epochs=500,
        tol_grad=1e-3,
        progress=False,
    )
    assert h.stop_reason == "tol_grad" and h["grad_norm"][-1] <= 1e-3 < h["grad_norm"][-2]
    net = small_net()
    h = fit(net, X, y, optimizer="adam", lr=0.01, epochs=500, tol_loss=0.05, progress=False)
    assert h.stop_reason == "tol_loss" and h["train_loss"][-1] <= 0.05 < h["train_loss"][-2]


def test_callback_returning_true_stops():
    X, y = regression_data()
    seen = []

    def cb(net, epoch, logs):
        seen.append(sorted(logs))
        return epoch == 2

    h = fit(small_net(), X, y, epochs=10, callbacks=[cb], progress=False)
    assert h.stop_reason == "callback" and h.epochs == 2
    assert "train_loss" in seen[0] and "grad_norm" in seen[0]


def test_keys_a_callback_adds_land_in_the_history_and_loop_keys_stay():
    X, y = regression_data()

    def cb(net, epoch, logs):
        logs["theta_norm"] = float(np.linalg.norm(net.theta))
        logs["train_loss"] = -1.0  # a callback cannot overwrite what the loop measured

    h = fit(small_net(), X, y, epochs=3, callbacks=[cb], progress=False)
    assert len(h["theta_norm"]) == 3 and all(v > 0 for v in h["theta_norm"])
    assert all(v >= 0 for v in h["train_loss"])
    assert "theta_norm" in h.columns


def test_train_loss_is_the_running_mean_of_minibatch_losses():
    X, y = regression_data(n=30)
    losses = []

    class Spy(ffnn.MSE):
        def value_and_delta(self, z, y, output):
            L, d = super().value_and_delta(z, y, output)
            losses.append((L, z.shape[0]))
            return L, d

    h = fit(small_net(), X, y, loss=Spy(), batch_size=8, epochs=1, progress=False)
    assert [m for _, m in losses] == [8, 8, 8, 6]
    assert h["train_loss"][0] == pytest.approx(sum(L * m for L, m in losses) / 30, rel=1e-12)


# --- classification, validation split, metrics ---------------------------------------------
def test_classification_with_labels_and_split():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    net = ffnn.mlp([2, 16, 2], "tanh", output="softmax", rng=0)
    h = fit(
        net,
        X,
        y,
        "cross_entropy",
        optimizer="adam",
        lr=0.03,
        epochs=40,
        batch_size=16,
        validation=0.25,
        metrics=["accuracy"],
        progress=False,
    )
    assert h.config["n_train"] == 90 and h.config["n_val"] == 30
    assert h["train_accuracy"][-1] > 0.85
    assert h["train_loss"][-1] < h["train_loss"][0]


def test_progress_bar_writes_to_stderr(capsys):
    X, y = regression_data(n=16)
    fit(small_net(), X, y, epochs=2, progress=True)
    assert "2/2" in capsys.readouterr().err
    fit(small_net(), X, y, epochs=2, progress=None)  # stderr is not a terminal here: quiet
    assert capsys.readouterr().err == ""


def test_custom_optimizer_object():
    X, y = regression_data()
    opt = optimizers.chain(
        optimizers.clip_by_norm(1.0), optimizers.momentum_block(0.5), optimizers.scale_by_lr(0.05)
    )
    h = fit(small_net(), X, y, optimizer=opt, epochs=3, progress=False)
    assert h["lr"] == [0.05] * 3
    with pytest.raises(FFNNError, match="schedule"):
        fit(small_net(), X, y, optimizer=opt, schedule="cosine", progress=False)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(early_stopping=3), "validation"),
        (dict(batch_size=0), "batch_size"),
        (dict(validation=1.5), "validation"),
        (dict(optimizer="bogus"), "unknown optimizer"),
        (dict(metrics=["accuracy"]), "classifier"),
        (dict(loss="cross_entropy"), "softmax"),
        (dict(momentum=0.9), "does not take"),
        (dict(epochs=-1), "epochs"),
    ],
)
def test_argument_errors(kwargs, match):
    X, y = regression_data(n=10)
    with pytest.raises(FFNNError, match=match):
        fit(small_net(), X, y, progress=False, **kwargs)


def test_data_errors():
    X, y = regression_data(n=10)
    with pytest.raises(FFNNError, match="shape"):
        fit(small_net(), X[:, :1], y, progress=False)
    with pytest.raises(FFNNError, match="rows"):
        fit(small_net(), X, y[:5], progress=False)
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(FFNNError, match="NaN"):
        fit(small_net(), Xn, y, progress=False)
