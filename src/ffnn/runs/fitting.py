"""Training a prepared run, its metrics per split, and the whole run in one call."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence

import numpy as np

from ffnn.runs.config import PreparedRun, RunConfig, RunResult
from ffnn.runs.files import check_no_model, run_metadata, write_outputs
from ffnn.runs.folder import locked_folder
from ffnn.runs.prepare import prepare_run
from ffnn.runs.stopping import fit_metrics, monitor
from ffnn.train.stopping import EarlyStopping


def blas_threads(spec: str, n_params: int):
    """The BLAS threads while training ("auto" or a count): see :mod:`ffnn.train.threads`."""
    from ffnn.train.threads import blas_threads as _blas_threads

    return _blas_threads(spec, n_params)


def fit_prepared(prep: PreparedRun, callbacks: Sequence[Callable] = ()):
    """Train ``prep.net`` in place; (History, interrupted, warnings). A second Ctrl-C (fit stops
    at once) returns the epochs recorded so far; the numerical RuntimeWarnings raised while
    training are returned as messages (a divergence is in ``History.message``)."""
    from ffnn import train as _train  # looked up at call time: tests may replace fit
    from ffnn.train import History

    cfg, (X, y) = prep.config, prep.arrays["train"]
    records: list[dict] = []
    interrupted = False
    rule = accuracy_rule(prep)
    rules = [] if rule is None else [rule]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        try:
            with blas_threads(cfg.threads, prep.net.n_params):
                hist = _train.fit(
                    prep.net, X, y, prep.loss,
                    optimizer=cfg.optimizer, lr=cfg.lr, schedule=cfg.schedule,
                    batch_size=cfg.batch_size, epochs=cfg.epochs,
                    validation=prep.arrays.get("val"),
                    early_stopping=None if rule is not None else prep.patience,
                    metrics=fit_metrics(prep.dataset.task, prep.output),
                    callbacks=[lambda _net, _ep, logs: records.append(dict(logs)), *rules,
                               *callbacks],
                    rng=cfg.seed, progress=cfg.progress, threads=cfg.threads,
                    **prep.optimizer_options,
                )  # fmt: skip
        except KeyboardInterrupt:  # a second Ctrl-C: fit stopped at once
            interrupted = True
            hist = History(records, stop_reason="interrupted", message="interrupted")
    msgs = [str(w.message) for w in caught]
    msgs = [m for m in msgs if not m.startswith("training diverged")]
    interrupted = interrupted or hist.stop_reason == "interrupted"
    if rule is not None:
        _finish_accuracy_rule(rule, prep.net, hist, interrupted)
    return hist, interrupted, msgs


def accuracy_rule(prep: PreparedRun):
    """The early-stopping rule of a run that stops on the validation accuracy."""
    if prep.patience is None or monitor(prep) != "val_accuracy":
        return None
    return EarlyStopping(prep.patience, prep.net.theta, monitor="val_accuracy")


def _finish_accuracy_rule(rule, net, hist, interrupted: bool) -> None:
    """Restore θ of the best accuracy epoch, and say so in the History, as fit does for the
    validation loss."""
    words = rule.finish(net, "interrupted" if interrupted else hist.stop_reason)
    if rule.fired and hist.stop_reason == "callback":
        hist.stop_reason, hist.message = rule.reason, rule.message or ""
    hist.message = (hist.message or hist.stop_reason) + words
    if rule.best_epoch is not None:
        hist.best_epoch = rule.best_epoch
    hist.restored = bool(words)


def restored(hist, patience: int | None) -> bool:
    """Did fit put back the weights of the best validation epoch? Yes when early stopping was
    on and the run was neither interrupted nor diverged (fit's rule)."""
    flag = getattr(hist, "restored", None)  # if a History says so itself
    if flag is not None:
        return bool(flag)
    return (
        patience is not None
        and hist.best_epoch is not None
        and hist.stop_reason != "interrupted"
        and not hist.diverged
    )


# --- metrics --------------------------------------------------------------------------------------
def forward_chunks(net, X: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """z^(L+1) = z(X): (n, n_out), in chunks of rows."""
    return np.concatenate([net.z_out(X[a : a + chunk]) for a in range(0, len(X), chunk)])


def metrics(net, loss, pre, X: np.ndarray, y_enc: np.ndarray) -> dict:
    """Loss (in the training loss's units) and accuracy (classification) or R² and RMSE in the
    data's own units (regression) of the network on preprocessed inputs X: (n, n_0)."""
    z = forward_chunks(net, X)
    out = {"n": int(len(X)), "loss": float(loss.value(z, y_enc, net.output))}
    f = net.output.apply(z)
    if pre is None:
        return out
    if pre.task == "classification":
        truth = y_enc if y_enc.ndim == 1 else y_enc.argmax(axis=1)
        out["accuracy"] = float(np.mean(np.argmax(f, axis=1) == truth))
    else:
        yt = pre.decode(y_enc.reshape(len(X), -1)).reshape(len(X), -1)
        yp = pre.decode(f).reshape(len(X), -1)
        ss_res = np.sum((yt - yp) ** 2, axis=0)
        ss_tot = np.sum((yt - yt.mean(axis=0)) ** 2, axis=0)
        r2 = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1), np.nan)
        out["r2"] = float(np.mean(r2))
        out["rmse"] = float(np.sqrt(np.mean((yt - yp) ** 2)))
    return out


def split_metrics(prep: PreparedRun) -> dict[str, dict]:
    """{"train": ..., "val": ..., "test": ...}: :func:`metrics` of the network on each part."""
    return {
        k: metrics(prep.net, prep.loss, prep.preprocessor, *prep.arrays[k])
        for k in ("train", "val", "test")
        if k in prep.arrays
    }


def train_prepared(prep: PreparedRun, callbacks: Sequence[Callable] = ()) -> RunResult:
    """Train a prepared run, measure it on each split and write its folder.

    ``callbacks``: ``cb(net, epoch, logs)`` after every epoch, as in :func:`ffnn.train.fit`
    (e.g. to report progress). A Ctrl-C keeps the model trained so far (``interrupted``). The
    folder is locked while the run writes to it (a second run into it is refused), and a folder
    this run made is removed again if an error leaves it empty."""
    t0 = time.perf_counter()
    with locked_folder(prep.out, check=lambda: check_no_model(prep.out, prep.config.force)):
        hist, interrupted, msgs = fit_prepared(prep, callbacks)
        rows = split_metrics(prep)
        meta = run_metadata(prep, hist, rows, interrupted)
        title = f"{prep.dataset.name}: {prep.net.widths}, {prep.config.optimizer}"
        kept = restored(hist, prep.patience)
        files = write_outputs(
            prep.out, prep.net, meta, hist, rows, title, restored=kept,
            data=prep.train, pre=prep.preprocessor,
        )  # fmt: skip
    return RunResult(
        prep.net, prep.preprocessor, hist, rows, meta, prep.out, files, interrupted, msgs,
        time.perf_counter() - t0,
    )  # fmt: skip


def run_training(config: RunConfig, callbacks: Sequence[Callable] = ()) -> RunResult:
    """One training run: :func:`prepare_run`, then :func:`train_prepared`."""
    return train_prepared(prepare_run(config), callbacks)
