"""Shared helpers of the part-1 lab experiments: GD with per-epoch records, slope fits."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ffnn.core.graph import Network
from ffnn.lab._figures import loglog_slope  # noqa: F401  (re-exported to the experiments)
from ffnn.lab.gd import gd


def gd_history(
    net: Network,
    X,
    y,
    loss: str = "mse",
    *,
    lr: float,
    epochs: int,
    callbacks: Sequence[Callable] = (),
) -> list[dict]:
    """``epochs`` steps of exact full-batch GD (:func:`ffnn.lab.gd.gd`); per-epoch records.

    Each record has ``epoch`` and ``train_loss`` (the loss before that epoch's step), plus
    whatever the callbacks ``cb(net, epoch, logs)`` add.
    """
    records: list[dict] = []

    def log(t, L, g):
        if t == epochs:
            return True
        logs = {"epoch": t, "train_loss": L}
        for cb in callbacks:
            cb(net, t, logs)
        records.append(logs)
        return False

    gd(net, X, y, loss, lr=lr, steps=epochs, callback=log)
    return records
