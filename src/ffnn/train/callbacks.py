"""Callbacks: ``cb(net, epoch, logs) -> bool | None``, called by ``fit`` after every epoch.

``logs`` is a copy of the epoch's history record (train_loss, val_loss, metrics, grad_norm, lr,
step, time). Returning True stops the run (stop_reason "callback"); raising KeyboardInterrupt
stops it as if interrupted, with the checkpoint written. Any plain function will do; the classes
here are common cases. The stopping rules (early stopping, tolerances, ``TimeLimit``,
scikit-learn's no-improvement rule) are callbacks too: :mod:`ffnn.train.stopping`.
"""

from __future__ import annotations

import csv
import os
import sys
from typing import TextIO

from ffnn.core.graph import Network

__all__ = ["Callback", "PrintLogger", "CSVLogger", "StopAtEpoch"]  # TimeLimit: stopping


class Callback:
    """Base class for callbacks with state: override ``__call__``."""

    def __call__(self, net: Network, epoch: int, logs: dict) -> bool | None:
        return None


class PrintLogger(Callback):
    """Print one line of the record every ``every`` epochs (to ``file``, default stdout)."""

    def __init__(self, every: int = 1, file: TextIO | None = None):
        self.every, self.file = max(1, int(every)), file

    def __call__(self, net, epoch, logs):
        if epoch % self.every == 0:
            parts = [f"epoch {epoch}"]
            parts += [
                f"{k} {v:.4g}"
                for k, v in logs.items()
                if k not in ("epoch", "step") and isinstance(v, float)
            ]
            print("  ".join(parts), file=self.file or sys.stdout, flush=True)
        return None


class CSVLogger(Callback):
    """Append each epoch's record to a CSV file as it happens (flushed; the header once)."""

    def __init__(self, path: str | os.PathLike):
        self.path = path
        self._columns: list[str] | None = None

    def __call__(self, net, epoch, logs):
        new = self._columns is None
        if new:
            self._columns = list(logs)
        with open(self.path, "w" if new else "a", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            if new:
                w.writerow(self._columns)
            w.writerow(["" if logs.get(c) is None else repr(logs.get(c)) for c in self._columns])
        return None


class StopAtEpoch(Callback):
    """Stop after epoch ``epoch`` (useful to split a run in two)."""

    def __init__(self, epoch: int):
        self.epoch = int(epoch)

    def __call__(self, net, epoch, logs):
        return epoch >= self.epoch


def __getattr__(name: str):
    """``TimeLimit`` lives with the stopping rules (:mod:`ffnn.train.stopping`)."""
    if name == "TimeLimit":
        from ffnn.train.stopping import TimeLimit

        return TimeLimit
    raise AttributeError(f"module 'ffnn.train.callbacks' has no attribute {name!r}")
