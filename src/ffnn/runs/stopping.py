"""Early stopping on the validation accuracy, for classification runs.

fit's own early stopping watches the validation loss. On a classifier the cross-entropy of the
validation set often starts to rise (the network grows over-confident on the examples it gets
wrong) while the accuracy still improves: MNIST-1D's validation loss is lowest near epoch 7 at
57-63% test accuracy, while the accuracy goes on to 66-69%. This rule keeps θ of the epoch with
the best validation accuracy (the lower validation loss breaks ties) and stops after ``patience``
epochs without a better one; :func:`finish` puts that θ back, as fit does for the loss.
"""

from __future__ import annotations

import math

import numpy as np

from ffnn.errors import FFNNError
from ffnn.train.stopping import StoppingRule


class AccuracyStopping(StoppingRule):
    """Stop when ``val_accuracy`` has not improved for ``patience`` epochs; keep the best θ."""

    reason = "early_stopping"

    def __init__(self, patience: int, theta: np.ndarray):
        self.patience = int(patience)
        self.best_theta = theta.copy()
        self.best = (-math.inf, math.inf)  # (val_accuracy, -val_loss) ordering, see observe
        self.best_epoch: int | None = None
        self.bad_epochs = 0
        self.fired = False

    def observe(self, net, epoch, logs):
        acc, loss = logs.get("val_accuracy"), logs.get("val_loss")
        if acc is None or not math.isfinite(acc):
            self.bad_epochs += 1
            return
        loss = math.inf if loss is None or not math.isfinite(loss) else loss
        if acc > self.best[0] or (acc == self.best[0] and loss < self.best[1]):
            self.best, self.best_epoch, self.bad_epochs = (acc, loss), epoch, 0
            np.copyto(self.best_theta, net.theta)
        else:
            self.bad_epochs += 1

    def check(self, net, epoch, logs):
        if self.bad_epochs >= self.patience:
            self.fired = True
            return f"the validation accuracy did not improve for {self.bad_epochs} epochs"
        return None

    def finish(self, net, stop_reason: str) -> str:
        """Put back θ of the best epoch unless the run was interrupted or diverged; the words to
        add to the run's message ("" when nothing was restored)."""
        if self.best_epoch is None or stop_reason == "interrupted":
            return ""
        if stop_reason.startswith("training diverged"):
            return ""
        np.copyto(net.theta, self.best_theta)
        return (
            f"; restored the weights of epoch {self.best_epoch} "
            f"(val_accuracy {100 * self.best[0]:.2f}%)"
        )


def fit_metrics(task: str, output: str) -> list[str]:
    """The metrics fit records per epoch for this task and output activation."""
    # fit's accuracy reads probabilities; with an identity output the metrics still report the
    # accuracy of argmax_k z_k
    if task == "regression":
        return ["r2"]
    return ["accuracy"] if output in ("softmax", "sigmoid") else []


def monitor(prep) -> str:
    """What early stopping watches: ``config.monitor``, or for "auto" the validation accuracy
    of a classifier whose output gives probabilities, else the validation loss."""
    m = prep.config.monitor
    has_accuracy = "accuracy" in fit_metrics(prep.dataset.task, prep.output)
    if m == "auto":
        return "val_accuracy" if has_accuracy else "val_loss"
    if m == "val_accuracy" and not has_accuracy:
        raise FFNNError(
            "--monitor val_accuracy needs a classification run with a softmax or sigmoid output"
        )
    if m not in ("val_loss", "val_accuracy"):
        raise FFNNError(f"--monitor is auto, val_loss or val_accuracy, got {m!r}")
    return m
