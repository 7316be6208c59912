"""Early stopping on the validation accuracy: the best epoch kept, ties broken by the loss."""

import numpy as np
import pytest

from ffnn.errors import FFNNError
from ffnn.runs import AccuracyStopping, RunConfig, monitor, prepare_run, run_training


class _Net:
    def __init__(self):
        self.theta = np.zeros(3)


def test_keeps_the_best_accuracy_and_stops_after_patience():
    net = _Net()
    rule = AccuracyStopping(2, net.theta)
    logs = [(0.5, 1.0), (0.7, 1.2), (0.7, 1.1), (0.6, 0.9), (0.65, 0.8)]
    stops = []
    for epoch, (acc, loss) in enumerate(logs, start=1):
        net.theta[:] = epoch
        stops.append(rule(net, epoch, {"val_accuracy": acc, "val_loss": loss}))
    assert stops == [False, False, False, False, True]
    assert rule.best_epoch == 3  # the tie at 0.7 goes to the lower loss
    assert "did not improve for 2 epochs" in rule.message
    words = rule.finish(net, "early_stopping")
    assert np.all(net.theta == 3) and "restored the weights of epoch 3" in words
    assert rule.finish(net, "interrupted") == ""


def test_monitor_follows_the_task(tmp_path):
    out = str(tmp_path / "r")
    assert monitor(prepare_run(RunConfig("iris", hidden=[4], out=out))) == "val_accuracy"
    assert monitor(prepare_run(RunConfig("iris", hidden=[4], loss="mse", out=out))) == "val_loss"
    assert monitor(prepare_run(RunConfig("sine", hidden=[4], out=out))) == "val_loss"
    with pytest.raises(FFNNError, match="--monitor val_accuracy needs a classification"):
        prepare_run(RunConfig("sine", hidden=[4], monitor="val_accuracy", out=out))


def test_a_run_restores_the_best_accuracy_epoch(tmp_path):
    cfg = RunConfig("digits", hidden=[16], epochs=40, patience=3, out=str(tmp_path / "r"))
    result = run_training(cfg)
    h = result.history
    acc = h["val_accuracy"]
    assert acc[h.best_epoch - 1] == max(acc)
    assert result.metrics["val"]["accuracy"] == pytest.approx(max(acc))
    assert "restored the weights of epoch" in h.message
