"""Stopping rules as callbacks: ``rule(net, epoch, logs) -> bool`` like any callback, with more.

A :class:`StoppingRule` splits its work in two so that ``fit`` can order it around the user's
callbacks: ``observe`` (bookkeeping, before the callbacks: e.g. keep the best θ) and ``check``
(after them: a message when the run should stop, else None); ``finish`` runs at the end (e.g.
restore the best θ) and returns words to add to the message; ``reason`` is the History's
``stop_reason``. Called as a plain callback (in ``callbacks=``) a rule observes and checks at once.

* :class:`EarlyStopping`   patience on the validation loss (or accuracy), restoring the best θ
* :class:`LossTolerance`   L_train ≤ tol;   :class:`GradTolerance`   RMS ‖∂L/∂θ‖ ≤ tol
* :class:`TimeLimit`       wall seconds since the run began
* :class:`NoImprovement`   scikit-learn's rule (tol, n_iter_no_change) on any score, with
  :class:`AdaptiveRate` (divide η by 5 instead of stopping, until η ≤ 1e-6)
* divergence (a non-finite loss, gradient or θ) is checked at every step by
  :class:`ffnn.train.step.Trainer` (it raises ``Diverged``); :func:`diverged_message` words it.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ffnn.core.graph import Network
from ffnn.errors import FFNNError
from ffnn.train.callbacks import Callback

__all__ = [
    "StoppingRule",
    "EarlyStopping",
    "LossTolerance",
    "GradTolerance",
    "TimeLimit",
    "NoImprovement",
    "AdaptiveRate",
    "RateMultiplier",
    "diverged_message",
]


class StoppingRule(Callback):
    """Base class: override ``check`` (and ``observe``, ``finish`` where needed)."""

    reason = "callback"
    message: str | None = None

    def observe(self, net: Network, epoch: int, logs: dict) -> None:
        """Bookkeeping after each epoch, before the user's callbacks."""

    def check(self, net: Network, epoch: int, logs: dict) -> str | None:
        """A message when the run should stop after this epoch, else None."""
        return None

    def finish(self, net: Network, stop_reason: str) -> str:
        """At the end of the run (however it stopped): words to add to the message."""
        return ""

    def __call__(self, net: Network, epoch: int, logs: dict) -> bool:
        self.observe(net, epoch, logs)
        self.message = self.check(net, epoch, logs)
        return self.message is not None


class EarlyStopping(StoppingRule):
    """Stop when the ``monitor`` has not improved for ``patience`` epochs; at the end (unless
    interrupted or diverged) restore θ of the best epoch. ``best_theta``: (p,).

    ``monitor="val_loss"`` (fit's rule): the lowest validation loss is best.
    ``monitor="val_accuracy"`` (classification runs): the highest validation accuracy is best,
    the lower validation loss breaking ties; an epoch without a finite accuracy is no better.
    On a classifier the cross-entropy often rises (over-confidence on the examples it gets
    wrong) while the accuracy still improves, so this rule may keep a later, better epoch.
    """

    reason = "early_stopping"

    def __init__(self, patience: int, theta: np.ndarray, monitor: str = "val_loss"):
        if monitor not in _MONITORS:
            raise FFNNError(f"monitor is one of {', '.join(_MONITORS)}, got {monitor!r}")
        self.patience, self.monitor = int(patience), monitor
        self._key, self._what, self._words, self._none = _MONITORS[monitor]
        self.best_theta = theta.copy()
        self.best = self._none  # the best epoch's key (larger is better)
        self.best_epoch, self.bad_epochs, self.fired = None, 0, False

    @property
    def best_val(self) -> float:
        """The validation loss of the best epoch (∞ before one)."""
        return -self.best[-1]

    def observe(self, net, epoch, logs):
        key = self._key(logs)
        if key is not None and key > self.best:
            self.best, self.best_epoch, self.bad_epochs = key, epoch, 0
            np.copyto(self.best_theta, net.theta)
        else:
            self.bad_epochs += 1

    def check(self, net, epoch, logs):
        if self.bad_epochs >= self.patience:
            self.fired = True
            return f"the validation {self._what} did not improve for {self.bad_epochs} epochs"
        return None

    def finish(self, net, stop_reason):
        if self.best_epoch is None or stop_reason == "interrupted":
            return ""
        if stop_reason.startswith("training diverged"):
            return ""
        np.copyto(net.theta, self.best_theta)
        return f"; restored the weights of epoch {self.best_epoch} ({self._words(self.best)})"

    # the checkpoint's "loop" bookkeeping and arrays
    def state(self) -> tuple[dict, dict]:
        best = None if not math.isfinite(self.best_val) else self.best_val
        info = {"best_val": best, "best_epoch": self.best_epoch, "bad_epochs": self.bad_epochs}
        if len(self.best) == 2:  # (val_accuracy, −val_loss)
            info["best_accuracy"] = None if self.best_epoch is None else self.best[0]
        return info, {"best_theta": self.best_theta}

    def load_state(self, info: dict, arrays: dict, theta: np.ndarray) -> None:
        self.best_theta[...] = arrays["best_theta"] if "best_theta" in arrays else theta
        bv, ba = info.get("best_val"), info.get("best_accuracy")
        loss_key = -math.inf if bv is None else -float(bv)
        acc = (-math.inf if ba is None else float(ba),) if len(self.best) == 2 else ()
        self.best = (*acc, loss_key)
        self.best_epoch = info.get("best_epoch")
        self.bad_epochs = int(info.get("bad_epochs", 0))


