"""Shared helpers of the part-1 lab experiments: figures, exact full-batch GD, slope fits."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ffnn.core.graph import Network
from ffnn.lab._figures import pyplot, save  # noqa: F401  (re-exported to the experiments)


def gd(
    net: Network,
    X,
    y,
    loss: str = "mse",
    *,
    lr: float,
    epochs: int,
    callbacks: Sequence[Callable] = (),
) -> list[dict]:
    """Exact full-batch gradient descent θ ← θ − lr ∇L(θ); returns per-epoch records.

    Each record has ``epoch`` and ``train_loss`` (the loss before that epoch's step), plus
    whatever the callbacks ``cb(net, epoch, logs)`` add.
    """
    records = []
    buf = net.gradient_buffer()
    for epoch in range(epochs):
        L, g = net.loss_and_grad(X, y, loss, out=buf)
        logs = {"epoch": epoch, "train_loss": L}
        for cb in callbacks:
            cb(net, epoch, logs)
        records.append(logs)
        net.theta -= lr * g
    return records


def loglog_slope(x, y) -> float:
    """Least-squares slope of log y against log x."""
    return float(np.polyfit(np.log(np.asarray(x, float)), np.log(np.asarray(y, float)), 1)[0])
