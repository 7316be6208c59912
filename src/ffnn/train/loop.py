"""The fit loop: minibatch gradient descent on L(θ) = 1/n Σ_i ℓ(y_i, f(x_i; θ)) (notes 004).

One epoch draws a permutation of the n training examples from the seeded generator and walks it in
batches B of ``batch_size`` examples; each step is

    z, trace = net.forward(X_B);   L_B, δ = loss(z, y_B);   g = net.backward(trace, δ)
    s, state = optimizer.update(g, state, θ);   θ ← θ + s          (one in-place operation)

Full-batch GD (``batch_size=None``), single-example SGD (``batch_size=1``) and minibatch SGD are
this one loop. The batch is gathered into preallocated buffers with ``np.take(..., out=)``; the
gradient goes into the network's reusable buffer; the optimizer works in place. L_train, the
running mean of the minibatch losses over the epoch, is what the tolerance stopping reads.

Nothing is lost: a non-finite loss (or gradient) stops the run with a message and the last
parameters whose loss was finite; Ctrl-C stops at the next batch boundary with the model as it is
(and writes the checkpoint, from which ``resume`` continues mid-epoch); a checkpoint holds θ, the
optimizer state, the generator state, the history and the loop's position, so a resumed run
produces the same weights, bit for bit, as an uninterrupted one.
"""

from __future__ import annotations

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
from ffnn.core.losses import CrossEntropy, Loss, get_loss
from ffnn.display import in_notebook, progress_bar
from ffnn.errors import FFNNError
from ffnn.train.history import History
from ffnn.train.metrics import check_metric, get_metric
from ffnn.train.optimizers import Optimizer, get_optimizer
from ffnn.train.schedules import get_schedule

__all__ = ["fit"]

_EVAL_CHUNK = 8192  # rows per forward pass when evaluating a whole data set


# --- data --------------------------------------------------------------------------------------
def _inputs(net: Network, X, what: str) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim == 1 and net.input_node.dim == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[1] != net.input_node.dim:
        raise FFNNError(
            f"{what} must have shape (n, {net.input_node.dim}) for this network, got {X.shape}"
        )
    if not np.issubdtype(X.dtype, np.number):
        raise FFNNError(f"{what} must be numeric, got dtype {X.dtype}")
    X = np.ascontiguousarray(X, dtype=net.dtype)  # no copy when it already is
    if not _all_finite(X):
        raise FFNNError(f"{what} contains NaN or infinite values; clean or impute them first")
    return X


def _all_finite(A: np.ndarray) -> bool:
    """np.isfinite(A).all() in chunks of rows, so a large data set gets no temporary copy."""
    return all(np.isfinite(A[a : a + _EVAL_CHUNK]).all() for a in range(0, A.shape[0], _EVAL_CHUNK))


def _targets(net: Network, loss: Loss, y, n: int, what: str) -> np.ndarray:
    """Targets as a float array (n, n_out); integer class labels become one-hot rows."""
    y = np.asarray(y)
    n_out = net.output_node.dim
    if y.shape[:1] != (n,):
        raise FFNNError(f"{what} has {y.shape[0] if y.ndim else 0} rows but X has {n}")
    if isinstance(loss, CrossEntropy) and y.ndim == 1:
        if not np.issubdtype(y.dtype, np.number) or not np.all(np.mod(y, 1) == 0):
            raise FFNNError(f"{what}: cross-entropy needs integer class labels or one-hot rows")
        labels = y.astype(np.int64)
        if n and (labels.min() < 0 or labels.max() >= n_out):
            raise FFNNError(
                f"{what}: class labels must lie in 0..{n_out - 1} for a network with {n_out} "
                f"outputs; got labels from {labels.min()} to {labels.max()}"
            )
        Y = np.zeros((n, n_out), dtype=net.dtype)
        Y[np.arange(n), labels] = 1
        return Y
    if y.ndim == 1 and n_out == 1:
        y = y[:, None]
    if y.shape != (n, n_out):
        raise FFNNError(
            f"{what} has shape {y.shape} but the network has {n_out} outputs; targets must be "
            f"(n, {n_out})" + (" or integer labels (n,)" if isinstance(loss, CrossEntropy) else "")
        )
    if not np.issubdtype(y.dtype, np.number) and y.dtype != np.bool_:
        raise FFNNError(f"{what} must be numeric, got dtype {y.dtype}")
    Y = np.ascontiguousarray(y, dtype=net.dtype)
    if not np.isfinite(Y).all():
        raise FFNNError(f"{what} contains NaN or infinite values")
    return Y


