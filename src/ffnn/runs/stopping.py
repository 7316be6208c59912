"""What a run's early stopping watches, and the metrics fit records for it.

fit's own early stopping watches the validation loss. On a classifier the cross-entropy of the
validation set often starts to rise (the network grows over-confident on the examples it gets
wrong) while the accuracy still improves: MNIST-1D's validation loss is lowest near epoch 7 at
57-63% test accuracy, while the accuracy goes on to 66-69%. A classification run therefore
stops, by default, on the validation accuracy: :class:`ffnn.train.stopping.EarlyStopping` with
``monitor="val_accuracy"`` keeps θ of the epoch with the best validation accuracy (the lower
validation loss breaks ties) and puts it back at the end, as fit does for the loss.
"""

from __future__ import annotations

import numpy as np

from ffnn.errors import FFNNError
from ffnn.train.stopping import EarlyStopping


def AccuracyStopping(patience: int, theta: np.ndarray) -> EarlyStopping:  # noqa: N802
    """Early stopping on ``val_accuracy`` (kept for callers of the earlier class)."""
    return EarlyStopping(patience, theta, monitor="val_accuracy")


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
