"""History: column access, JSON and CSV round trips."""

from __future__ import annotations

import json

import numpy as np
import pytest

import ffnn
from ffnn.errors import FFNNError
from ffnn.train import History, fit


@pytest.fixture
def hist():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    y = (X[:, 0] > 0).astype(np.int64)
    net = ffnn.mlp([3, 5, 2], "tanh", output="softmax", rng=0)
    return fit(
        net,
        X,
        y,
        "cross_entropy",
        optimizer="adam",
        lr=0.01,
        epochs=4,
        batch_size=16,
        validation=0.25,
        metrics=["accuracy"],
        progress=False,
    )


def test_columns(hist):
    assert len(hist) == 4 and hist.epochs == 4
    for key in (
        "epoch",
        "train_loss",
        "val_loss",
        "train_accuracy",
        "val_accuracy",
        "grad_norm",
        "lr",
        "time",
    ):
        assert key in hist.columns
    assert hist["epoch"] == [1, 2, 3, 4]
    assert all(isinstance(v, float) for v in hist["train_loss"])
    assert hist.stop_reason == "max_epochs" and not hist.diverged
    assert hist.best_epoch in (1, 2, 3, 4)
    with pytest.raises(KeyError):
        hist["nope"]


def test_json_round_trip(hist, tmp_path):
    path = tmp_path / "h.json"
    hist.to_json(path)
    back = History.from_json(path)
    assert back.records == hist.records
    assert back.stop_reason == hist.stop_reason and back.best_epoch == hist.best_epoch
    assert json.loads(path.read_text())["format"] == "ffnn.history/1"
    assert History.from_json(hist.to_json()).records == hist.records


def test_csv_round_trip(hist, tmp_path):
    path = tmp_path / "h.csv"
    hist.to_csv(path)
    back = History.from_csv(path)
    assert back.records == hist.records  # floats written with repr: exact
    assert path.read_text().splitlines()[0].startswith("epoch,train_loss")


def test_read_errors(tmp_path):
    with pytest.raises(FFNNError, match="cannot read"):
        History.from_json(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(FFNNError, match="JSON"):
        History.from_json(tmp_path / "bad.json")