def _loss_key(logs: dict) -> tuple:
    """The validation loss as a key where larger is better: (−val_loss,) (NaN: never better)."""
    return (-logs["val_loss"],)


def _accuracy_key(logs: dict) -> tuple | None:
    """(val_accuracy, −val_loss), a missing or non-finite loss counting as +∞; None without a
    finite accuracy."""
    acc, loss = logs.get("val_accuracy"), logs.get("val_loss")
    if acc is None or not math.isfinite(acc):
        return None
    return (acc, -(math.inf if loss is None or not math.isfinite(loss) else loss))


#: monitor -> (key of an epoch's logs, what improves, words for the best key, key before any)
_MONITORS = {
    "val_loss": (_loss_key, "loss", lambda k: f"val_loss {-k[0]:.4g}", (-math.inf,)),
    "val_accuracy": (
        _accuracy_key,
        "accuracy",
        lambda k: f"val_accuracy {100 * k[0]:.2f}%",
        (-math.inf, -math.inf),
    ),
}


class _Tolerance(StoppingRule):
    """Stop when ``logs[key]`` is ≤ ``tol``; ``reason`` is also fit's option (tol_loss, …)."""

    key = words = ""

    def __init__(self, tol: float):
        self.tol = tol

    def check(self, net, epoch, logs):
        value = logs[self.key]
        if value <= self.tol:
            return f"{self.words} {value:.4g} <= {self.reason}={self.tol:g}"
        return None


class LossTolerance(_Tolerance):
    """Stop when L_train (``train_loss``, the epoch's running mean) is ≤ ``tol``."""

    reason, key, words = "tol_loss", "train_loss", "training loss"


class GradTolerance(_Tolerance):
    """Stop when the epoch's RMS gradient norm (``grad_norm``) is ≤ ``tol``."""

    reason, key, words = "tol_grad", "grad_norm", "gradient norm"


class TimeLimit(StoppingRule):
    """Stop after the first epoch that ends more than ``seconds`` after the run began (the
    record's ``time``, summed over resumed parts, when it has one; else since the first call)."""

    reason = "time_limit"

    def __init__(self, seconds: float):
        self.seconds = float(seconds)
        self._t0: float | None = None

    def check(self, net, epoch, logs):
        now = time.perf_counter()
        if self._t0 is None:
            self._t0 = now - float(logs.get("time", 0.0))
        if now - self._t0 >= self.seconds:
            return f"the time limit of {self.seconds:g} s was reached after epoch {epoch}"
        return None


