"""The fit loop: minibatch gradient descent on L(θ) = 1/n Σ_i ℓ(y_i, f(x_i; θ)) (notes 004).

``fit`` composes the parts of :mod:`ffnn.train`: the checked data (:mod:`~ffnn.train.data`),
the batches and the step loop (:mod:`~ffnn.train.step`: batch → forward → loss → backward →
update), the optimizer and its schedule, the stopping rules (:mod:`~ffnn.train.stopping`), the
callbacks, the progress bar and the checkpoints (:mod:`~ffnn.train.checkpoints`). L_train, the
running mean of the minibatch losses over the epoch, is what the tolerance stopping reads.

Nothing is lost: a non-finite loss (or gradient) stops the run with a message and the last
parameters whose loss was finite; Ctrl-C stops at the next batch boundary with the model as it is
(and writes the checkpoint, from which ``resume`` continues mid-epoch); a checkpoint holds θ, the
optimizer state, the generator state, the history and the loop's position, so a resumed run
produces the same weights, bit for bit, as an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Sequence

import numpy as np

from ffnn.core.graph import Network
from ffnn.core.losses import Loss, get_loss
from ffnn.display import in_notebook, progress_bar
from ffnn.errors import FFNNError
from ffnn.train.data import EVAL_CHUNK as _EVAL_CHUNK  # noqa: F401  (kept importable)
from ffnn.train.data import (  # noqa: F401
    _all_finite,
    _evaluate,
    _inputs,
    _inputs_unchecked,
    _targets,
    require_finite,
    split_validation,
)
from ffnn.train.history import History
from ffnn.train.metrics import check_metric, get_metric
from ffnn.train.optimizers import Optimizer, get_optimizer
from ffnn.train.schedules import get_schedule
from ffnn.train.step import Batches, Diverged, Trainer
from ffnn.train.stopping import EarlyStopping, GradTolerance, LossTolerance, diverged_message
from ffnn.train.threads import blas_threads, split_threads
from ffnn.train.weights import check_weights

__all__ = ["fit"]


def _arch(config: dict) -> dict:
    """The architecture without layer names (they come from a global counter)."""
    if isinstance(config, dict):
        return {k: _arch(v) for k, v in config.items() if k != "name"}
    if isinstance(config, list):
        return [_arch(v) for v in config]
    return config


# --- Ctrl-C ------------------------------------------------------------------------------------
class _CtrlC:
    """While active, the first SIGINT sets ``hit`` (the loop stops at the next batch boundary);
    a second one raises KeyboardInterrupt at once."""

    def __init__(self):
        self.hit = False
        self._old = None

    def _handler(self, signum, frame):
        if self.hit:
            raise KeyboardInterrupt
        self.hit = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            try:
                self._old = signal.signal(signal.SIGINT, self._handler)
            except (ValueError, OSError):
                self._old = None
        return self

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
        return False


# --- fit ---------------------------------------------------------------------------------------
def fit(
    net: Network,
    X,
    y,
    loss: str | Loss = "mse",
    *,
    optimizer: str | Optimizer = "sgd",
    lr: float = 0.01,
    schedule: str | dict | Callable[[int], float] | None = None,
    batch_size: int | None = 32,
    epochs: int = 100,
    validation: float | tuple | None = None,
    early_stopping: int | None = None,
    tol_loss: float | None = None,
    tol_grad: float | None = None,
    metrics: Sequence[str] = (),
    callbacks: Sequence[Callable] = (),
    rng: np.random.Generator | int | None = 0,
    progress: bool | None = None,
    checkpoint: str | os.PathLike | None = None,
    resume: str | os.PathLike | None = None,
    state: dict | None = None,
    checkpoint_every: int = 1,
    shuffle: bool = True,
    threads: int | str | None = None,
    compiled: bool | None = None,
    sample_weight=None,
    **optimizer_hyperparameters,
) -> History:
    """Train ``net`` in place on (X: (n, n_0), y) and return the :class:`History`.

    Parameters
    ----------
    loss : "mse", "mae", "huber", "binary_cross_entropy", "cross_entropy" or a Loss.
    optimizer : "gd"/"sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw", or an
        :class:`~ffnn.train.optimizers.Optimizer` (then ``lr``/``schedule``/hyperparameters are
        its own). Hyperparameters: momentum, rho, beta1, beta2, eps, weight_decay, clip_norm.
    lr, schedule : η and the multiplier s(t) per step (a name, dict or callable; see
        :func:`~ffnn.train.schedules.get_schedule`; defaults are sized to ``epochs``).
    batch_size : examples per step; None for full-batch gradient descent, 1 for single-example SGD.
    epochs : the last epoch to run. With ``resume`` it counts from the start of the original run;
        with ``state`` it counts the epochs to add.
    validation : a fraction of (X, y) split off with ``rng``, or a tuple (X_val, y_val).
    early_stopping : patience in epochs; stops when the validation loss has not improved for
        that many epochs, and (however the run ends, except interrupted) restores the best θ.
    tol_loss, tol_grad : stop when L_train (the running mean over the epoch) or the epoch's RMS
        gradient norm falls to or below them.
    metrics : among "accuracy", "mse", "r2": recorded as train_<m> (and val_<m>) per epoch.
    callbacks : ``cb(net, epoch, logs) -> bool | None`` after every epoch; True stops. Keys a
        callback adds to ``logs`` are recorded in the history.
    rng : seed or Generator for shuffling and the validation split.
    progress : a tqdm.auto bar (True), none (False), or one when stderr is a terminal or in a
        notebook (None).
    checkpoint : a file written atomically every ``checkpoint_every`` epochs, on Ctrl-C and at
        the end; ``resume`` : such a file to continue from, exactly.
    state : ``History.state`` of an earlier fit, to continue its optimizer state (partial fit).
    shuffle : draw a new permutation each epoch (False: the data's order).
    threads : BLAS threads while training: a number, or None/"auto" (1 thread for networks under
        a million parameters, else the BLAS default; see :mod:`ffnn.train.threads`). With the
        compiled path, each step is split among that many threads instead — "auto": the cores
        this process may use — with BLAS on one: a network under a million parameters by the
        batch's examples (:mod:`ffnn.train.rows`), a larger one by each layer's units
        (:mod:`ffnn.train.units`). The split goes on on one thread when a core turns out to be
        busy with another process. Wherever BLAS is held at one thread, the validation and
        metric passes between epochs share their chunks of rows among that many threads.
    compiled : run whole epochs of plain SGD through the compiled path
        (:mod:`ffnn.train.compiled`, needs Numba) — None: when Numba is installed and the run is
        one it supports; False: always the NumPy step loop (the reference); True: insist (an
        FFNNError says why a run is not supported).
    sample_weight : weights w_i >= 0 (n,): every batch's loss (and δ) is the weighted mean
        Σ w_i ℓ_i / Σ w_i, and so are ``train_loss`` and ``val_loss`` (a validation fraction
        keeps its examples' weights; a tuple (X_val, y_val, w_val) may give them), see
        :mod:`ffnn.train.weights`; metrics stay unweighted. None: every example weighs 1.
    """
    t_start = time.perf_counter()
    loss, metric_fns = _check_args(
        net, loss, metrics, epochs, early_stopping, validation, checkpoint_every, resume, state,
        callbacks,
    )  # fmt: skip
    rng, ck, rng_initial = _random_state(rng, resume, net, checkpoint is not None)
    val, batches = _data(net, loss, X, y, validation, rng, sample_weight, batch_size, shuffle)
    steps = (batches.steps, _run_epochs(state, epochs))  # per epoch, and the run's epochs
    opt = _build_optimizer(optimizer, lr, schedule, optimizer_hyperparameters, *steps)
    rules = _rules(early_stopping, tol_loss, tol_grad, net.theta)
    run = _Run(net, loss, opt, batches, rules, list(callbacks), metric_fns, val[:2], rng)
    _keep(run, checkpoint, checkpoint_every, val[2], rng_initial, t_start, int(epochs))
    _start(run, ck, resume, state, int(epochs), compiled)
    _check_entries(run, validation)
    split = split_threads(threads, net.n_params)
    steps_split = _split_rows(run.trainer.compiled, split)
    with blas_threads(threads, net.n_params) as n_blas, steps_split as T:
        run.eval_threads = split if T > 1 or n_blas == 1 else 1  # else BLAS's threads
        diverged = run.run(progress)
    return _finish(run, diverged)


def _split_rows(epochs, threads):
    """ffnn.train.compiled.split_rows for a compiled run (imported only then), else a context
    that yields 1 (the steps' threads)."""
    if epochs is None:
        return contextlib.nullcontext(1)
    from ffnn.train.compiled import split_rows

    return split_rows(epochs, threads)


def _random_state(rng, resume, net: Network, keep: bool):
    """The Generator, the checkpoint to resume from (None: a fresh run) and, when ``keep`` (a
    checkpoint will be written), the generator's state at the start of the run (the
    checkpoint's, so the validation split is drawn alike); else None (copying it cost a
    one-epoch fit of a tiny network ~0.02–0.05 ms, measured)."""
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    ck = None if resume is None else _read_checkpoint(resume, net, rng)  # replays the split
    return rng, ck, (copy.deepcopy(rng.bit_generator.state) if keep else None)


def _data(net, loss, X, y, validation, rng, sample_weight, batch_size, shuffle):
    """X: (n, n_0) and y checked, then the validation split (Xv, Yv, its weights wv or None)
    and the training Batches (with the training rows' weights, if any). X's entries may be
    left unchecked (then ``batches.unchecked``: :func:`_check_entries` sees to them)."""
    X, checked = _inputs_unchecked(net, X, "X")
    Y = _targets(net, loss, y, X.shape[0], "y")
    w = wv = None
    if sample_weight is None:
        Xv, Yv, rows = split_validation(net, loss, X, Y, validation, rng)
    else:
        w = check_weights(sample_weight, X.shape[0])
        Xv, Yv, rows, wv = split_validation(net, loss, X, Y, validation, rng, weights=w)
    batches = Batches(net, X, Y, batch_size, rows, shuffle, weights=w)
    batches.unchecked = not checked
    return (Xv, Yv, wv), batches


def _check_entries(run: _Run, validation) -> None:
    """X's entries, when :func:`_data` left them unchecked: by the compiled path as its first
    epoch gathers the rows (fit's one read of X then serves both: measured here, a one-epoch
    fit of 784-256-256-10 on 20,000 × 784 float32 took 78.6 ms against 82.7 ms with the pass
    before training, medians of 15 interleaved), where that epoch runs from its start and X
    is larger than θ (the copy of θ kept to restore costs less than a pass over X); else
    here, before training. The validation rows a fraction drew from X are checked here
    either way."""
    tr, X = run.trainer, run.batches.X
    if not run.batches.unchecked:
        return
    if tr.compiled is None or tr.pos or run.target <= run.start_epoch or X.size <= tr.theta.size:
        require_finite(X, "X")
        return
    if run.Xv is not None and not isinstance(validation, (tuple, list)):
        require_finite(run.Xv, "X")
    tr.check_rows("X")


def _keep(run: _Run, checkpoint, checkpoint_every: int, wv, rng_initial, t_start, target):
    """The run's bookkeeping: its checkpoint file and period, the validation weights (or None),
    the generator's state at the start, the start time and the last epoch to run."""
    run.checkpoint, run.checkpoint_every, run.wv = checkpoint, checkpoint_every, wv
    run.rng_initial, run.t_start, run.target = rng_initial, t_start, target


def _finish(run: _Run, diverged: str | None) -> History:
    """The run's History; a warning (at fit's caller) first when training diverged."""
    if diverged is not None:
        warnings.warn(diverged, RuntimeWarning, stacklevel=3)
    return run.finish()


def _run_epochs(state, epochs: int) -> int:
    """The epochs the schedule is sized to: ``epochs``, or the earlier fit's plus ``epochs``."""
    if state is None:
        return epochs
    return int(state.get("epoch", 0)) + epochs


def _start(run: _Run, ck, resume, state, epochs: int, compiled: bool | None) -> None:
    """Set ``run`` to continue a checkpoint (``resume``) or an earlier fit's ``state``, its
    previous θ to the current one, and its step loop compiled or not (fit's ``compiled``)."""
    if ck is not None:
        run.resume(ck, resume)
    elif state is not None:
        run.go_on(state, epochs)
    np.copyto(run.trainer.prev, run.net.theta)
    run.trainer.use_compiled(compiled)


def _rules(early_stopping, tol_loss, tol_grad, theta) -> list:
    """fit's stopping options as rules, in the order they are checked."""
    rules = []
    if early_stopping is not None:
        rules.append(EarlyStopping(early_stopping, theta))
    if tol_loss is not None:
        rules.append(LossTolerance(tol_loss))
    if tol_grad is not None:
        rules.append(GradTolerance(tol_grad))
    return rules


def _check_args(
    net, loss, metrics, epochs, early_stopping, validation, checkpoint_every, resume, state,
    callbacks,
) -> tuple[Loss, list]:  # fmt: skip
    """The loss and the metric functions [(name, fn)], or FFNNError on a wrong argument."""
    if not isinstance(net, Network):
        raise FFNNError(f"fit needs a Network as its first argument, got {type(net).__name__}")
    loss = get_loss(loss)
    loss.check_output(net.output)
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    for m in metrics:
        check_metric(m, net.output.name)
    if not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise FFNNError(f"epochs must be a whole number >= 0, got {epochs!r}")
    if early_stopping is not None and (
        not isinstance(early_stopping, (int, np.integer)) or early_stopping < 1
    ):
        raise FFNNError(
            f"early_stopping is a patience in epochs (int >= 1), got {early_stopping!r}"
        )
    if early_stopping is not None and validation is None:
        raise FFNNError(
            "early_stopping needs a validation set: pass validation=0.2 (a fraction of the data) "
            "or validation=(X_val, y_val)"
        )
    if checkpoint_every < 1:
        raise FFNNError(f"checkpoint_every must be >= 1, got {checkpoint_every}")
    if resume is not None and state is not None:
        raise FFNNError(
            "pass either resume (a checkpoint file) or state (a History.state), not both"
        )
    if state is not None and (not isinstance(state, dict) or "optimizer" not in state):
        raise FFNNError("state must be the History.state of an earlier fit (hist.state)")
    for cb in callbacks:
        if not callable(cb):
            raise FFNNError(f"callbacks must be callables cb(net, epoch, logs), got {cb!r}")
    return loss, [(m, get_metric(m)) for m in metrics]


def _read_checkpoint(resume, net: Network, rng: np.random.Generator):
    """The checkpoint to resume from, checked against ``net``; ``rng`` set to the state it had
    when the original run began (so the validation split is drawn again alike)."""
    from ffnn.train.checkpoints import load_checkpoint

    ck = load_checkpoint(resume)
    if _arch(ck.net.config()) != _arch(net.config()):
        raise FFNNError(
            f"checkpoint {str(resume)!r} holds a different architecture ({ck.net!r}) than "
            f"the network given ({net!r}); build the same network to resume"
        )
    if ck.rng_state is None or "rng_initial" not in ck.loop:
        raise FFNNError(f"checkpoint {str(resume)!r} has no fit-loop state to resume from")
    try:
        rng.bit_generator.state = ck.loop["rng_initial"]
    except (ValueError, TypeError, KeyError) as e:
        raise FFNNError(
            f"cannot restore the random generator from {str(resume)!r} ({e}); pass a seed or "
            "a Generator of the same kind as in the original run"
        ) from None
    return ck


def _build_optimizer(optimizer, lr, schedule, hyper: dict, steps_per_epoch: int, run_epochs: int):
    """The Optimizer: an object as given (hyperparameters applied), or one built by name with
    ``lr`` and the schedule sized to the run's steps."""
    if isinstance(optimizer, Optimizer):
        if schedule is not None:
            raise FFNNError(
                "schedule cannot be applied to an Optimizer object; build it with "
                "schedule=... (e.g. ffnn.train.optimizers.sgd(lr, schedule=...))"
            )
        return get_optimizer(optimizer, **hyper)
    sched = get_schedule(
        schedule, total_steps=run_epochs * steps_per_epoch, steps_per_epoch=steps_per_epoch
    )
    return get_optimizer(optimizer, lr, sched, **hyper)


class _Progress:
    """The tqdm bar over epochs, with the running loss every ``every`` steps (0: never)."""

    def __init__(self, target: int, start: int, steps_per_epoch: int):
        self.bar = progress_bar(
            total=target, initial=start, unit="epoch", file=sys.stderr, dynamic_ncols=True,
            leave=True,
        )  # fmt: skip
        self.every = max(1, steps_per_epoch // 20) if steps_per_epoch >= 20 else 0

    def __call__(self, running_loss: float, s: int) -> None:
        self.bar.set_postfix(loss=f"{running_loss:.4g}", refresh=False)  # throttled by tqdm
        self.bar.update(0)

    def epoch_done(self, rec: dict) -> None:
        post = {"loss": f"{rec['train_loss']:.4g}"}
        if "val_loss" in rec:
            post["val"] = f"{rec['val_loss']:.4g}"
        self.bar.set_postfix(post, refresh=False)
        self.bar.update(1)


class _Run:
    """One call of ``fit``: the trainer, the rules and callbacks, the history and checkpoints."""

    def __init__(self, net, loss, opt, batches, rules, callbacks, metric_fns, val, rng):
        self.net, self.loss, self.opt, self.batches, self.rng = net, loss, opt, batches, rng
        self.trainer = Trainer(net, loss, opt, batches, state=opt.init(net.theta))
        self.rules, self.callbacks, self.metric_fns = rules, callbacks, metric_fns
        self.Xv, self.Yv = val
        self.wv = None  # the validation set's sample weights, if any
        self.eval_threads = 1  # threads of the evaluations between epochs (fit sets them)
        self.history = History(
            config={
                "optimizer": opt.config(),
                "loss": loss.name,
                "batch_size": batches.batch_size,
                "n_train": batches.n,
                "n_val": 0 if self.Xv is None else self.Xv.shape[0],
            }
        )
        self.start_epoch = self.epoch = 0
        self.elapsed0 = 0.0
        self.stop_reason, self.message = "max_epochs", ""
        self.early = next((r for r in rules if isinstance(r, EarlyStopping)), None)

    def resume(self, ck, path) -> None:
        """Continue from the checkpoint ``ck``: θ, optimizer, generator, history, position."""
        loop, b, tr = ck.loop, self.batches, self.trainer
        if loop.get("n_train") != b.n or loop.get("batch_size") != b.batch_size:
            raise FFNNError(
                f"checkpoint {str(path)!r} was written for {loop.get('n_train')} training "
                f"examples in batches of {loop.get('batch_size')}; this call has {b.n} in batches "
                f"of {b.batch_size}: resume with the same data, validation and batch_size"
            )
        if ck.optimizer_state is None:
            raise FFNNError(f"checkpoint {str(path)!r} has no optimizer state")
        theta = self.net.theta
        theta[...] = ck.net.theta
        tr.state = self.opt.load_state(ck.optimizer_state, theta)
        try:
            self.rng.bit_generator.state = ck.rng_state
        except (ValueError, TypeError, KeyError) as e:
            raise FFNNError(f"cannot restore the generator state from {str(path)!r}: {e}") from None
        if ck.history is not None:
            self.history.records = list(ck.history.records)
        self.start_epoch = ck.epoch
        tr.pos = int(loop.get("pos", 0))
        tr.loss_sum, tr.gsq_sum = float(loop.get("loss_sum", 0.0)), float(loop.get("gsq_sum", 0.0))
        tr.n_batches = int(loop.get("n_batches", 0))
        self.elapsed0 = float(loop.get("elapsed", 0.0))
        if tr.pos and "order" in ck.arrays:
            b.order = ck.arrays["order"].astype(np.intp)
        if self.early is not None:
            self.early.load_state(loop, ck.arrays, theta)

    def go_on(self, state: dict, epochs: int) -> None:
        """Continue the optimizer state of an earlier fit (``History.state``) for ``epochs``."""
        self.trainer.state = self.opt.load_state(state["optimizer"], self.net.theta)
        self.start_epoch = int(state.get("epoch", 0))
        self.target = self.start_epoch + epochs

    def write_checkpoint(self, epoch_done: int, at: int) -> None:
        from ffnn.train.checkpoints import save_checkpoint

        tr, b = self.trainer, self.batches
        info = {
            "rng_initial": self.rng_initial,
            "n_train": b.n,
            "batch_size": b.batch_size,
            "pos": at,
            "loss_sum": tr.loss_sum if at else 0.0,
            "gsq_sum": tr.gsq_sum if at else 0.0,
            "n_batches": tr.n_batches if at else 0,
            "elapsed": self.elapsed(),
            "best_val": None,
            "best_epoch": None,
            "bad_epochs": 0,
            "epochs": self.target,
        }
        arrays = {}
        if at and b.order is not None:
            arrays["order"] = b.order
        if self.early is not None:
            early_info, early_arrays = self.early.state()
            info.update(early_info)
            arrays.update(early_arrays)
        save_checkpoint(
            self.checkpoint, self.net, optimizer_state=tr.state, epoch=epoch_done, rng=self.rng,
            history=self.history, loop=info, arrays=arrays,
        )  # fmt: skip

    def elapsed(self) -> float:
        return self.elapsed0 + time.perf_counter() - self.t_start

    def run(self, progress: bool | None) -> str | None:
        """The epochs; returns the divergence message, if the run diverged."""
        show = (sys.stderr.isatty() or in_notebook()) if progress is None else bool(progress)
        bar = None
        if show and self.target > self.start_epoch:
            bar = _Progress(self.target, self.start_epoch, self.batches.steps)
        self.message = f"reached the last epoch ({self.target})"
        self.epoch = self.start_epoch
        try:
            # overflow on the way to a non-finite loss is reported by the divergence check
            with _CtrlC() as ctrl_c, np.errstate(over="ignore", invalid="ignore"):
                for epoch in range(self.start_epoch + 1, self.target + 1):
                    self.epoch = epoch
                    if self.one_epoch(ctrl_c, bar):
                        break
        except Diverged as d:
            if d.restore:
                np.copyto(self.net.theta, self.trainer.prev)
            rate = self.opt.learning_rate(max(self.trainer.state["step"] - 1, 0))
            self.stop_reason = self.message = diverged_message(
                d.epoch, d.step, d.what, d.value, rate
            )
            self.epoch = d.epoch - 1
            return self.message
        except KeyboardInterrupt:  # a second Ctrl-C, or one outside the main thread
            self.stop_reason = "interrupted"
            self.message = (
                f"interrupted during epoch {self.epoch}; the last checkpoint (if any) is kept"
            )
            self.epoch -= 1
        finally:
            if bar is not None:
                bar.bar.close()
        return None

    def one_epoch(self, ctrl_c, bar) -> bool:
        """Run one epoch and its end-of-epoch work; True when the run stops here."""
        epoch, tr = self.epoch, self.trainer
        if not tr.epoch(epoch, self.rng, stop=ctrl_c, progress=bar):  # Ctrl-C inside the epoch
            self.epoch = epoch - 1
            self.stop_reason = "interrupted"
            self.message = (
                f"interrupted at epoch {epoch}, step {tr.pos} of {self.batches.steps}; the "
                "model keeps the parameters of the last step"
            )
            if self.checkpoint is not None:
                self.write_checkpoint(epoch - 1, tr.pos)
                self.message += f"; resume from {str(self.checkpoint)!r}"
            return True
        rec = self.record(epoch)
        self.history.append(rec)
        for rule in self.rules:
            rule.observe(self.net, epoch, rec)
        if bar is not None:
            bar.epoch_done(rec)
        self.call_back(epoch, rec)
        if self.stop_reason == "max_epochs":
            for rule in self.rules:
                msg = rule.check(self.net, epoch, rec)
                if msg is not None:
                    self.stop_reason, self.message = rule.reason, msg
                    break
        stopped = self.stop_reason != "max_epochs" or epoch == self.target
        if self.checkpoint is not None and (stopped or epoch % self.checkpoint_every == 0):
            self.write_checkpoint(epoch, 0)
        if stopped:
            return True
        if ctrl_c.hit:  # Ctrl-C during the end-of-epoch work
            self.stop_reason, self.message = "interrupted", f"interrupted after epoch {epoch}"
            if self.checkpoint is not None:
                self.write_checkpoint(epoch, 0)
            return True
        return False

    def record(self, epoch: int) -> dict:
        """The epoch's record: the trainer's, metrics, val_loss, lr, step, time."""
        net, loss, rec = self.net, self.loss, self.trainer.record(epoch)
        if self.metric_fns:
            b = self.batches
            _, f_tr = _evaluate(net, loss, b.X, b.Y, True, b.rows, threads=self.eval_threads)
            Y_tr = b.Y if b.rows is None else b.Y[b.rows]
            for name, fn in self.metric_fns:
                rec[f"train_{name}"] = fn(Y_tr, f_tr)
        if self.Xv is not None:
            val_loss, f_val = _evaluate(
                net, loss, self.Xv, self.Yv, bool(self.metric_fns), weights=self.wv,
                threads=self.eval_threads,
            )  # fmt: skip
            rec["val_loss"] = val_loss
            for name, fn in self.metric_fns:
                rec[f"val_{name}"] = fn(self.Yv, f_val)
        step = self.trainer.state["step"]
        rate = self.opt.learning_rate(max(step - 1, 0))
        if rate is not None:
            rec["lr"] = rate
        rec["step"] = step
        rec["time"] = self.elapsed()
        return rec

    def call_back(self, epoch: int, rec: dict) -> None:
        """The user's callbacks, in order, until one stops the run."""
        for cb in self.callbacks:
            logs = dict(rec)
            try:
                answer = cb(self.net, epoch, logs)
            except KeyboardInterrupt:
                self.stop_reason, self.message = "interrupted", f"interrupted after epoch {epoch}"
                return
            # keys a callback adds land in the history; the loop's own stay as measured
            self.history.records[-1].update({k: v for k, v in logs.items() if k not in rec})
            if answer is True:
                self.stop_reason = "callback"
                self.message = f"callback {_name(cb)} stopped the run after epoch {epoch}"
                return

    def finish(self) -> History:
        """The History, after each rule's last word (early stopping restores the best θ)."""
        for rule in self.rules:
            self.message += rule.finish(self.net, self.stop_reason)
        h = self.history
        h.stop_reason, h.message = self.stop_reason, self.message
        best = None if self.early is None else self.early.best_epoch
        h.best_epoch = _best_epoch(h) if best is None else best
        h.state = {"optimizer": self.trainer.state, "epoch": max(self.epoch, self.start_epoch)}
        return h


def _name(cb) -> str:
    return getattr(cb, "__name__", type(cb).__name__)


def _best_epoch(history: History) -> int | None:
    key = "val_loss" if "val_loss" in history else "train_loss"
    best, at = math.inf, None
    for r in history.records:
        v = r.get(key)
        if v is not None and v < best:
            best, at = v, r["epoch"]
    return at
