"""Checkpoints (training state) in ffnn.train.checkpoints: round trip, atomic writes each epoch,
files written by earlier versions, and the old import path ffnn.io."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import ffnn
from ffnn.errors import FFNNError
from ffnn.io import load_model, save_model
from ffnn.train import History, fit
from ffnn.train.checkpoints import Checkpoint, load_checkpoint, save_checkpoint
from ffnn.train.optimizers import adam

DATA = Path(__file__).parent / "data"


def test_checkpoint_round_trip(tmp_path):
    net = ffnn.mlp([2, 4, 1], rng=0, dtype=np.float64)
    opt = adam(0.01)
    state = opt.init(net.theta)
    g = np.arange(net.n_params, dtype=np.float64)
    for _ in range(3):
        step, state = opt.update(g, state, net.theta)
        net.theta += step
    rng = np.random.default_rng(5)
    rng.standard_normal(10)
    hist = History([{"epoch": 1, "train_loss": 0.5}], stop_reason="max_epochs")
    path = tmp_path / "c.ckpt"
    save_checkpoint(
        path,
        net,
        optimizer_state=state,
        epoch=4,
        rng=rng,
        history=hist,
        loop={"pos": 2},
        arrays={"best_theta": net.theta * 2},
        metadata={"who": "test"},
    )
    c = load_checkpoint(path)
    np.testing.assert_array_equal(c.net.theta, net.theta)
    assert c.epoch == 4 and c.loop == {"pos": 2} and c.metadata == {"who": "test"}
    assert c.optimizer_state["step"] == 3
    np.testing.assert_array_equal(c.optimizer_state["adam"]["m"], state["adam"]["m"])
    np.testing.assert_array_equal(c.optimizer_state["adam"]["v"], state["adam"]["v"])
    assert "_u" not in c.optimizer_state
    np.testing.assert_array_equal(c.arrays["best_theta"], net.theta * 2)
    assert c.history.records == hist.records
    r2 = np.random.default_rng(0)
    r2.bit_generator.state = c.rng_state
    np.testing.assert_array_equal(r2.standard_normal(4), rng.standard_normal(4))
    # the model of a checkpoint loads; a model is not a checkpoint
    assert np.array_equal(load_model(path)[0].theta, net.theta)
    save_model(tmp_path / "m", net)
    with pytest.raises(FFNNError, match="not a checkpoint"):
        load_checkpoint(tmp_path / "m")


def test_fit_checkpoint_is_written_atomically_each_epoch(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 2)), rng.standard_normal(20)
    epochs_seen = []

    def look(net, epoch, logs):
        if (tmp_path / "run.ckpt").exists():
            epochs_seen.append(load_checkpoint(tmp_path / "run.ckpt").epoch)

    fit(
        ffnn.mlp([2, 3, 1], rng=0),
        X,
        y,
        epochs=3,
        checkpoint=tmp_path / "run.ckpt",
        callbacks=[look],
        progress=False,
    )
    assert epochs_seen == [1, 2]  # the callback runs before that epoch's checkpoint
    assert load_checkpoint(tmp_path / "run.ckpt").epoch == 3
    assert os.listdir(tmp_path) == ["run.ckpt"]


def test_old_import_path_ffnn_io_gives_the_same_objects():
    import ffnn.io as io

    assert io.load_checkpoint is load_checkpoint
    assert io.save_checkpoint is save_checkpoint
    assert io.Checkpoint is Checkpoint
    with pytest.raises(AttributeError):
        io.no_such_name  # noqa: B018


def test_a_checkpoint_written_before_the_move_resumes_exactly():
    """baseline_adam_epoch3.ckpt was written by fit(checkpoint=...) of the code before
    checkpoints moved into ffnn.train (adam, validation split, early stopping, stopped after
    epoch 3 of 6); resuming it equals an uninterrupted run — bit for bit where OpenBLAS runs the
    kernels the file was made with (its Haswell ones: OPENBLAS_CORETYPE=Haswell passes with
    assert_array_equal), and to 1e-5 where it picks others (SkylakeX here: the last bits of the
    first three epochs differ, and Adam's three more carry them to ~5e-7)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2]
    kw = dict(optimizer="adam", lr=0.01, batch_size=16, epochs=6, validation=0.25)
    kw.update(early_stopping=10, rng=3, progress=False)
    full = ffnn.mlp([3, 5, 1], "tanh", rng=0)
    h_full = fit(full, X, y, "mse", **kw)
    ck = load_checkpoint(DATA / "baseline_adam_epoch3.ckpt")
    assert ck.epoch == 3 and ck.optimizer_state["step"] == 9 and "best_theta" in ck.arrays
    net = ffnn.mlp([3, 5, 1], "tanh", rng=1)  # other weights: the checkpoint's are loaded
    h = fit(net, X, y, "mse", resume=DATA / "baseline_adam_epoch3.ckpt", **kw)
    np.testing.assert_allclose(net.theta, full.theta, rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(h["val_loss"], h_full["val_loss"], rtol=1e-5)
    assert h.best_epoch == h_full.best_epoch
