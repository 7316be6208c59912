"""The inner loop, as parts a caller may drive: batches, one step, one epoch (notes 004).

One step on a batch B = (X_B, Y_B) is

    z, trace = net.forward(X_B);   L_B, δ = loss(z, Y_B);   g = net.backward(trace, δ)
    s, state = optimizer.update(g, state, θ);   θ ← θ + s          (one in-place operation)

:class:`Batches` walks a permutation of the n training rows (drawn from the run's generator each
epoch) in batches of ``batch_size``, gathered into preallocated buffers with
``np.take(..., out=)``; full-batch GD (``batch_size=None``), single-example SGD and minibatch
SGD are this one walk. :class:`Trainer` holds the optimizer state and the epoch's running sums,
and offers ``step(X_B, Y_B)`` (one step) and ``epoch(epoch)`` (the steps of one epoch, resumable
mid-way). A non-finite loss or gradient raises :class:`Diverged`; θ before the last step is kept
in ``trainer.prev``, so the caller can fall back to the last finite parameters.

>>> trainer = Trainer(net, get_loss("mse"), get_optimizer("sgd", 0.1), Batches(net, X, Y, 32))
>>> for epoch in range(1, 11):
...     trainer.epoch(epoch, rng)
...     print(trainer.record(epoch))          # {"epoch", "train_loss", "grad_norm"}
"""

from __future__ import annotations

import math
import time

import numpy as np

from ffnn.core.graph import Network
from ffnn.core.losses import Loss
from ffnn.errors import FFNNError
from ffnn.train.data import _all_finite, not_finite_message
from ffnn.train.optimizers import Optimizer
from ffnn.train.weights import weigh

__all__ = ["Batches", "Trainer", "Diverged"]

CHUNK = 256  # compiled steps between two looks at the stop flag (Ctrl-C)
#: with a progress display, a compiled run reports after about this many seconds of steps
REPORT_S = 0.2
#: FLOP/s of a fast CPU: before a run has been timed, a step of 6·p·B FLOPs is guessed to take
#: 6·p·B / FAST_FLOPS s (a guess on the short side: the first run then lasts REPORT_S or more)
FAST_FLOPS = 1e11


class Diverged(Exception):
    """A non-finite loss, gradient or θ at ``step`` (0-based) of ``epoch``; ``restore``: θ must
    fall back to ``Trainer.prev`` (the step that made it non-finite was taken)."""

    def __init__(self, what: str, value, restore: bool, epoch: int = 0, step: int = 0):
        super().__init__(what)
        self.what, self.value, self.restore, self.epoch, self.step = (
            what,
            value,
            restore,
            epoch,
            step,
        )


