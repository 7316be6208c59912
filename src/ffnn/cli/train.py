"""``ffnn train [DATA] [options]``: parse the options into a RunConfig, run it, print."""

from __future__ import annotations

import argparse
import sys
import time

from ffnn.cli._args import (
    EXIT_INTERRUPTED,
    batch_size,
    columns,
    fraction,
    fraction_or_zero,
    nonneg_float,
    nonneg_int,
    positive_float,
    positive_int,
    separator,
    size,
    threads,
    widths,
)
from ffnn.cli._print import say, table

DESCRIPTION = (
    "Train a fully connected network. DATA is a built-in data set (ffnn datasets) or a "
    ".csv/.npz/.npy file. A stratified test set is held out (seeded); inputs are standardized "
    "and labels encoded with the training set's statistics, and both are stored with the model."
)


def _data_options(t: argparse.ArgumentParser) -> None:
    t.add_argument(
        "data", nargs="?", default="digits",
        help="built-in data set name or file path (default: digits)",
    )  # fmt: skip
    g = t.add_argument_group("data")
    g.add_argument("--target", help="target column (CSV) / key (npz) / y file (npy)")
    g.add_argument(
        "--task", choices=("classification", "regression"),
        help="override the task inferred from the targets",
    )  # fmt: skip
    g.add_argument(
        "--test-size", type=fraction, default=0.2,
        help="fraction held out for the test set (default 0.2)",
    )  # fmt: skip
    g.add_argument(
        "--validation", type=fraction_or_zero, default=0.1,
        help="fraction of the rest used for validation / early stopping; 0: none (default 0.1)",
    )  # fmt: skip
    g.add_argument("--n", type=positive_int, help="number of examples (synthetic sets)")
    g.add_argument("--noise", type=nonneg_float, help="noise level (synthetic sets)")
    g.add_argument("--no-standardize", action="store_true", help="feed the raw inputs")
    g.add_argument("--sep", type=separator, help="CSV delimiter, e.g. ';' or tab (default: found)")
    g.add_argument(
        "--drop", type=columns, default=(), metavar="COLS",
        help="columns of the file to leave out, comma-separated (e.g. id,date)",
    )  # fmt: skip


def _network_options(t: argparse.ArgumentParser) -> None:
    g = t.add_argument_group("network")
    g.add_argument(
        "--hidden", type=widths, default=[256, 256],
        help="hidden widths n_1,…,n_L, e.g. 128,64; 'none' for no hidden layer (default 256,256)",
    )  # fmt: skip
    g.add_argument(
        "--activation", default="relu",
        help="σ for the hidden layers, one name or one per layer (default relu)",
    )  # fmt: skip
    g.add_argument(
        "--output", choices=("identity", "sigmoid", "softmax"),
        help="output activation φ_out (default: from the loss)",
    )  # fmt: skip
    g.add_argument(
        "--loss",
        help="mse, mae, huber, binary_cross_entropy, cross_entropy "
        "(default: cross_entropy for classification, mse for regression)",
    )
    g.add_argument("--dtype", choices=("float32", "float64"), default="float32")


def _optimization_options(t: argparse.ArgumentParser) -> None:
    g = t.add_argument_group("optimization")
    g.add_argument(
        "--optimizer", default="adam",
        help="gd/sgd, momentum, nesterov, rmsprop, adam, adamw (default adam)",
    )  # fmt: skip
    g.add_argument("--lr", type=positive_float, default=3e-3, help="learning rate η (3e-3)")
    g.add_argument(
        "--schedule",
        help="learning-rate schedule: step, exponential, inverse_time, "
        "cosine, warmup (default constant)",
    )
    g.add_argument(
        "--batch-size", type=batch_size, default=32,
        help="examples per step; 'full' for full-batch GD (default 32)",
    )  # fmt: skip
    g.add_argument("--epochs", type=positive_int, default=300, help="most epochs (default 300)")
    g.add_argument(
        "--patience", type=nonneg_int, default=20,
        help="early stopping: epochs without a better validation score (--monitor); 0: off "
        "(default 20)",
    )  # fmt: skip
    g.add_argument(
        "--monitor", choices=("auto", "val_loss", "val_accuracy"), default="auto",
        help="what early stopping watches; auto: the accuracy for classification, the loss "
        "for regression (default auto)",
    )  # fmt: skip
    g.add_argument("--weight-decay", type=nonneg_float, default=0.0, help="L2 coefficient λ")
    g.add_argument("--momentum", type=fraction_or_zero, help="momentum μ (momentum/nesterov)")
    g.add_argument("--clip-norm", type=positive_float, help="clip the gradient norm to this")


