"""Training: optimizers as (init, update) pairs, schedules, the fit loop, metrics, callbacks.

>>> from ffnn.train import fit
>>> hist = fit(net, X, y, "cross_entropy", optimizer="adam", lr=1e-3, epochs=20, validation=0.2,
...            early_stopping=5, metrics=["accuracy"])
>>> hist["val_loss"], hist.stop_reason
"""

from ffnn.train import callbacks, metrics, optimizers, schedules
from ffnn.train.history import History
from ffnn.train.loop import fit
from ffnn.train.optimizers import Optimizer, chain, get_optimizer
from ffnn.train.schedules import get_schedule

__all__ = [
    "fit",
    "History",
    "Optimizer",
    "chain",
    "get_optimizer",
    "get_schedule",
    "optimizers",
    "schedules",
    "metrics",
    "callbacks",
]