class Batches:
    """The batches of a run over (X: (N, n_0), Y: (N, n_out)), or over its training ``rows``.

    ``n`` training examples, ``batch_size`` (None: full batch) clipped to n, ``steps`` per epoch
    (the last batch may be smaller). ``new_epoch(rng)`` draws the epoch's ``order``;
    ``batch(s)`` returns (X_B, Y_B, workspace) of step s.
    """

    def __init__(
        self,
        net: Network,
        X: np.ndarray,
        Y: np.ndarray,
        batch_size: int | None,
        rows: np.ndarray | None = None,
        shuffle: bool = True,
        weights: np.ndarray | None = None,
    ):
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
        if rows is not None and bs == n:  # a full batch of the training rows: one copy, once
            X, Y = X[rows], Y[rows]
            weights, rows = (None if weights is None else weights[rows]), None
        self.X, self.Y, self.rows, self.shuffle = X, Y, rows, bool(shuffle)
        # sample weights (N,) normalized to mean 1 over the training rows (ffnn.train.weights)
        self.weights = None if weights is None else _normalized(weights, rows)
        self.n, self.batch_size, self.steps = n, bs, -(-n // bs)
        # a full batch needs no gathering (the mean does not see order); a split data set always
        # does (rows[order] are the training rows of X in this epoch's order)
        self.gather = bs < n and (shuffle or rows is not None)
        self.unchecked = False  # X's entries not checked yet (fit: ffnn.train.loop._check_entries)
        self.order: np.ndarray | None = None
        last_bs = n - (self.steps - 1) * bs
        self.workspace = net.workspace(bs)  # the values and messages of forward and backward
        self.workspace_last = self.workspace if last_bs == bs else net.workspace(last_bs)
        if self.gather:  # a sparse X is gathered by row indexing (no dense buffer)
            sparse_X = not isinstance(X, np.ndarray)
            self._Xb = None if sparse_X else np.empty((bs, X.shape[1]), dtype=X.dtype)
            self._Yb = np.empty((bs, Y.shape[1]), dtype=Y.dtype)
            self._last = (None if sparse_X else self._Xb[:last_bs], self._Yb[:last_bs])
            self._idx = np.empty(bs, dtype=np.intp)
            self._wb = np.empty(bs) if weights is not None else None

    def batch_weights(self, s: int) -> np.ndarray:
        """The sample weights (B,) of step s (call after ``batch(s)``, which gathered its rows)."""
        bs, w = self.batch_size, self.weights
        if self.gather:
            idx = self._idx if self.rows is not None else self.order[s * bs : s * bs + bs]
            n_b = min(bs, self.n - s * bs)
            return w.take(idx[:n_b], out=self._wb[:n_b], mode="clip")
        return w if bs == self.n else w[s * bs : s * bs + bs]

    def new_epoch(self, rng: np.random.Generator) -> None:
        """Draw the epoch's order of the training rows (when the batches need one)."""
        if self.gather:
            self.order = rng.permutation(self.n) if self.shuffle else np.arange(self.n)

    def batch(self, s: int) -> tuple[np.ndarray, np.ndarray, object]:
        """(X_B, Y_B, workspace) of step s of the epoch (0-based)."""
        bs, last = self.batch_size, s == self.steps - 1
        w = self.workspace_last if last else self.workspace
        if self.gather:
            idx = self.order[s * bs : s * bs + bs]
            if self.rows is not None:  # positions in the training rows -> rows of X
                idx = self.rows.take(idx, out=self._idx[: idx.shape[0]])
            xb, yb = self._last if last else (self._Xb, self._Yb)
            if xb is None:  # sparse X: the batch's CSR rows
                xb = self.X[idx]
            else:
                self.X.take(idx, axis=0, out=xb, mode="clip")  # indices are valid; "clip"
            self.Y.take(idx, axis=0, out=yb, mode="clip")  # avoids a buffered copy
            return xb, yb, w
        if bs == self.n:
            return self.X, self.Y, w
        return self.X[s * bs : s * bs + bs], self.Y[s * bs : s * bs + bs], w


def _normalized(w: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
    """w scaled so that its mean over the training rows is 1 (so Σ_B w ≈ B on every batch)."""
    return w * (w.shape[0] / w.sum() if rows is None else rows.shape[0] / w[rows].sum())


class Trainer:
    """One step and one epoch of minibatch training of ``net`` in place.

    ``state``: the optimizer state (``optimizer.init(θ)`` unless given); ``prev``: θ before the
    last step; ``pos``: the next step of the current epoch (0 between epochs); ``loss_sum``,
    ``gsq_sum``, ``n_batches``: the epoch's running Σ B·L_B, Σ ‖g‖² and step count.
    """

    def __init__(
        self,
        net: Network,
        loss: Loss,
        optimizer: Optimizer,
        batches: Batches | None = None,
        state: dict | None = None,
    ):
        self.net, self.loss, self.optimizer, self.batches = net, loss, optimizer, batches
        self.theta = net.theta
        self.state = optimizer.init(self.theta) if state is None else state
        self.grad = net.gradient_buffer()
        self.prev = self.theta.copy()  # θ before the last step: what a diverged step falls back to
        self.pos, self.loss_sum, self.gsq_sum, self.n_batches = 0, 0.0, 0.0, 0
        self.compiled = None  # an ffnn.train.compiled.Epochs when use_compiled chose it
        self._step_s = None  # seconds a compiled step took in the last run (_run_steps)
        self._unchecked = None  # (X's name, θ and step count to restore): check_rows

    def use_compiled(self, compiled: bool | None) -> None:
        """Run ``epoch`` through the compiled path (:mod:`ffnn.train.compiled`): None: when Numba
        is installed and the run is supported; True: whenever supported (FFNNError otherwise);
        False: never (the NumPy step loop)."""
        self.compiled = None
        if compiled is False or self.batches is None:
            return
        if self.batches.weights is not None:  # sample weights: the NumPy path (ffnn.train.weights)
            if compiled:
                raise FFNNError(
                    "compiled=True, but this run is not supported by the compiled path: "
                    "sample weights (pass compiled=None or False)"
                )
            return
        from ffnn.train import compiled as _compiled

        if compiled:
            self.compiled = _compiled.require(self.net, self.loss, self.optimizer, self.batches)
        else:
            p = _compiled.plan(self.net, self.loss, self.optimizer, self.batches)
            self.compiled = None if isinstance(p, str) else p

    def check_rows(self, what: str) -> None:
        """Have the compiled path check the entries of X (named ``what``) as the next epoch
        gathers its rows, instead of a pass over X before training: a non-finite row found
        there — or anywhere in X, when the epoch ends early — puts θ and the step count back as
        they are now and raises FFNNError, as the check before training would have."""
        self.compiled.check = True
        self._unchecked = (what, self.theta.copy(), self.state["step"])

    def _check_rest(self) -> None:
        """The epoch that checked X's rows ended early: check all of X now."""
        if self._unchecked is not None and not _all_finite(self.batches.X):
            self._rows_not_finite()

    def _rows_not_finite(self):
        what, theta, step = self._unchecked
        self.compiled.check, self._unchecked = False, None
        np.copyto(self.theta, theta)
        np.copyto(self.prev, theta)
        self.state["step"] = step
        raise FFNNError(not_finite_message(what))

    def step(self, xb: np.ndarray, yb: np.ndarray, workspace=None, wb=None) -> tuple[float, float]:
        """One step on the batch (X_B: (B, n_0), Y_B: (B, n_out)): returns (L_B, ‖g‖²).

        ``wb``: sample weights (B,) (then L_B is the weighted mean, :mod:`ffnn.train.weights`).
        Raises :class:`Diverged` on a non-finite loss (θ unchanged) or gradient (θ unchanged)."""
        L, gsq, g = self._gradient(xb, yb, workspace, wb)
        np.copyto(self.prev, self.theta)
        self.state = self.optimizer.update_theta(g, self.state, self.theta)  # θ ← θ + s_t
        return L, gsq

    def _gradient(self, xb, yb, workspace=None, wb=None) -> tuple[float, float, np.ndarray]:
        """(L_B, ‖g‖², g) at the network's θ: forward, loss, backward and the two checks."""
        net = self.net
        z, trace = net.forward(xb, workspace=workspace)
        out = None if workspace is None else workspace.delta
        L, delta = self.loss.value_and_delta_into(z, yb, net.output, out)
        if wb is not None:
            L, delta = weigh(self.loss, z, yb, net.output, delta, wb)
        if not math.isfinite(L):
            raise Diverged("loss", L, restore=True)
        g = net.backward(trace, delta, out=self.grad, workspace=workspace).theta
        gsq = float(g.dot(g))
        if not math.isfinite(gsq) and not np.isfinite(g).all():  # (‖g‖² may overflow alone)
            raise Diverged("gradient norm", gsq, restore=False)
        return L, gsq, g

    def epoch(self, epoch: int, rng: np.random.Generator, stop=None, progress=None) -> bool:
        """The steps of ``epoch`` from ``pos`` on; True when it ran to its end.

        ``stop``: an object whose ``hit`` turns True to stop at the next batch boundary (then
        ``pos`` is where to go on); ``progress(running_loss, s)``: called every
        ``progress.every`` steps. Raises :class:`Diverged` (with the epoch and step)."""
        b = self.batches
        if self.pos == 0:
            b.new_epoch(rng)
            self.loss_sum, self.gsq_sum, self.n_batches = 0.0, 0.0, 0
        if b.weights is not None:
            return self._weighted_epoch(epoch, stop, progress)
        tick = getattr(progress, "every", 0)
        if self.compiled is not None:
            s = self._compiled_steps(epoch, stop, progress, tick)
        else:
            s = self._numpy_steps(epoch, stop, progress, tick)
        if s < b.steps:
            return False
        self.pos = 0
        if not np.isfinite(self.theta).all():  # the epoch's last step left θ non-finite
            raise Diverged("the parameter vector", "not finite", True, epoch, s - 1)
        return True

    def _numpy_steps(self, epoch: int, stop, progress, tick: int) -> int:
        """The epoch's steps from ``pos`` on; returns the next step.

        θ and θ_prev are two buffers used in turn: step t writes θ_{t+1} = θ_t + s_t into the
        other buffer and binds the network to it (its views are kept per buffer), so keeping
        θ_prev costs no copy. On the way out ``theta`` holds the last θ and ``prev`` the one
        before, whatever happened, and the network is bound to ``theta`` again."""
        b, net, update = self.batches, self.net, self.optimizer.update_theta
        batch, steps, bs = b.batch, b.steps, b.batch_size
        s, loss_sum, gsq_sum = self.pos, self.loss_sum, self.gsq_sum
        here, there = self._bindings()
        cur = here
        try:
            while s < steps:
                if stop is not None and stop.hit:
                    break
                xb, yb, w = batch(s)
                L, gsq, g = self._gradient(xb, yb, w)
                nxt = there if cur is here else here
                self.state = update(g, self.state, cur[0], out=nxt[0])  # θ_{t+1} = θ_t + s_t
                net._bind(nxt)
                cur = nxt
                loss_sum += L * xb.shape[0]
                gsq_sum += gsq
                s += 1
                if tick and s % tick == 0:  # live running loss
                    progress(loss_sum / (s * bs), s)
        except Diverged as d:
            d.epoch, d.step = epoch, s
            raise
        finally:
            if cur is not here:  # the last θ is in prev's buffer: exchange the two, bind back
                last = self.prev.copy()
                np.copyto(self.prev, self.theta)
                np.copyto(self.theta, last)
                net._bind(here)
            self.n_batches += s - self.pos
            self.pos, self.loss_sum, self.gsq_sum = s, loss_sum, gsq_sum
        return s

    def _bindings(self) -> tuple[tuple, tuple]:
        """The network's binding to ``theta`` and one to ``prev`` (made once, again if the
        network's buffer or its plan changed since)."""
        here = self.net._binding()
        if here[0] is not self.theta:
            raise FFNNError("the network's parameter buffer was replaced during training")
        pair = getattr(self, "_pair", None)
        if pair is None or pair[0][0] is not here[0] or pair[0][4] is not here[4]:
            pair = self._pair = (here, self.net._binding_of(self.prev))
        return pair

    def _compiled_steps(self, epoch: int, stop, progress, tick: int) -> int:
        """The epoch's steps from ``pos`` on, in compiled runs of up to CHUNK steps, ``stop``
        checked between runs; returns the next step. With a ``progress`` (``tick`` > 0) each
        run reports the running loss at its end and lasts about REPORT_S (:meth:`_run_steps`)."""
        c, b = self.compiled, self.batches
        idx, s = c.indices(), self.pos
        while s < b.steps:
            if stop is not None and stop.hit:
                break
            t = time.perf_counter()
            done, status, lsum, gsum = c.run(self, idx, s, min(b.steps, s + self._run_steps(tick)))
            if done:
                self._step_s = (time.perf_counter() - t) / done
            s += done
            self.n_batches += done
            self.pos, self.loss_sum, self.gsq_sum = s, self.loss_sum + lsum, self.gsq_sum + gsum
            if status == 4:  # a row of X with a non-finite entry (check_rows)
                self._rows_not_finite()
            if status:
                self._check_rest()
                what = "loss" if status == 1 else "gradient norm"
                raise Diverged(what, c.diverged_value, status == 1, epoch, s)
            if tick:
                progress(self.loss_sum / (s * b.batch_size), s)
        if s < b.steps:
            self._check_rest()
        else:  # every training row has been gathered (and checked)
            c.check, self._unchecked = False, None
        return s

    def _run_steps(self, tick: int) -> int:
        """Steps in the next compiled run: CHUNK; with a progress display (``tick`` > 0), as
        many as take REPORT_S at the last run's pace, or before the first at FAST_FLOPS: each
        run costs its threads' start, and one every ``tick`` steps made a one-epoch fit on two
        threads 10 % (784-256-256-10) to 32 % (64-128-128-10) slower."""
        if not tick:
            return CHUNK
        pace = self._step_s
        if pace is None:
            pace = 6.0 * self.theta.size * self.batches.batch_size / FAST_FLOPS
        return max(1, min(CHUNK, int(REPORT_S / max(pace, 1e-12))))

    def _weighted_epoch(self, epoch: int, stop, progress) -> bool:
        """``epoch`` with sample weights: each step weighted, the running sum Σ_B (Σ_B w) L_B."""
        b, s, loss_sum, gsq_sum = self.batches, self.pos, self.loss_sum, self.gsq_sum
        tick = getattr(progress, "every", 0)
        try:
            while s < b.steps:
                if stop is not None and stop.hit:
                    break
                xb, yb, w = b.batch(s)
                wb = b.batch_weights(s)
                L, gsq = self.step(xb, yb, w, wb)
                loss_sum += L * float(wb.sum())
                gsq_sum += gsq
                s += 1
                if tick and s % tick == 0:
                    progress(loss_sum / min(s * b.batch_size, b.n), s)
        except Diverged as d:
            d.epoch, d.step = epoch, s
            raise
        finally:
            self.n_batches += s - self.pos
            self.pos, self.loss_sum, self.gsq_sum = s, loss_sum, gsq_sum
        if s < b.steps:
            return False
        self.pos = 0
        if not np.isfinite(self.theta).all():
            raise Diverged("the parameter vector", "not finite", True, epoch, s - 1)
        return True

    def record(self, epoch: int) -> dict:
        """The epoch's record: train_loss (L_train, the mean of the minibatch losses weighted
        by their sizes) and grad_norm (root mean square of the minibatch ‖g‖)."""
        return {
            "epoch": epoch,
            "train_loss": self.loss_sum / self.batches.n,
            "grad_norm": math.sqrt(self.gsq_sum / max(self.n_batches, 1)),
        }