def _run_options(t: argparse.ArgumentParser) -> None:
    g = t.add_argument_group("run")
    g.add_argument(
        "--seed", type=nonneg_int, default=0,
        help="seeds the split, the initialization and the shuffling (default 0)",
    )  # fmt: skip
    g.add_argument(
        "-o", "--out",
        help="output folder (default runs/<data>-<date>-<time>, new "
        "each run); a folder holding a model is not overwritten without --force",
    )  # fmt: skip
    g.add_argument("--force", action="store_true", help="overwrite the model in -o")
    g.add_argument(
        "--progress", dest="progress", action="store_const", const=True, default=None,
        help="show a progress bar (default: when stderr is a terminal)",
    )  # fmt: skip
    g.add_argument("--no-progress", dest="progress", action="store_const", const=False)
    g.add_argument(
        "--threads", type=threads, default="auto",
        help="BLAS threads while training; auto: 1 for networks under 10^6 "
        "parameters (small products run faster on one thread; the compiled path then splits "
        "each batch among the cores by examples)",
    )  # fmt: skip
    g.add_argument(
        "--max-memory", type=size, metavar="SIZE",
        help="refuse a network or data set that would need more memory than this, e.g. 16G; "
        "off: no check (default: $FFNN_MAX_BYTES, else half the memory available)",
    )  # fmt: skip
    g.add_argument("-q", "--quiet", action="store_true", help="print only the final table")


def add_parser(sub) -> argparse.ArgumentParser:
    """The ``train`` sub-command's parser."""
    t = sub.add_parser(
        "train", help="train a network on a built-in data set or a file", description=DESCRIPTION
    )
    _data_options(t)
    _network_options(t)
    _optimization_options(t)
    _run_options(t)
    t.set_defaults(func=run)
    return t


def config_from_args(args: argparse.Namespace):
    """The :class:`ffnn.runs.RunConfig` of the parsed options."""
    from dataclasses import fields

    from ffnn.runs import RunConfig

    kw = {f.name: getattr(args, f.name) for f in fields(RunConfig) if hasattr(args, f.name)}
    kw["standardize"] = not args.no_standardize
    return RunConfig(**kw)


def _describe(prep, quiet: bool) -> None:
    cfg, ds, net = prep.config, prep.dataset, prep.net
    say(
        f"data     {ds.name}: {ds.n} examples, {ds.n_features} features, {ds.task}"
        + (f", {len(ds.classes)} classes" if ds.classes else ""),
        quiet=quiet,
    )
    n_val = 0 if prep.val is None else prep.val.n
    stratified = ", stratified" if ds.task == "classification" else ""
    say(
        f"split    train {prep.train.n}, validation {n_val}, test {prep.test.n} "
        f"(seed {cfg.seed}{stratified})",
        quiet=quiet,
    )
    say(
        f"network  widths {net.widths}, {cfg.activation}, output {prep.output}, "
        f"p = {net.n_params} parameters",
        quiet=quiet,
    )
    bs_text = "full batch" if cfg.batch_size is None else f"batch {cfg.batch_size}"
    stopping = f", early stopping (patience {prep.patience})" if prep.patience else ""
    say(
        f"training {prep.loss_name}, {cfg.optimizer} lr {cfg.lr:g}, {bs_text}, up to "
        f"{cfg.epochs} epochs" + stopping,
        quiet=quiet,
    )


def _report(result, t0: float, quiet: bool) -> int:
    hist = result.history
    for msg in result.warnings:
        print(f"ffnn: warning: {msg}", file=sys.stderr)
    if hist.diverged:
        print(f"ffnn: warning: {hist.message}", file=sys.stderr)
    say(
        f"stopped  {hist.message or hist.stop_reason} (after {len(hist)} epochs, "
        f"{time.perf_counter() - t0:.1f} s)",
        quiet=quiet,
    )
    say("", quiet=quiet)
    print(table(result.metrics))
    say(f"\nsaved    {result.out}/: " + ", ".join(result.files), quiet=quiet)
    if result.interrupted:
        print(
            f"ffnn: interrupted after {len(hist)} epochs; saved the model trained so far to "
            f"{result.out / result.files[0]}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    return 0


def run(args: argparse.Namespace) -> int:
    """``ffnn train``: prepare the run (every mistake refused here), describe it, train, report."""
    from ffnn.runs import prepare_run, train_prepared

    t0 = time.perf_counter()
    prep = prepare_run(config_from_args(args))
    _describe(prep, args.quiet)
    return _report(train_prepared(prep), t0, args.quiet)
