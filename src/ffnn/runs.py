"""One training run: data, split, preprocessing, network, fit, metrics and files.

The command line's ``ffnn train`` is a thin face over this module; the playground and a sweep
runner call it the same way. Nothing here prints or reads ``sys.argv``.

>>> from ffnn.runs import RunConfig, run_training
>>> result = run_training(RunConfig("iris", epochs=50, out="runs/iris"))   # doctest: +SKIP
>>> result.metrics["test"]["accuracy"]                                     # doctest: +SKIP

or in two steps, to look at the prepared run (data, split, network) before training it:

>>> prep = prepare_run(RunConfig("iris"))                  # doctest: +SKIP
>>> prep.net.widths, prep.train.n                          # doctest: +SKIP
>>> result = train_prepared(prep)                          # doctest: +SKIP

A run folder holds ``model.safetensors`` (the network, with the preprocessing and the run's
metadata), ``history.json``, ``history.csv``, ``metrics.json`` and ``loss.png``; every file is
written atomically (``ffnn.io``).
"""

from __future__ import annotations

import contextlib
import io
import json
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ffnn.errors import FFNNError

MODEL_FILE = "model.safetensors"
_CLASSIFICATION_LOSSES = ("cross_entropy", "ce", "binary_cross_entropy", "bce")


@dataclass
class RunConfig:
    """The options of one training run (those of ``ffnn train``, same names and defaults).

    data : a built-in data set name (``ffnn.data.DATASETS``) or a .csv/.npz/.npy path.
    hidden : the hidden widths n_1, …, n_L ([] for a linear model).
    activation : σ for the hidden layers: one name, or comma-separated names, one per layer.
    batch_size : None for full-batch gradient descent. patience : 0 turns early stopping off.
    out : the run folder (None: ``runs/<data>-<date>-<time>``, new each run); a folder holding a
    model is refused unless ``force``. threads : BLAS threads while training ("auto" or a count).
    """

    data: str = "digits"
    target: str | None = None
    task: str | None = None
    test_size: float = 0.2
    validation: float = 0.1
    n: int | None = None
    noise: float | None = None
    standardize: bool = True
    hidden: list[int] = field(default_factory=lambda: [256])
    activation: str = "relu"
    output: str | None = None
    loss: str | None = None
    dtype: str = "float32"
    optimizer: str = "adam"
    lr: float = 1e-3
    schedule: str | None = None
    batch_size: int | None = 32
    epochs: int = 300
    patience: int = 20
    weight_decay: float = 0.0
    momentum: float | None = None
    clip_norm: float | None = None
    seed: int = 0
    out: str | None = None
    force: bool = False
    progress: bool | None = None
    threads: str = "auto"


@dataclass
class PreparedRun:
    """A run ready to train: the data, its split, the preprocessed arrays and the network.

    arrays : {"train": (X, y), "val": (X, y) or absent, "test": (X, y)}, X: (n, n_0)
    standardized, y encoded for ``loss`` (class indices, or one-hot rows for losses other than
    cross-entropy).
    """

    config: RunConfig
    dataset: Any
    data_kwargs: dict
    train: Any
    val: Any
    test: Any
    preprocessor: Any
    arrays: dict
    loss_name: str
    loss: Any
    output: str
    net: Any
    patience: int | None
    optimizer_options: dict
    out: Path


@dataclass
class RunResult:
    """What a run produced: the trained network, its history, the metrics per split
    ({"train": {...}, "val": {...}, "test": {...}}), the metadata saved with the model, the run
    folder and its files, whether Ctrl-C ended it, and the numerical warnings fit raised."""

    net: Any
    preprocessor: Any
    history: Any
    metrics: dict
    meta: dict
    out: Path
    files: list[str]
    interrupted: bool
    warnings: list[str]
    seconds: float


# --- data -----------------------------------------------------------------------------------------
def load_training_data(config: RunConfig):
    """The run's :class:`~ffnn.data.Dataset` and the generator arguments (``n``, ``noise``)
    given for a synthetic set."""
    from ffnn.data import DATASETS, load_data

    kwargs = {k: getattr(config, k) for k in ("n", "noise") if getattr(config, k) is not None}
    name = str(config.data).lower().replace("-", "_")
    if kwargs and not (name in DATASETS and DATASETS[name].seeded):
        synth = ", ".join(k for k, d in DATASETS.items() if d.seeded)
        raise FFNNError(f"--n and --noise apply to the synthetic data sets only ({synth})")
    ds = load_data(config.data, target=config.target, task=config.task, rng=config.seed, **kwargs)
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


