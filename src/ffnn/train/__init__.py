"""Training: optimizers as (init, update) pairs, schedules, the step loop, stopping rules,
callbacks, checkpoints, L-BFGS, metrics, and ``fit`` composing them.

>>> from ffnn.train import fit
>>> hist = fit(net, X, y, "cross_entropy", optimizer="adam", lr=1e-3, epochs=20, validation=0.2,
...            early_stopping=5, metrics=["accuracy"])
>>> hist["val_loss"], hist.stop_reason

The parts, for a caller who drives the loop (see :mod:`ffnn.train.step`):

>>> trainer = Trainer(net, get_loss("mse"), get_optimizer("adam", 1e-3), Batches(net, X, Y, 32))
>>> trainer.epoch(1, rng); trainer.record(1)
"""

from ffnn.train import callbacks, checkpoints, metrics, optimizers, schedules, stopping
from ffnn.train.checkpoints import Checkpoint, load_checkpoint, save_checkpoint
from ffnn.train.history import History
from ffnn.train.lbfgs import L2OnWeights, lbfgs
from ffnn.train.loop import fit
from ffnn.train.optimizers import Optimizer, chain, get_optimizer
from ffnn.train.schedules import get_schedule
from ffnn.train.step import Batches, Diverged, Trainer
from ffnn.train.stopping import (
    AdaptiveRate,
    EarlyStopping,
    GradTolerance,
    LossTolerance,
    NoImprovement,
    StoppingRule,
    TimeLimit,
)

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
    "stopping",
    "checkpoints",
    "Trainer",
    "Batches",
    "Diverged",
    "StoppingRule",
    "EarlyStopping",
    "LossTolerance",
    "GradTolerance",
    "TimeLimit",
    "NoImprovement",
    "AdaptiveRate",
    "Checkpoint",
    "save_checkpoint",
    "load_checkpoint",
    "lbfgs",
    "L2OnWeights",
]
