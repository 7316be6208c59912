"""A run prepared to train: the data read, split and preprocessed, the network built; every
mistake in the options refused here, before any file is written."""

from __future__ import annotations

import contextlib
import csv
import struct
import warnings
import zipfile
from pathlib import Path

import numpy as np

from ffnn.errors import FFNNError
from ffnn.runs.config import PreparedRun, RunConfig
from ffnn.runs.files import output_folder
from ffnn.runs.sizes import check_network, check_rows, limit_bytes
from ffnn.runs.stopping import monitor

_COMPLEX = getattr(np, "exceptions", np).ComplexWarning  # numpy >= 1.25 / older
_CLASSIFICATION_LOSSES = ("cross_entropy", "ce", "binary_cross_entropy", "bce")
# what reading a hostile file may raise inside numpy, csv, zipfile or json, besides FFNNError
_UNREADABLE = (
    UnicodeError, csv.Error, zipfile.BadZipFile, EOFError, ValueError, TypeError, KeyError,
    AttributeError, IndexError, RecursionError, struct.error, _COMPLEX,
)  # fmt: skip


@contextlib.contextmanager
def reading(path, what: str = "a data file"):
    """Turn what a malformed or hostile file makes a reader raise (a decoding error, a truncated
    archive, object or complex arrays, a nesting too deep, ...) into FFNNError naming the file."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", _COMPLEX)  # complex -> float
            yield
    except FFNNError:
        raise
    except _UNREADABLE as e:
        detail = " ".join(str(e).split())[:300]
        raise FFNNError(f"{path}: cannot be read as {what} ({type(e).__name__}: {detail})") from e


def accepts(fn, name: str) -> bool:
    """Does ``fn`` take a keyword parameter called ``name`` (by name, not through **kwargs)?"""
    import inspect

    return name in inspect.signature(fn).parameters


def file_options(config: RunConfig, reader, builtin: bool) -> dict:
    """``sep`` and ``drop`` for the file reader, refused where they cannot apply."""
    kw = {}
    if config.sep is not None:
        kw["sep"] = config.sep
    if config.drop:
        kw["drop"] = tuple(config.drop)
    if kw and builtin:
        raise FFNNError(
            f"--sep and --drop apply to data files, not the built-in set {config.data!r}"
        )
    for k in kw:
        if not accepts(reader, k):
            raise FFNNError(
                f"--{k} needs ffnn.data.{reader.__name__}(..., {k}=...), which this version of "
                "ffnn does not have"
            )
    return kw


def _synthetic_options(config: RunConfig, name: str) -> dict:
    from ffnn.data import DATASETS, load_dataset

    kwargs = {k: getattr(config, k) for k in ("n", "noise") if getattr(config, k) is not None}
    if kwargs and not (name in DATASETS and DATASETS[name].seeded):
        synth = ", ".join(k for k, d in DATASETS.items() if d.seeded)
        raise FFNNError(f"--n and --noise apply to the synthetic data sets only ({synth})")
    if config.n is not None:  # size it before generating it
        d = load_dataset(name, rng=0, n=8).n_features
        check_rows(config.n, d, limit_bytes(config.max_memory), name)
    return kwargs


def load_training_data(config: RunConfig):
    """The run's :class:`~ffnn.data.Dataset` and the generator arguments (``n``, ``noise``)
    given for a synthetic set."""
    from ffnn.data import DATASETS, load_data, load_file

    name = str(config.data).lower().replace("-", "_")
    builtin = name in DATASETS and not Path(str(config.data)).is_file()
    kwargs = _synthetic_options(config, name)
    file_kw = file_options(config, load_file, builtin)
    with reading(config.data):
        ds = load_data(
            config.data, target=config.target, task=config.task, rng=config.seed, **kwargs,
            **file_kw,
        )  # fmt: skip
    if config.task is not None and ds.task != config.task:
        raise FFNNError(
            f"data set {config.data!r} is a {ds.task} set; --task {config.task} does not fit"
        )
    return ds, kwargs


def targets_for(loss_name: str, pre, y_enc: np.ndarray) -> np.ndarray:
    """Classification targets: indices for cross-entropy, one-hot rows for any other loss."""
    if pre.task == "classification" and loss_name not in ("cross_entropy", "ce"):
        return pre.one_hot(y_enc)
    return y_enc


def split_and_preprocess(config: RunConfig, ds, loss_name: str):
    """(train, val or None, test, preprocessor, arrays): a seeded stratified split, then the
    preprocessing fitted on the training part only and applied to every part."""
    from ffnn.data import Preprocessor, train_test_split

    train, test = train_test_split(ds, config.test_size, rng=config.seed)
    val = None
    if config.validation > 0:
        train, val = train_test_split(train, config.validation, rng=config.seed + 1)
    pre = Preprocessor(standardize=config.standardize).fit(train)
    parts = {"train": train, "val": val, "test": test}
    arrays = {
        k: (pre.transform_X(d.X), targets_for(loss_name, pre, pre.encode_dataset(d)))
        for k, d in parts.items()
        if d is not None
    }
    return train, val, test, pre, arrays


# --- the network and the optimizer ----------------------------------------------------------------
def _activations(config: RunConfig) -> list[str]:
    from ffnn import get_activation
    from ffnn.train.optimizers import OPTIMIZERS

    acts = [a.strip() for a in config.activation.split(",")]
    for a in acts:
        get_activation(a)
    if config.optimizer not in OPTIMIZERS:
        raise FFNNError(
            f"unknown optimizer {config.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}"
        )
    return acts


def choose_loss(config: RunConfig, task: str, data_name: str):
    """(loss name, Loss, output activation name): the defaults follow the task."""
    from ffnn import get_loss

    loss_name = config.loss or ("cross_entropy" if task == "classification" else "mse")
    loss = get_loss(loss_name)
    output = config.output or {"cross_entropy": "softmax", "ce": "softmax"}.get(
        loss_name, "sigmoid" if loss_name in ("binary_cross_entropy", "bce") else "identity"
    )
    if task == "regression" and loss_name in _CLASSIFICATION_LOSSES:
        raise FFNNError(
            f"loss {loss_name!r} is for classification, but {data_name!r} is a regression set"
        )
    return loss_name, loss, output


def build_network(config: RunConfig, acts: list[str], n_in: int, n_out: int, output: str):
    """The MLP of widths [n_0, *hidden, n_out], seeded by ``config.seed``."""
    from ffnn import mlp

    hidden = config.hidden
    if len(acts) not in (1, len(hidden)) and hidden:
        raise FFNNError(
            f"--activation lists {len(acts)} names for {len(hidden)} hidden layers; give one name "
            "or one per hidden layer"
        )
    act = acts[0] if len(acts) == 1 else acts
    return mlp(
        [n_in, *hidden, n_out], act, output=output, rng=config.seed, dtype=np.dtype(config.dtype)
    )


def optimizer_options(config: RunConfig) -> dict:
    """The optimizer's hyperparameters that the run sets (weight decay, momentum, clipping)."""
    opt_kw: dict = {}
    if config.weight_decay:
        opt_kw["weight_decay"] = config.weight_decay
    if config.momentum is not None:
        if config.optimizer not in ("momentum", "nesterov", "rmsprop"):
            raise FFNNError(
                f"--momentum applies to momentum, nesterov and rmsprop, not {config.optimizer}"
            )
        opt_kw["momentum"] = config.momentum
    if config.clip_norm is not None:
        opt_kw["clip_norm"] = config.clip_norm
    return opt_kw