# --- the run folder -------------------------------------------------------------------------------
def output_folder(config: RunConfig, data_name: str) -> Path:
    """The run folder: ``config.out``, or a new ``runs/<data>-<date>-<time>``. Refuses a file,
    and a folder that already holds a model unless ``config.force``."""
    if config.out is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        base = Path("runs") / f"{data_name}-{stamp}"
        out, k = base, 2
        while out.exists():
            out, k = Path(f"{base}-{k}"), k + 1
        return out
    out = Path(config.out)
    if out.exists() and not out.is_dir():
        raise FFNNError(f"-o {config.out!r} is a file, not a folder")
    if (out / MODEL_FILE).exists() and not config.force:
        raise FFNNError(
            f"{out} already holds a trained model; pass --force to overwrite it, or choose "
            "another folder with -o"
        )
    return out


def prepare_run(config: RunConfig) -> PreparedRun:
    """Check the names, load and split the data, fit the preprocessing and build the network;
    every mistake in ``config`` is raised here (FFNNError), before any training or file."""
    acts = _activations(config)
    ds, data_kwargs = load_training_data(config)
    loss_name, loss, output = choose_loss(config, ds.task, ds.name)
    train, val, test, pre, arrays = split_and_preprocess(config, ds, loss_name)
    net = build_network(config, acts, ds.n_features, pre.n_outputs, output)
    loss.check_output(net.output)
    out = output_folder(config, ds.name)
    patience = config.patience if (val is not None and config.patience > 0) else None
    return PreparedRun(
        config, ds, data_kwargs, train, val, test, pre, arrays, loss_name, loss, output, net,
        patience, optimizer_options(config), out,
    )  # fmt: skip


# --- training -------------------------------------------------------------------------------------
@contextlib.contextmanager
def blas_threads(spec: str, n_params: int):
    """Limit the BLAS threads while training. "auto": one thread for networks under a million
    parameters, whose small matrix products only lose time to thread start-up and to waiting for
    a busy core; otherwise the BLAS default."""
    n = (1 if n_params < 1_000_000 else None) if spec == "auto" else int(spec)
    if n is None:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        yield
        return
    with threadpool_limits(limits=n, user_api="blas"):
        yield


def _fit_metrics(task: str, output: str) -> list[str]:
    # fit's accuracy reads probabilities; with an identity output the metrics still report the
    # accuracy of argmax_k z_k
    if task == "regression":
        return ["r2"]
    return ["accuracy"] if output in ("softmax", "sigmoid") else []


def fit_prepared(prep: PreparedRun, callbacks: Sequence[Callable] = ()):
    """Train ``prep.net`` in place; (History, interrupted, warnings). A second Ctrl-C (fit stops
    at once) returns the epochs recorded so far; the numerical RuntimeWarnings raised while
    training are returned as messages (a divergence is in ``History.message``)."""
    from ffnn import train as _train  # looked up at call time: tests may replace fit
    from ffnn.train import History

    cfg, (X, y) = prep.config, prep.arrays["train"]
    records: list[dict] = []
    interrupted = False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        try:
            with blas_threads(cfg.threads, prep.net.n_params):
                hist = _train.fit(
                    prep.net, X, y, prep.loss,
                    optimizer=cfg.optimizer, lr=cfg.lr, schedule=cfg.schedule,
                    batch_size=cfg.batch_size, epochs=cfg.epochs,
                    validation=prep.arrays.get("val"), early_stopping=prep.patience,
                    metrics=_fit_metrics(prep.dataset.task, prep.output),
                    callbacks=[lambda _net, _ep, logs: records.append(dict(logs)), *callbacks],
                    rng=cfg.seed, progress=cfg.progress, **prep.optimizer_options,
                )  # fmt: skip
        except KeyboardInterrupt:  # a second Ctrl-C: fit stopped at once
            interrupted = True
            hist = History(records, stop_reason="interrupted", message="interrupted")
    msgs = [str(w.message) for w in caught]
    msgs = [m for m in msgs if not m.startswith("training diverged")]
    return hist, interrupted or hist.stop_reason == "interrupted", msgs


