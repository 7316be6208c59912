"""The run folder and its files: model.safetensors, history.json/csv, metrics.json, loss.png
(and boundary.png for 2-D inputs)."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import numpy as np

from ffnn.errors import FFNNError
from ffnn.runs.config import PreparedRun, RunConfig
from ffnn.runs.stopping import monitor

MODEL_FILE = "model.safetensors"
RUN_FILES = (MODEL_FILE, "history.json", "history.csv", "metrics.json", "loss.png", "boundary.png")


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
    check_no_model(out, config.force)
    data = Path(str(config.data))
    if data.is_file() and data.resolve().parent == out.resolve() and data.name in RUN_FILES:
        raise FFNNError(
            f"-o {config.out!r} would overwrite the input {config.data}; choose another folder"
        )
    return out


def check_no_model(out: Path, force: bool) -> None:
    """Refuse a folder that already holds a model, unless ``force``."""
    if (out / MODEL_FILE).exists() and not force:
        raise FFNNError(
            f"{out} already holds a trained model; pass --force to overwrite it, or choose "
            "another folder with -o"
        )


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
        "sep": cfg.sep,
        "drop": list(cfg.drop),
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
    training["monitor"] = monitor(prep) if prep.patience else None
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


def loss_figure(history, title: str, *, restored: bool = False):
    """A Matplotlib ``Figure`` (the user's backend is left alone) of L_train and L_val per epoch,
    log scale; the epoch whose weights were put back marked "best (restored)" when ``restored``;
    each recorded metric (accuracy, R²) per epoch in a panel beside it."""
    from matplotlib.figure import Figure

    from ffnn.plot import plot_history

    ep = history["epoch"] if "epoch" in history else list(range(1, len(history) + 1))
    metrics = [c[6:] for c in history.columns if c.startswith("train_") and c != "train_loss"]
    fig = Figure(figsize=(6 + 5 * len(metrics), 4))
    ax, *beside = np.atleast_1d(fig.subplots(1, 1 + len(metrics)))
    for a, m in zip(beside, metrics, strict=True):
        plot_history(history, a, m, mark_best=restored).set_title(m)
    for key, label in (("train_loss", "train"), ("val_loss", "validation")):
        if key in history:
            vals = np.array([np.nan if v is None else v for v in history[key]], dtype=float)
            ax.plot(ep, vals, label=label)
    if restored and history.best_epoch is not None:
        ax.axvline(history.best_epoch, color="gray", ls="--", lw=1, label="best (restored)")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss L(θ)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def plot_losses(history, path: str | Path, title: str, *, restored: bool = False) -> None:
    """Write :func:`loss_figure` as a PNG, atomically."""
    from ffnn.io import atomic_write_bytes

    buf = io.BytesIO()
    loss_figure(history, title, restored=restored).savefig(buf, format="png", dpi=110)
    atomic_write_bytes(path, buf.getvalue())


def write_outputs(
    out: Path,
    net,
    meta: dict,
    hist,
    rows: dict,
    title: str,
    *,
    restored: bool = False,
    data=None,
    pre=None,
) -> list[str]:
    """Write the run folder's files (atomically); returns their names. With ``data`` (a
    Dataset with 2 input columns, as the user gave it) and its Preprocessor ``pre``, also
    ``boundary.png``: the network's decision regions or regression surface over the points."""
    from ffnn.io import atomic_write_bytes, save_model

    save_model(out / MODEL_FILE, net, meta)
    hist.to_json(out / "history.json")
    hist.to_csv(out / "history.csv")
    atomic_write_bytes(out / "metrics.json", json.dumps(rows, indent=1).encode())
    files = [MODEL_FILE, "history.json", "history.csv", "metrics.json"]
    if len(hist):
        plot_losses(hist, out / "loss.png", title, restored=restored)
        files.append("loss.png")
    if data is not None and data.X.ndim == 2 and data.X.shape[1] == 2:
        from ffnn.io import atomic_write_bytes
        from ffnn.plot import boundary_figure

        y = np.asarray(data.classes, dtype=object)[data.y] if data.classes else data.y
        buf = io.BytesIO()
        boundary_figure(net, data.X, y, pre, title=title).savefig(buf, format="png", dpi=110)
        atomic_write_bytes(out / "boundary.png", buf.getvalue())
        files.append("boundary.png")
    return files