class RateMultiplier:
    """A learning-rate multiplier s(t) = ``value`` · schedule(t) that rules may change between
    epochs (scikit-learn's "invscaling" and "adaptive")."""

    def __init__(self, schedule=None):
        self.value = 1.0
        self.schedule = schedule

    def __call__(self, t: int) -> float:
        return self.value if self.schedule is None else self.value * self.schedule(t)

    def to_dict(self) -> dict:
        inner = self.schedule
        inner = (
            inner.to_dict()
            if hasattr(inner, "to_dict")
            else (None if inner is None else repr(inner))
        )
        return {"name": "sklearn_rate", "value": self.value, "schedule": inner}


class AdaptiveRate:
    """scikit-learn's "adaptive" rule: when the score stops improving, η ← η / ``factor``
    (``rate.value`` of a :class:`RateMultiplier`) unless η = η_0 · value ≤ ``min_lr`` (stop)."""

    def __init__(self, rate: RateMultiplier, lr: float, factor: float = 5.0, min_lr: float = 1e-6):
        self.rate, self.lr, self.factor, self.min_lr = rate, lr, factor, min_lr

    def reduce(self) -> bool:
        """Divide η; False (and nothing changed) when it is already too small."""
        if self.lr * self.rate.value <= self.min_lr:
            return False
        self.rate.value /= self.factor
        return True


class NoImprovement(StoppingRule):
    """scikit-learn's rule: stop when ``score(net, epoch, logs)`` has not improved by more than
    ``tol`` for more than ``n_iter_no_change`` epochs (a loss falls below best − tol; with
    ``maximize``, a validation score rises above best + tol).

    ``best``, ``count``: the best score and the epochs without improvement (carried over calls
    when given). ``keep_best``: keep θ of the best score in ``best_theta`` (``restore(net)``
    puts it back). ``adaptive``: an :class:`AdaptiveRate` tried before stopping.
    """

    reason = "callback"

    def __init__(self, score, tol: float, n_iter_no_change: int, *, maximize: bool = False,
                 best: float | None = None, count: int = 0, keep_best: np.ndarray | None = None,
                 adaptive: AdaptiveRate | None = None, verbose: bool = False):  # fmt: skip
        self.score, self.tol, self.patience, self.maximize = score, tol, n_iter_no_change, maximize
        self.best = (-math.inf if maximize else math.inf) if best is None else best
        self.count, self.adaptive, self.verbose = count, adaptive, verbose
        self.best_theta = None if keep_best is None else keep_best.copy()

    def observe(self, net, epoch, logs):
        score, tol = self.score(net, epoch, logs), self.tol
        worse = score < self.best + tol if self.maximize else score > self.best - tol
        self.count = self.count + 1 if worse else 0
        if score > self.best if self.maximize else score < self.best:
            self.best = score
            if self.best_theta is not None:
                np.copyto(self.best_theta, net.theta)

    def check(self, net, epoch, logs):
        if self.count <= self.patience:
            return None
        what = "Validation score" if self.maximize else "Training loss"
        msg = (
            f"{what} did not improve more than tol={self.tol:f} for {self.patience} "
            "consecutive epochs."
        )
        if self.adaptive is not None:
            if not self.adaptive.reduce():
                return msg + " Learning rate too small. Stopping."
            if self.verbose:
                lr = self.adaptive.lr * self.adaptive.rate.value
                print(msg + f" Setting learning rate to {lr:f}")
            self.count = 0
            return None
        if self.verbose:
            print(msg + " Stopping.")
        return msg

    def restore(self, net: Network) -> None:
        if self.best_theta is not None:
            np.copyto(net.theta, self.best_theta)


def diverged_message(epoch: int, step: int, what: str, value, rate: float | None) -> str:
    """'training diverged at epoch E, step S: ... ; lower the learning rate (now η)'."""
    hint = "lower the learning rate" + ("" if rate is None else f" (now {rate:g})")
    return f"training diverged at epoch {epoch}, step {step + 1}: {what} is {value}; {hint}"