def _evaluate(
    net: Network, loss: Loss, X, Y, want_f: bool, rows: np.ndarray | None = None
) -> tuple[float, np.ndarray | None]:
    """L on (X, Y) (or on its ``rows``), in chunks of rows; and f(X) if asked (for metrics)."""
    n = X.shape[0] if rows is None else rows.shape[0]
    total, fs = 0.0, []
    for a in range(0, n, _EVAL_CHUNK):
        chunk = slice(a, a + _EVAL_CHUNK) if rows is None else rows[a : a + _EVAL_CHUNK]
        z, _ = net.forward(X[chunk])
        value, _ = loss.value_and_delta(z, Y[chunk], net.output)
        total += value * z.shape[0]
        if want_f:
            fs.append(net.output.apply(z))
    return total / max(n, 1), (np.concatenate(fs) if want_f else None)


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
    progress : a tqdm.auto bar (True), none (False), or one only when stderr is a terminal or
        this is a notebook (None).
    checkpoint : a file written atomically every ``checkpoint_every`` epochs, on Ctrl-C and at
        the end; ``resume`` : such a file to continue from, exactly.
    state : ``History.state`` of an earlier fit, to continue its optimizer state (partial fit).
    shuffle : draw a new permutation each epoch (False: the data's order).
    """
    t_start = time.perf_counter()
    if not isinstance(net, Network):
        raise FFNNError(f"fit needs a Network as its first argument, got {type(net).__name__}")
    loss = get_loss(loss)
    loss.check_output(net.output)
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    for m in metrics:
        check_metric(m, net.output.name)
    metric_fns = [(m, get_metric(m)) for m in metrics]
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
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)

    # --- resume: read the checkpoint first (the validation split replays its generator) ------
    ck = None
    if resume is not None:
        from ffnn.io import load_checkpoint

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
    rng_initial = copy.deepcopy(rng.bit_generator.state)

    # --- data ------------------------------------------------------------------------------------
    X = _inputs(net, X, "X")
    Y = _targets(net, loss, y, X.shape[0], "y")
    Xv = Yv = None
    rows = None  # the training rows of (X, Y) when a validation fraction is split off
    if validation is not None:
        if isinstance(validation, (tuple, list)):
            if len(validation) != 2:
                raise FFNNError("validation=(X_val, y_val) needs exactly two arrays")
            Xv = _inputs(net, validation[0], "X_val")
            Yv = _targets(net, loss, validation[1], Xv.shape[0], "y_val")
        elif isinstance(validation, (float, np.floating)) and 0 < validation < 1:
            n_val = max(1, int(round(validation * X.shape[0])))
            if n_val >= X.shape[0]:
                raise FFNNError(
                    f"validation={validation} leaves no training examples out of {X.shape[0]}"
                )
            perm = rng.permutation(X.shape[0])
            Xv, Yv = X[perm[:n_val]], Y[perm[:n_val]]  # copies the validation rows only
            rows = perm[n_val:]  # the training rows are gathered from X by index
        else:
            raise FFNNError(
                f"validation must be a fraction in (0, 1) or a tuple (X_val, y_val), got "
                f"{validation!r}"
            )
    n = X.shape[0] if rows is None else rows.shape[0]
    if n == 0:
        raise FFNNError("no training examples (X has 0 rows)")
    if batch_size is None:
        bs = n
    elif isinstance(batch_size, (int, np.integer)) and batch_size >= 1:
        bs = min(int(batch_size), n)
    else:
        raise FFNNError(
            f"batch_size must be a whole number >= 1 or None (full batch), got {batch_size!r}"
        )
    steps_per_epoch = -(-n // bs)
    if rows is not None and bs == n:  # a full batch of the training rows: one copy, once
        X, Y, rows = X[rows], Y[rows], None
    # a full batch needs no gathering (the mean does not see order); a split data set always
    # does (rows[order] are the training rows of X in this epoch's order)
    gather = bs < n and (shuffle or rows is not None)

    # --- optimizer ---------------------------------------------------------------------------
    theta = net.theta
    if isinstance(optimizer, Optimizer):
        if schedule is not None:
            raise FFNNError(
                "schedule cannot be applied to an Optimizer object; build it with "
                "schedule=... (e.g. ffnn.train.optimizers.sgd(lr, schedule=...))"
            )
        opt = get_optimizer(optimizer, **optimizer_hyperparameters)
    else:
        first_epoch = (ck.epoch if ck else 0) if state is None else int(state.get("epoch", 0))
        run_epochs = epochs if state is None else first_epoch + epochs
        sched = get_schedule(
            schedule, total_steps=run_epochs * steps_per_epoch, steps_per_epoch=steps_per_epoch
        )
        opt = get_optimizer(optimizer, lr, sched, **optimizer_hyperparameters)
    ost = opt.init(theta)

    # --- where the run starts ------------------------------------------------------------------
    history = History(
        config={
            "optimizer": opt.config(),
            "loss": loss.name,
            "batch_size": bs,
            "n_train": n,
            "n_val": 0 if Xv is None else Xv.shape[0],
        }
    )
    start_epoch, target = 0, int(epochs)
    pos, loss_sum, gsq_sum, n_batches = 0, 0.0, 0.0, 0
    order: np.ndarray | None = None
    best_val, best_epoch, bad_epochs = math.inf, None, 0
    best_theta = theta.copy() if early_stopping is not None else None
    elapsed0 = 0.0
    if ck is not None:
        loop = ck.loop
        if loop.get("n_train") != n or loop.get("batch_size") != bs:
            raise FFNNError(
                f"checkpoint {str(resume)!r} was written for {loop.get('n_train')} training "
                f"examples in batches of {loop.get('batch_size')}; this call has {n} in batches of "
                f"{bs}: resume with the same data, validation and batch_size"
            )
        if ck.optimizer_state is None:
            raise FFNNError(f"checkpoint {str(resume)!r} has no optimizer state")
        theta[...] = ck.net.theta
        ost = opt.load_state(ck.optimizer_state, theta)
        try:
            rng.bit_generator.state = ck.rng_state
        except (ValueError, TypeError, KeyError) as e:
            raise FFNNError(
                f"cannot restore the generator state from {str(resume)!r}: {e}"
            ) from None
        if ck.history is not None:
            history.records = list(ck.history.records)
        start_epoch = ck.epoch
        pos = int(loop.get("pos", 0))
        loss_sum, gsq_sum = float(loop.get("loss_sum", 0.0)), float(loop.get("gsq_sum", 0.0))
        n_batches = int(loop.get("n_batches", 0))
        elapsed0 = float(loop.get("elapsed", 0.0))
        if pos:
            order = ck.arrays["order"].astype(np.intp)
        if early_stopping is not None:
            if "best_theta" in ck.arrays:
                best_theta[...] = ck.arrays["best_theta"]
            else:
                best_theta[...] = theta
            bv = loop.get("best_val")
            best_val = math.inf if bv is None else float(bv)
            best_epoch = loop.get("best_epoch")
            bad_epochs = int(loop.get("bad_epochs", 0))
    elif state is not None:
        ost = opt.load_state(state["optimizer"], theta)
        start_epoch = int(state.get("epoch", 0))
        target = start_epoch + int(epochs)

    # --- buffers: made once, reused by every step ----------------------------------------------
    gbuf = net.gradient_buffer()
    prev = theta.copy()  # θ before the last step: what a diverged step falls back to
    last_bs = n - (steps_per_epoch - 1) * bs  # the epoch's last batch may be smaller
    ws = net.workspace(bs)  # the values and messages of forward and backward
    ws_last = ws if last_bs == bs else net.workspace(last_bs)
    if gather:
        Xb = np.empty((bs, X.shape[1]), dtype=X.dtype)
        Yb = np.empty((bs, Y.shape[1]), dtype=Y.dtype)
        Xb_last, Yb_last = Xb[:last_bs], Yb[:last_bs]
        idx_buf = np.empty(bs, dtype=np.intp)

    def loop_state(at: int) -> tuple[dict, dict]:
        info = {
            "rng_initial": rng_initial,
            "n_train": n,
            "batch_size": bs,
            "pos": at,
            "loss_sum": loss_sum if at else 0.0,
            "gsq_sum": gsq_sum if at else 0.0,
            "n_batches": n_batches if at else 0,
            "elapsed": elapsed0 + time.perf_counter() - t_start,
            "best_val": None if not math.isfinite(best_val) else best_val,
            "best_epoch": best_epoch,
            "bad_epochs": bad_epochs,
            "epochs": target,
        }
        arrays = {}
        if at and order is not None:
            arrays["order"] = order
        if best_theta is not None:
            arrays["best_theta"] = best_theta
        return info, arrays

    def write_checkpoint(epoch_done: int, at: int) -> None:
        from ffnn.io import save_checkpoint

        info, arrays = loop_state(at)
        save_checkpoint(
            checkpoint,
            net,
            optimizer_state=ost,
            epoch=epoch_done,
            rng=rng,
            history=history,
            loop=info,
            arrays=arrays,
        )

    # --- progress --------------------------------------------------------------------------------
    show = (sys.stderr.isatty() or in_notebook()) if progress is None else bool(progress)
    bar = None
    if show and target > start_epoch:
        bar = progress_bar(
            total=target,
            initial=start_epoch,
            unit="epoch",
            file=sys.stderr,
            dynamic_ncols=True,
            leave=True,
        )

    # --- the loop --------------------------------------------------------------------------------
    forward, backward, out_act = net.forward, net.backward, net.output
    value_and_delta, update_theta = loss.value_and_delta_into, opt.update_theta
    isfinite, take_X, take_Y, copyto = math.isfinite, X.take, Y.take, np.copyto
    tick = max(1, steps_per_epoch // 20) if bar is not None and steps_per_epoch >= 20 else 0
    stop_reason, message = "max_epochs", f"reached the last epoch ({target})"
    epoch = start_epoch
    stopped = False
    try:
        # overflow on the way to a non-finite loss is reported by the divergence check below
        with _CtrlC() as ctrl_c, np.errstate(over="ignore", invalid="ignore"):
            for epoch in range(start_epoch + 1, target + 1):
                if pos == 0:
                    if gather:
                        order = rng.permutation(n) if shuffle else np.arange(n)
                    loss_sum, gsq_sum, n_batches = 0.0, 0.0, 0
                s = pos
                last = steps_per_epoch - 1
                while s < steps_per_epoch:
                    if ctrl_c.hit:
                        break
                    w = ws if s < last else ws_last
                    if gather:
                        idx = order[s * bs : s * bs + bs]
                        if rows is not None:  # positions in the training rows -> rows of X
                            idx = rows.take(idx, out=idx_buf[: idx.shape[0]])
                        xb, yb = (Xb, Yb) if s < last else (Xb_last, Yb_last)
                        take_X(idx, axis=0, out=xb, mode="clip")  # indices are valid; "clip"
                        take_Y(idx, axis=0, out=yb, mode="clip")  # avoids a buffered copy
                    elif bs == n:
                        xb, yb = X, Y
                    else:
                        xb, yb = X[s * bs : s * bs + bs], Y[s * bs : s * bs + bs]
                    z, trace = forward(xb, workspace=w)
                    L, delta = value_and_delta(z, yb, out_act, w.delta)
                    if not isfinite(L):
                        raise _Diverged(epoch, s, "loss", L, restore=True)
                    g = backward(trace, delta, out=gbuf, workspace=w).theta
                    gsq = float(g.dot(g))
                    if not isfinite(gsq):
                        raise _Diverged(epoch, s, "gradient norm", gsq, restore=False)
                    copyto(prev, theta)
                    ost = update_theta(g, ost, theta)  # θ ← θ + s_t, in place
                    loss_sum += L * z.shape[0]
                    gsq_sum += gsq
                    n_batches += 1
                    s += 1
                    if tick and s % tick == 0:  # live running loss, throttled by tqdm
                        bar.set_postfix(loss=f"{loss_sum / (s * bs):.4g}", refresh=False)
                        bar.update(0)
                if s < steps_per_epoch:  # Ctrl-C inside the epoch
                    pos = s
                    epoch -= 1
                    stop_reason = "interrupted"
                    message = (
                        f"interrupted at epoch {epoch + 1}, step {s} of {steps_per_epoch}; the "
                        "model keeps the parameters of the last step"
                    )
                    if checkpoint is not None:
                        write_checkpoint(epoch, pos)
                        message += f"; resume from {str(checkpoint)!r}"
                    break
                pos = 0
                if not np.isfinite(theta).all():  # the epoch's last step left θ non-finite
                    raise _Diverged(epoch, s - 1, "the parameter vector", "not finite", True)

                # --- end of the epoch: record, early stopping, callbacks, checkpoint ------
                rec = {
                    "epoch": epoch,
                    "train_loss": loss_sum / n,
                    "grad_norm": math.sqrt(gsq_sum / max(n_batches, 1)),
                }
                if metric_fns:
                    _, f_tr = _evaluate(net, loss, X, Y, True, rows)
                    Y_tr = Y if rows is None else Y[rows]
                    for name, fn in metric_fns:
                        rec[f"train_{name}"] = fn(Y_tr, f_tr)
                if Xv is not None:
                    val_loss, f_val = _evaluate(net, loss, Xv, Yv, bool(metric_fns))
                    rec["val_loss"] = val_loss
                    for name, fn in metric_fns:
                        rec[f"val_{name}"] = fn(Yv, f_val)
                rate = opt.learning_rate(max(ost["step"] - 1, 0))
                if rate is not None:
                    rec["lr"] = rate
                rec["step"] = ost["step"]
                rec["time"] = elapsed0 + time.perf_counter() - t_start
                history.append(rec)
                if early_stopping is not None:
                    if rec["val_loss"] < best_val:
                        best_val, best_epoch, bad_epochs = rec["val_loss"], epoch, 0
                        copyto(best_theta, theta)
                    else:
                        bad_epochs += 1
                if bar is not None:
                    post = {"loss": f"{rec['train_loss']:.4g}"}
                    if "val_loss" in rec:
                        post["val"] = f"{rec['val_loss']:.4g}"
                    bar.set_postfix(post, refresh=False)
                    bar.update(1)
                for cb in callbacks:
                    logs = dict(rec)
                    try:
                        answer = cb(net, epoch, logs)
                    except KeyboardInterrupt:
                        stop_reason = "interrupted"
                        message = f"interrupted after epoch {epoch}"
                        break
                    # keys a callback adds land in the history; the loop's own stay as measured
                    history.records[-1].update({k: v for k, v in logs.items() if k not in rec})
                    if answer is True:
                        stop_reason = "callback"
                        message = f"callback {_name(cb)} stopped the run after epoch {epoch}"
                        break
                if stop_reason == "max_epochs":
                    if early_stopping is not None and bad_epochs >= early_stopping:
                        stop_reason = "early_stopping"
                        message = f"the validation loss did not improve for {bad_epochs} epochs"
                    elif tol_loss is not None and rec["train_loss"] <= tol_loss:
                        stop_reason = "tol_loss"
                        message = f"training loss {rec['train_loss']:.4g} <= tol_loss={tol_loss:g}"
                    elif tol_grad is not None and rec["grad_norm"] <= tol_grad:
                        stop_reason = "tol_grad"
                        message = f"gradient norm {rec['grad_norm']:.4g} <= tol_grad={tol_grad:g}"
                stopped = stop_reason != "max_epochs" or epoch == target
                if checkpoint is not None and (stopped or epoch % checkpoint_every == 0):
                    write_checkpoint(epoch, 0)
                if stopped:
                    break
                if ctrl_c.hit:  # Ctrl-C during the end-of-epoch work
                    stop_reason, message = "interrupted", f"interrupted after epoch {epoch}"
                    if checkpoint is not None:
                        write_checkpoint(epoch, 0)
                    break
    except _Diverged as d:
        if d.restore:
            copyto(theta, prev)
        rate = opt.learning_rate(max(ost["step"] - 1, 0))
        hint = (
            f"lower the learning rate (now {rate:g})"
            if rate is not None
            else "lower the learning rate"
        )
        stop_reason = message = (
            f"training diverged at epoch {d.epoch}, step {d.step + 1}: {d.what} is {d.value}; "
            f"{hint}"
        )
        warnings.warn(message, RuntimeWarning, stacklevel=2)
        epoch = d.epoch - 1
    except KeyboardInterrupt:  # a second Ctrl-C, or one outside the main thread: no checkpoint
        stop_reason = "interrupted"
        message = f"interrupted during epoch {epoch}; the last checkpoint (if any) is kept"
        epoch -= 1
    finally:
        if bar is not None:
            bar.close()

    # --- the end ---------------------------------------------------------------------------------
    if (
        early_stopping is not None
        and best_epoch is not None
        and stop_reason != "interrupted"
        and not stop_reason.startswith("training diverged")
    ):
        copyto(theta, best_theta)
        message += f"; restored the weights of epoch {best_epoch} (val_loss {best_val:.4g})"
    history.stop_reason = stop_reason
    history.message = message
    history.best_epoch = _best_epoch(history) if best_epoch is None else best_epoch
    history.state = {"optimizer": ost, "epoch": max(epoch, start_epoch)}
    return history


class _Diverged(Exception):
    def __init__(self, epoch: int, step: int, what: str, value, restore: bool):
        super().__init__(what)
        self.epoch, self.step, self.what, self.value, self.restore = (
            epoch,
            step,
            what,
            value,
            restore,
        )


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