# --- metrics --------------------------------------------------------------------------------------
def forward_chunks(net, X: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """z^(L+1) = z(X): (n, n_out), in chunks of rows."""
    return np.concatenate([net.forward(X[a : a + chunk])[0] for a in range(0, len(X), chunk)])


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


# --- files ----------------------------------------------------------------------------------------
def _version() -> str:
    from ffnn import __version__

    return __version__


def _data_meta(prep: PreparedRun) -> dict:
    from ffnn.data import DATASETS

    cfg, ds = prep.config, prep.dataset
    source = ds.name if ds.name in DATASETS and not Path(str(cfg.data)).is_file() else None
    return {
        "source": source or str(Path(cfg.data).resolve()),
        "builtin": source is not None,
        "name": ds.name,
        "target": cfg.target,
        "kwargs": prep.data_kwargs,
        "task": ds.task,
        "n": ds.n,
        "test_size": cfg.test_size,
        "validation": cfg.validation,
        "seed": cfg.seed,
        "n_train": prep.train.n,
        "n_val": 0 if prep.val is None else prep.val.n,
        "n_test": prep.test.n,
    }


def run_metadata(prep: PreparedRun, hist, rows: dict, interrupted: bool) -> dict:
    """The metadata saved with the model: preprocessing, data, training options and outcome,
    metrics."""
    cfg = prep.config
    training = {
        "hidden": cfg.hidden,
        "activation": cfg.activation,
        "output": prep.output,
        "loss": prep.loss_name,
    }
    for k in ("optimizer", "lr", "schedule", "batch_size", "epochs"):
        training[k] = getattr(cfg, k)
    training["patience"] = prep.patience
    for k in ("weight_decay", "momentum", "clip_norm", "dtype", "seed"):
        training[k] = getattr(cfg, k)
    training.update(
        epochs_run=len(hist),
        best_epoch=hist.best_epoch,
        stop_reason=hist.stop_reason,
        message=hist.message,
        interrupted=interrupted,
    )
    return {
        "ffnn": _version(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "preprocessor": prep.preprocessor.to_dict(),
        "data": _data_meta(prep),
        "training": training,
        "metrics": rows,
    }


def plot_losses(history, path: str | Path, title: str) -> None:
    """loss.png: L_train and L_val per epoch (log scale), the restored epoch marked. Drawn on a
    Matplotlib ``Figure`` (the user's backend is left alone), written atomically."""
    from matplotlib.figure import Figure

    from ffnn.io import atomic_write_bytes

    ep = history["epoch"] if "epoch" in history else list(range(1, len(history) + 1))
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    for key, label in (("train_loss", "train"), ("val_loss", "validation")):
        if key in history:
            vals = np.array([np.nan if v is None else v for v in history[key]], dtype=float)
            ax.plot(ep, vals, label=label)
    if history.best_epoch is not None and "val_loss" in history:
        ax.axvline(history.best_epoch, color="gray", ls="--", lw=1, label="best (restored)")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss L(θ)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    atomic_write_bytes(path, buf.getvalue())


def write_outputs(out: Path, net, meta: dict, hist, rows: dict, title: str) -> list[str]:
    """Write the run folder's files (atomically); returns their names."""
    from ffnn.io import atomic_write_bytes, save_model

    save_model(out / MODEL_FILE, net, meta)
    hist.to_json(out / "history.json")
    hist.to_csv(out / "history.csv")
    atomic_write_bytes(out / "metrics.json", json.dumps(rows, indent=1).encode())
    files = [MODEL_FILE, "history.json", "history.csv", "metrics.json"]
    if len(hist):
        plot_losses(hist, out / "loss.png", title)
        files.append("loss.png")
    return files


# --- the whole run --------------------------------------------------------------------------------
def train_prepared(prep: PreparedRun, callbacks: Sequence[Callable] = ()) -> RunResult:
    """Train a prepared run, measure it on each split and write its folder.

    ``callbacks``: ``cb(net, epoch, logs)`` after every epoch, as in :func:`ffnn.train.fit`
    (e.g. to report progress). A Ctrl-C keeps the model trained so far (``interrupted``)."""
    t0 = time.perf_counter()
    prep.out.mkdir(parents=True, exist_ok=True)
    hist, interrupted, msgs = fit_prepared(prep, callbacks)
    rows = split_metrics(prep)
    meta = run_metadata(prep, hist, rows, interrupted)
    title = f"{prep.dataset.name}: {prep.net.widths}, {prep.config.optimizer}"
    files = write_outputs(prep.out, prep.net, meta, hist, rows, title)
    return RunResult(
        prep.net, prep.preprocessor, hist, rows, meta, prep.out, files, interrupted, msgs,
        time.perf_counter() - t0,
    )  # fmt: skip


def run_training(config: RunConfig, callbacks: Sequence[Callable] = ()) -> RunResult:
    """One training run: :func:`prepare_run`, then :func:`train_prepared`."""
    return train_prepared(prepare_run(config), callbacks)


# --- a saved run: its model and its data ----------------------------------------------------------
def model_path(spec: str | Path) -> Path:
    """The model file of a run folder (its model.safetensors) or a model file's path."""
    p = Path(spec)
    if p.is_dir():
        p = p / MODEL_FILE
        if not p.is_file():
            raise FFNNError(f"folder {str(spec)!r} holds no {MODEL_FILE}; is it a run folder?")
    elif not p.exists():
        raise FFNNError(f"no such model file or run folder: {str(spec)!r}")
    return p


def load_run(spec: str | Path):
    """(net, metadata, preprocessor or None, path) of a saved model or run folder."""
    from ffnn.data import Preprocessor
    from ffnn.io import load_model

    path = model_path(spec)
    net, meta = load_model(path)
    pre = Preprocessor.from_dict(meta["preprocessor"]) if meta.get("preprocessor") else None
    if pre is not None and pre.n_inputs != net.input_node.dim:
        raise FFNNError(f"{path}: the stored preprocessing does not fit the network's inputs")
    return net, meta, pre, path


def _builtin_data(name: str, meta: dict, whole: bool):
    from ffnn.data import load_dataset, train_test_split

    d = meta.get("data", {})
    ds = load_dataset(name, rng=d.get("seed", 0), **(d.get("kwargs") or {}))
    what = f"{name} (all {ds.n} examples)"
    if d.get("builtin") and d.get("source") == name and not whole:
        _, ds = train_test_split(ds, d["test_size"], rng=d["seed"])
        what = f"{name}, the held-out test split of training ({ds.n} examples; --all for all)"
    y = np.array(ds.classes, dtype=object)[ds.y] if ds.task == "classification" else ds.y
    return ds.X, y, what


def _csv_target(spec: str, pre) -> str | None:
    """The training target's column, if a CSV file has it (and it is not a feature)."""
    with contextlib.suppress(OSError, UnicodeDecodeError, StopIteration):
        import csv

        with open(spec, newline="", encoding="utf-8-sig") as fh:
            header = [h.strip() for h in next(csv.reader(fh), [])]
        if pre.target_name in header and pre.target_name not in pre.feature_names:
            return pre.target_name
    return None


def run_data(
    spec: str, pre, meta: dict, *, need_target: bool, target: str | None, whole: bool = False
):
    """Raw features X: (n, n_0), raw targets y (or None) and a description, for a saved model.

    A built-in data set the model was trained on gives its held-out test split (``whole``: all
    of it); a file is read by the model's feature names (CSV columns by name)."""
    from ffnn.data import DATASETS, read_table

    name = str(spec).lower().replace("-", "_")
    if name in DATASETS and not Path(spec).is_file():
        return _builtin_data(name, meta, whole)
    features = pre.feature_names if pre is not None else None
    is_csv = Path(spec).suffix.lower() in (".csv", ".tsv", ".txt")
    tgt = target
    if tgt is None and is_csv and pre is not None:
        tgt = _csv_target(spec, pre)
    t = read_table(spec, target=tgt, features=features, need_target=need_target)
    return t.X, t.y, f"{spec} ({t.X.shape[0]} examples)"


def cost(net) -> dict:
    """Multiply-adds per example of one forward and one backward pass, counted per Dense node.

    Forward, layer l: z^(l) = W^(l) x^(l-1) + b^(l) costs n_l·n_{l-1} multiply-adds.
    Backward, layer l: the weight gradient ∂L/∂W^(l) = δ^(l) x^(l-1)ᵀ costs n_l·n_{l-1}, and the
    message W^(l)ᵀ δ^(l) to the layer below another n_l·n_{l-1}, except for a layer that reads the
    input x^(0) (∂L/∂x is not needed). Not counted: the O(Σ_l n_l) element-wise work (b, σ, σ', ⊙),
    the loss, and the optimizer's O(p) update per step.
    """
    from ffnn import Dense

    layers, fwd, bwd = [], 0, 0
    for i, node in enumerate(net.nodes):
        if not isinstance(node.layer, Dense):
            continue
        parent = net._parents[i][0]
        n_in, n_out = net.nodes[parent].dim, node.dim
        f = n_in * n_out
        b = f + (0 if parent == 0 else f)
        layers.append(
            {
                "node": node.name,
                "n_in": n_in,
                "n_out": n_out,
                "params": n_out * n_in + n_out,
                "forward": f,
                "backward": b,
            }
        )
        fwd, bwd = fwd + f, bwd + b
    return {"layers": layers, "p": int(net.n_params), "forward": fwd, "backward": bwd}