def prepare_run(config: RunConfig) -> PreparedRun:
    """Check the names, load and split the data, fit the preprocessing and build the network;
    every mistake in ``config`` is raised here (FFNNError), before any training or file."""
    acts = _activations(config)
    if any(not isinstance(w, int) or w < 1 for w in config.hidden):
        raise FFNNError(
            f"hidden widths are whole numbers >= 1, got {config.hidden}; for a linear model "
            "(no hidden layer) give none"
        )
    ds, data_kwargs = load_training_data(config)
    loss_name, loss, output = choose_loss(config, ds.task, ds.name)
    train, val, test, pre, arrays = split_and_preprocess(config, ds, loss_name)
    widths = [ds.n_features, *config.hidden, pre.n_outputs]
    check_network(
        widths, np.dtype(config.dtype).itemsize, config.batch_size, train.n,
        limit_bytes(config.max_memory),
    )  # fmt: skip
    net = build_network(config, acts, ds.n_features, pre.n_outputs, output)
    loss.check_output(net.output)
    out = output_folder(config, ds.name)
    patience = config.patience if (val is not None and config.patience > 0) else None
    prep = PreparedRun(
        config, ds, data_kwargs, train, val, test, pre, arrays, loss_name, loss, output, net,
        patience, optimizer_options(config), out,
    )  # fmt: skip
    monitor(prep)  # a --monitor that cannot apply is refused here, before any file
    return prep
