"""The ``ffnn`` command line.

    ffnn train [DATA] [options]     train a network (default: digits, 64-256-10 ReLU, Adam)
    ffnn predict MODEL DATA [-o F]  predictions of a saved model on a data file or data set
    ffnn evaluate MODEL DATA        loss and accuracy / R² of a saved model
    ffnn info MODEL [--n N]         layers, widths, parameter count p, cost of one iteration
    ffnn datasets                   the built-in data sets
    ffnn lab NAME [--set K=V] [--seed N] [--params] | --list   the lab's experiments
    ffnn demo                       one forward and backward pass, with a gradient check

A user's mistake ends with one line ``ffnn: error: ...`` on stderr and exit status 2 (no
traceback); Ctrl-C during training saves the model trained so far and exits with 130. Every file
is written atomically (a temporary file, then ``os.replace``).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import math
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from ffnn.errors import FFNNError

MODEL_FILE = "model.safetensors"
EXIT_ERROR, EXIT_INTERRUPTED = 2, 130


# --- argument types: bad numbers are a user's mistake -------------------------------------------
def _number(text: str, kind=float) -> float:
    try:
        v = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return v


def positive_float(text: str) -> float:
    v = _number(text)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return v


def nonneg_float(text: str) -> float:
    v = _number(text)
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return v


def fraction(text: str) -> float:
    v = _number(text)
    if not 0 < v < 1:
        raise argparse.ArgumentTypeError(f"must lie strictly between 0 and 1, got {text}")
    return v


def fraction_or_zero(text: str) -> float:
    v = _number(text)
    if not 0 <= v < 1:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1) (0: none), got {text}")
    return v


def positive_int(text: str) -> int:
    v = _number(text, int)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text}")
    return v


def nonneg_int(text: str) -> int:
    v = _number(text, int)
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text}")
    return v


def _threads(text: str) -> str:
    if text == "auto":
        return text
    return str(positive_int(text))


def batch_size(text: str) -> int | None:
    if text.lower() in ("full", "none", "all"):
        return None
    return positive_int(text)


def widths(text: str) -> list[int]:
    """``"256"``, ``"128,64"``; ``"none"`` or ``""`` for no hidden layer (a linear model)."""
    if text.strip().lower() in ("", "none", "0", "-"):
        return []
    out = []
    for part in text.replace("x", ",").split(","):
        part = part.strip()
        if not part.isdigit() or int(part) < 1:
            raise argparse.ArgumentTypeError(
                f"hidden widths are positive whole numbers separated by commas, e.g. 128,64; "
                f"got {text!r}"
            )
        out.append(int(part))
    return out


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line on stderr: ``ffnn: error: ...``."""

    def error(self, message: str):
        cmd = self.prog.split(" ", 1)[1] + " " if " " in self.prog else ""
        self.exit(EXIT_ERROR, f"ffnn: error: {message} (see: ffnn {cmd}--help)\n")


# --- small helpers --------------------------------------------------------------------------------
def _write_text(path: Path, text: str) -> None:
    from ffnn.io import atomic_write_bytes

    atomic_write_bytes(path, text.encode())


def _say(msg: str = "", *, quiet: bool = False) -> None:
    if not quiet:
        print(msg, flush=True)


def _model_path(spec: str) -> Path:
    p = Path(spec)
    if p.is_dir():
        p = p / MODEL_FILE
        if not p.is_file():
            raise FFNNError(f"folder {spec!r} holds no {MODEL_FILE}; is it a run folder?")
    elif not p.exists():
        raise FFNNError(f"no such model file or run folder: {spec!r}")
    return p


def _load(spec: str):
    """(net, metadata, preprocessor or None, path) of a saved model."""
    from ffnn.data import Preprocessor
    from ffnn.io import load_model

    path = _model_path(spec)
    net, meta = load_model(path)
    pre = Preprocessor.from_dict(meta["preprocessor"]) if meta.get("preprocessor") else None
    if pre is not None and pre.n_inputs != net.input_node.dim:
        raise FFNNError(f"{path}: the stored preprocessing does not fit the network's inputs")
    return net, meta, pre, path


def _forward_chunks(net, X: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """z^(L+1) = z(X): (n, n_out), in chunks of rows."""
    return np.concatenate([net.forward(X[a : a + chunk])[0] for a in range(0, len(X), chunk)])


def _metrics(net, loss, pre, X: np.ndarray, y_enc: np.ndarray) -> dict:
    """Loss (in the training loss's units) and accuracy (classification) or R² and RMSE in the
    data's own units (regression) of the network on preprocessed inputs X."""
    z = _forward_chunks(net, X)
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


def _table(rows: dict[str, dict]) -> str:
    """A fixed-width table of {split: {metric: value}}."""
    cols = []
    for r in rows.values():
        cols += [k for k in r if k not in cols]
    lines = [f"{'':<8}" + "".join(f"{c:>12}" for c in cols)]
    for name, r in rows.items():
        cells = []
        for c in cols:
            v = r.get(c)
            if v is None:
                cells.append(f"{'':>12}")
            elif isinstance(v, int):
                cells.append(f"{v:>12d}")
            elif c == "accuracy":
                cells.append(f"{100 * v:>11.2f}%")
            else:
                cells.append(f"{v:>12.4g}")
        lines.append(f"{name:<8}" + "".join(cells))
    return "\n".join(lines)


def _targets_for(loss_name: str, pre, y_enc: np.ndarray) -> np.ndarray:
    """Classification targets: indices for cross-entropy, one-hot rows for any other loss."""
    if pre.task == "classification" and loss_name not in ("cross_entropy", "ce"):
        return pre.one_hot(y_enc)
    return y_enc


# --- ffnn train -------------------------------------------------------------------------------
def _out_dir(args, data_name: str) -> Path:
    if args.out is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        base = Path("runs") / f"{data_name}-{stamp}"
        out, k = base, 2
        while out.exists():
            out, k = Path(f"{base}-{k}"), k + 1
        return out
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise FFNNError(f"-o {args.out!r} is a file, not a folder")
    if (out / MODEL_FILE).exists() and not args.force:
        raise FFNNError(
            f"{out} already holds a trained model; pass --force to overwrite it, or choose "
            "another folder with -o"
        )
    return out


def _plot_losses(history, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ffnn.io import atomic_write_bytes

    ep = history["epoch"] if "epoch" in history else list(range(1, len(history) + 1))
    fig, ax = plt.subplots(figsize=(6, 4))
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
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def _load_training_data(args):
    from ffnn.data import DATASETS, load_data

    kwargs = {}
    for key in ("n", "noise"):
        v = getattr(args, key, None)
        if v is not None:
            kwargs[key] = v
    name = str(args.data).lower().replace("-", "_")
    if kwargs and not (name in DATASETS and DATASETS[name].seeded):
        synth = ", ".join(k for k, d in DATASETS.items() if d.seeded)
        raise FFNNError(f"--n and --noise apply to the synthetic data sets only ({synth})")
    ds = load_data(args.data, target=args.target, task=args.task, rng=args.seed, **kwargs)
    if args.task is not None and ds.task != args.task:
        raise FFNNError(
            f"data set {args.data!r} is a {ds.task} set; --task {args.task} does not fit"
        )
    return ds, kwargs


def _train(args) -> int:
    from ffnn import get_activation, get_loss, mlp
    from ffnn.data import DATASETS, Preprocessor, train_test_split
    from ffnn.io import save_model
    from ffnn.train import History, fit

    t0 = time.perf_counter()
    quiet = args.quiet
    # check names before any work
    acts = args.activation.split(",")
    for a in acts:
        get_activation(a.strip())
    from ffnn.train.optimizers import OPTIMIZERS

    if args.optimizer not in OPTIMIZERS:
        raise FFNNError(
            f"unknown optimizer {args.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}"
        )

    ds, data_kwargs = _load_training_data(args)
    loss_name = args.loss or ("cross_entropy" if ds.task == "classification" else "mse")
    loss = get_loss(loss_name)
    output = args.output or {"cross_entropy": "softmax", "ce": "softmax"}.get(
        loss_name,
        "sigmoid" if loss_name in ("binary_cross_entropy", "bce") else "identity",
    )
    if ds.task == "regression" and loss_name in (
        "cross_entropy",
        "ce",
        "binary_cross_entropy",
        "bce",
    ):
        raise FFNNError(
            f"loss {loss_name!r} is for classification, but {ds.name!r} is a regression set"
        )

    train, test = train_test_split(ds, args.test_size, rng=args.seed)
    val = None
    if args.validation > 0:
        train, val = train_test_split(train, args.validation, rng=args.seed + 1)
    pre = Preprocessor(standardize=not args.no_standardize).fit(train)
    X, y = pre.transform_X(train.X), _targets_for(loss_name, pre, pre.encode_dataset(train))
    Xt, yt = pre.transform_X(test.X), _targets_for(loss_name, pre, pre.encode_dataset(test))
    if val is not None:
        Xv, yv = pre.transform_X(val.X), _targets_for(loss_name, pre, pre.encode_dataset(val))

    hidden = args.hidden
    if len(acts) not in (1, len(hidden)) and hidden:
        raise FFNNError(
            f"--activation lists {len(acts)} names for {len(hidden)} hidden layers; give one name "
            "or one per hidden layer"
        )
    act = acts[0].strip() if len(acts) == 1 else [a.strip() for a in acts]
    net = mlp(
        [ds.n_features, *hidden, pre.n_outputs],
        act,
        output=output,
        rng=args.seed,
        dtype=np.dtype(args.dtype),
    )
    loss.check_output(net.output)
    out = _out_dir(args, ds.name)
    out.mkdir(parents=True, exist_ok=True)

    patience = args.patience if (val is not None and args.patience > 0) else None
    opt_kw = {}
    if args.weight_decay:
        opt_kw["weight_decay"] = args.weight_decay
    if args.momentum is not None:
        if args.optimizer not in ("momentum", "nesterov", "rmsprop"):
            raise FFNNError(
                f"--momentum applies to momentum, nesterov and rmsprop, not {args.optimizer}"
            )
        opt_kw["momentum"] = args.momentum
    if args.clip_norm is not None:
        opt_kw["clip_norm"] = args.clip_norm

    _say(
        f"data     {ds.name}: {ds.n} examples, {ds.n_features} features, {ds.task}"
        + (f", {len(ds.classes)} classes" if ds.classes else ""),
        quiet=quiet,
    )
    _say(
        f"split    train {train.n}, validation {0 if val is None else val.n}, test {test.n} "
        f"(seed {args.seed}{', stratified' if ds.task == 'classification' else ''})",
        quiet=quiet,
    )
    _say(
        f"network  widths {net.widths}, {args.activation}, output {output}, p = {net.n_params} "
        f"parameters",
        quiet=quiet,
    )
    bs_text = "full batch" if args.batch_size is None else f"batch {args.batch_size}"
    _say(
        f"training {loss_name}, {args.optimizer} lr {args.lr:g}, {bs_text}, up to {args.epochs} "
        f"epochs" + (f", early stopping (patience {patience})" if patience else ""),
        quiet=quiet,
    )

    # fit's accuracy reads probabilities; with an identity output the table below still reports
    # the accuracy of argmax_k z_k
    fit_metrics = ["r2"] if ds.task == "regression" else []
    if ds.task == "classification" and output in ("softmax", "sigmoid"):
        fit_metrics = ["accuracy"]
    records: list[dict] = []
    hist = None
    interrupted = False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        try:
            with _blas_threads(args.threads, net.n_params):
                hist = fit(
                    net, X, y, loss,
                    optimizer=args.optimizer, lr=args.lr, schedule=args.schedule,
                    batch_size=args.batch_size, epochs=args.epochs,
                    validation=None if val is None else (Xv, yv), early_stopping=patience,
                    metrics=fit_metrics,
                    callbacks=[lambda _net, _ep, logs: records.append(dict(logs))],
                    rng=args.seed, progress=args.progress, **opt_kw,
                )  # fmt: skip
        except KeyboardInterrupt:  # a second Ctrl-C: fit stopped at once
            interrupted = True
            hist = History(records, stop_reason="interrupted", message="interrupted")
    for w in caught:
        if not str(w.message).startswith("training diverged"):
            print(f"ffnn: warning: {w.message}", file=sys.stderr)
    interrupted = interrupted or hist.stop_reason == "interrupted"
    if hist.diverged:
        print(f"ffnn: warning: {hist.message}", file=sys.stderr)

    rows = {"train": _metrics(net, loss, pre, X, y)}
    if val is not None:
        rows["val"] = _metrics(net, loss, pre, Xv, yv)
    rows["test"] = _metrics(net, loss, pre, Xt, yt)
    source = ds.name if ds.name in DATASETS and not Path(str(args.data)).is_file() else None
    meta = {
        "ffnn": _version(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "preprocessor": pre.to_dict(),
        "data": {
            "source": source or str(Path(args.data).resolve()),
            "builtin": source is not None,
            "name": ds.name,
            "target": args.target,
            "kwargs": data_kwargs,
            "task": ds.task,
            "n": ds.n,
            "test_size": args.test_size,
            "validation": args.validation,
            "seed": args.seed,
            "n_train": train.n,
            "n_val": 0 if val is None else val.n,
            "n_test": test.n,
        },
        "training": {
            "hidden": hidden,
            "activation": args.activation,
            "output": output,
            "loss": loss_name,
            "optimizer": args.optimizer,
            "lr": args.lr,
            "schedule": args.schedule,
            "batch_size": args.batch_size,
            "epochs": args.epochs,
            "patience": patience,
            "weight_decay": args.weight_decay,
            "momentum": args.momentum,
            "clip_norm": args.clip_norm,
            "dtype": args.dtype,
            "seed": args.seed,
            "epochs_run": len(hist),
            "best_epoch": hist.best_epoch,
            "stop_reason": hist.stop_reason,
            "message": hist.message,
            "interrupted": interrupted,
        },
        "metrics": rows,
    }
    save_model(out / MODEL_FILE, net, meta)
    hist.to_json(out / "history.json")
    hist.to_csv(out / "history.csv")
    _write_text(out / "metrics.json", json.dumps(rows, indent=1))
    if len(hist):
        _plot_losses(hist, out / "loss.png", f"{ds.name}: {net.widths}, {args.optimizer}")

    _say(
        f"stopped  {hist.message or hist.stop_reason} (after {len(hist)} epochs, "
        f"{time.perf_counter() - t0:.1f} s)",
        quiet=quiet,
    )
    _say("", quiet=quiet)
    print(_table(rows))
    _say(
        f"\nsaved    {out}/: {MODEL_FILE}, history.json, history.csv, metrics.json"
        + (", loss.png" if len(hist) else ""),
        quiet=quiet,
    )
    if interrupted:
        print(
            f"ffnn: interrupted after {len(hist)} epochs; saved the model trained so far to "
            f"{out / MODEL_FILE}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    return 0


@contextlib.contextmanager
def _blas_threads(spec: str, n_params: int):
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


def _version() -> str:
    from ffnn import __version__

    return __version__


# --- data for a saved model -------------------------------------------------------------------
def _model_data(
    spec: str, pre, meta: dict, *, need_target: bool, target: str | None, whole: bool = False
):
    """Raw features X: (n, n_0), raw targets y (or None) and a description, for a saved model."""
    from ffnn.data import DATASETS, load_dataset, read_table, train_test_split

    name = str(spec).lower().replace("-", "_")
    if name in DATASETS and not Path(spec).is_file():
        d = meta.get("data", {})
        ds = load_dataset(name, rng=d.get("seed", 0), **(d.get("kwargs") or {}))
        what = f"{name} (all {ds.n} examples)"
        if d.get("builtin") and d.get("source") == name and not whole:
            _, ds = train_test_split(ds, d["test_size"], rng=d["seed"])
            what = f"{name}, the held-out test split of training ({ds.n} examples; --all for all)"
        y = None
        if ds.task == "classification":
            y = np.array(ds.classes, dtype=object)[ds.y]
        else:
            y = ds.y
        return ds.X, y, what
    features = pre.feature_names if pre is not None else None
    is_csv = Path(spec).suffix.lower() in (".csv", ".tsv", ".txt")
    tgt = target
    if tgt is None and is_csv and pre is not None:
        with contextlib.suppress(OSError, UnicodeDecodeError):
            with open(spec, newline="", encoding="utf-8-sig") as fh:
                header = [h.strip() for h in next(csv.reader(fh), [])]
            if pre.target_name in header and pre.target_name not in features:
                tgt = pre.target_name
    t = read_table(spec, target=tgt, features=features, need_target=need_target)
    return t.X, t.y, f"{spec} ({t.X.shape[0]} examples)"


def _predict(args) -> int:
    from ffnn.data import validate_X

    net, meta, pre, path = _load(args.model)
    X, _, what = _model_data(args.data, pre, meta, need_target=False, target=None, whole=True)
    Xp = pre.transform_X(X) if pre is not None else validate_X(X)
    if Xp.shape[1] != net.input_node.dim:
        raise FFNNError(
            f"the data has {Xp.shape[1]} feature columns but the model takes "
            f"{net.input_node.dim} inputs"
        )
    f = net.output.apply(_forward_chunks(net, Xp))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if pre is not None and pre.task == "classification":
        w.writerow(["prediction", *[f"p_{c}" for c in pre.classes]])
        for label, row in zip(pre.decode(f), f, strict=True):
            w.writerow([label, *[f"{v:.6g}" for v in row]])
    else:
        pred = pre.decode(f) if pre is not None else f
        pred = np.asarray(pred).reshape(len(Xp), -1)
        name = pre.target_name if pre is not None else "prediction"
        w.writerow([name] if pred.shape[1] == 1 else [f"{name}_{j}" for j in range(pred.shape[1])])
        for row in pred:
            w.writerow([f"{v:.8g}" for v in row])
    if args.out:
        out = Path(args.out)
        if out.is_dir():
            raise FFNNError(
                f"-o {args.out!r} is a folder; give a file name such as predictions.csv"
            )
        _write_text(out, buf.getvalue())
        print(f"wrote {len(Xp)} predictions of {path} on {what} to {out}", file=sys.stderr)
    else:
        sys.stdout.write(buf.getvalue())
    return 0


def _evaluate(args) -> int:
    from ffnn import get_loss

    net, meta, pre, path = _load(args.model)
    if pre is None:
        raise FFNNError(
            f"{path} carries no preprocessing metadata (not saved by ffnn train); "
            "evaluate it in Python with ffnn.io.load_model"
        )
    X, y, what = _model_data(
        args.data, pre, meta, need_target=True, target=args.target, whole=args.all
    )
    loss_name = meta.get("training", {}).get("loss") or (
        "cross_entropy" if pre.task == "classification" else "mse"
    )
    loss = get_loss(loss_name)
    Xp = pre.transform_X(X)
    y_enc = _targets_for(loss_name, pre, pre.encode_y(y))
    rows = {"data": _metrics(net, loss, pre, Xp, y_enc)}
    print(f"model {path}\ndata  {what}\n")
    print(_table(rows))
    return 0


# --- ffnn info ------------------------------------------------------------------------------------
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


def _info(args) -> int:
    from ffnn import Act

    net, meta, pre, path = _load(args.model)
    c = cost(net)
    print(f"model {path}")
    acts = [n.layer.activation.name for n in net.nodes if isinstance(n.layer, Act)]
    print(
        f"widths n_0 … n_L+1 = {net.widths}; hidden activations {acts or 'none'}; "
        f"output φ_out = {net.output.name}; dtype {net.dtype.name}"
    )
    if pre is not None:
        extra = f", classes {pre.classes}" if pre.task == "classification" else ""
        print(f"task {pre.task}{extra}; inputs standardized: {pre.standardize}")
    tr = meta.get("training", {})
    if tr:
        print(
            f"trained with {tr.get('loss')}, {tr.get('optimizer')} lr {tr.get('lr')}, "
            f"{tr.get('epochs_run')} epochs ({tr.get('stop_reason')})"
        )
    print()
    print(f"{'layer':<12}{'n_in':>7}{'n_out':>7}{'params':>10}{'fwd MACs':>11}{'bwd MACs':>11}")
    for r in c["layers"]:
        print(
            f"{r['node']:<12}{r['n_in']:>7}{r['n_out']:>7}{r['params']:>10}"
            f"{r['forward']:>11}{r['backward']:>11}"
        )
    print(f"{'total':<12}{'':>14}{c['p']:>10}{c['forward']:>11}{c['backward']:>11}")
    print(
        f"\np = {c['p']} parameters (weights and biases). Per example: forward Σ n_l n_(l-1) = "
        f"{c['forward']} multiply-adds; backward {c['backward']} (weight gradients δ x^T, "
        "Σ n_l n_(l-1), plus the messages W^T δ to every layer but the first)."
    )
    n = args.n or meta.get("data", {}).get("n_train")
    if n:
        per = c["forward"] + c["backward"]
        print(
            f"One epoch over n = {n} examples: n·(forward + backward) = {n * per:.3g} "
            f"multiply-adds ≈ {per / max(c['p'], 1):.2f}·p·n = O(p·n) (notes 004); the O(p) "
            "optimizer update per step and the element-wise work are not counted."
        )
    return 0


# --- ffnn datasets, lab, demo -------------------------------------------------------------------
def _datasets(args) -> int:
    from ffnn.data import DATASETS

    for d in DATASETS.values():
        seeded = " (synthetic: --n, --noise, --seed)" if d.seeded else ""
        print(f"{d.name:<14}{d.task:<16}{d.description}{seeded}")
    return 0


def _lab(args) -> int:
    from ffnn.lab import EXPERIMENTS, get_experiment

    if args.list or not args.name:
        import ffnn.lab  # noqa: F401  (registers the experiments)

        if not EXPERIMENTS:
            print("no lab experiments are registered yet")
        for name, e in sorted(EXPERIMENTS.items()):
            print(f"{name:<24}{e.claim}")
        if not args.list:
            print(
                "\nrun one with: ffnn lab NAME [-o DIR] [--quick] [--set NAME=VALUE] [--seed N]"
                " (its parameters: ffnn lab NAME --params)",
                file=sys.stderr,
            )
        return 0
    from ffnn.lab._params import parse_settings

    exp = get_experiment(args.name)
    if args.params:
        print(exp.describe())
        return 0
    settings = parse_settings(args.set)
    exp.resolve(settings, quick=args.quick)  # a bad --set is refused before any folder is made
    out = Path(args.out) if args.out else Path("runs") / "lab" / exp.name
    out.mkdir(parents=True, exist_ok=True)
    result = exp.run(out, quick=args.quick, progress=args.progress, params=settings, seed=args.seed)
    print(result.verdict())
    if result.files:
        print("files: " + ", ".join(str(f) for f in result.files))
    return 0


def _demo(args) -> int:
    import ffnn

    rng = np.random.default_rng(args.seed)
    net = ffnn.mlp([4, 8, 8, 3], "tanh", output="softmax", rng=rng, dtype=np.float64)
    X = rng.standard_normal((5, 4))
    y = rng.integers(0, 3, 5)
    z, trace = net.forward(X)
    L, delta = ffnn.CrossEntropy().value_and_delta(z, y, net.output)
    net.backward(trace, delta)
    print(net.summary())
    print(f"\nloss L = {L:.6f}")
    for l, d in enumerate(trace.delta, start=1):
        print(f"delta^({l}) shape {d.shape}, norm {np.linalg.norm(d):.4e}")
    print("\n" + str(ffnn.gradient_check(net, X, y, "cross_entropy")))
    return 0


# --- the parser ---------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="ffnn",
        description="Feed-forward neural networks with explicit backpropagation.",
        epilog="Start with: ffnn train   (digits, ≥ 97% test accuracy in seconds)",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    t = sub.add_parser(
        "train",
        help="train a network on a built-in data set or a file",
        description="Train a fully connected network. DATA is a built-in data set (ffnn datasets) "
        "or a .csv/.npz/.npy file. A stratified test set is held out (seeded); inputs are "
        "standardized and labels encoded with the training set's statistics, and both are stored "
        "with the model.",
    )
    t.add_argument(
        "data",
        nargs="?",
        default="digits",
        help="built-in data set name or file path (default: digits)",
    )
    g = t.add_argument_group("data")
    g.add_argument("--target", help="target column (CSV) / key (npz) / y file (npy)")
    g.add_argument(
        "--task",
        choices=("classification", "regression"),
        help="override the task inferred from the targets",
    )
    g.add_argument(
        "--test-size",
        type=fraction,
        default=0.2,
        help="fraction held out for the test set (default 0.2)",
    )
    g.add_argument(
        "--validation",
        type=fraction_or_zero,
        default=0.1,
        help="fraction of the rest used for validation / early stopping; 0: none (default 0.1)",
    )
    g.add_argument("--n", type=positive_int, help="number of examples (synthetic sets)")
    g.add_argument("--noise", type=nonneg_float, help="noise level (synthetic sets)")
    g.add_argument("--no-standardize", action="store_true", help="feed the raw inputs")
    g = t.add_argument_group("network")
    g.add_argument(
        "--hidden",
        type=widths,
        default=[256],
        help="hidden widths n_1,…,n_L, e.g. 128,64; 'none' for no hidden layer (default 256)",
    )
    g.add_argument(
        "--activation",
        default="relu",
        help="σ for the hidden layers, one name or one per layer (default relu)",
    )
    g.add_argument(
        "--output",
        choices=("identity", "sigmoid", "softmax"),
        help="output activation φ_out (default: from the loss)",
    )
    g.add_argument(
        "--loss",
        help="mse, mae, huber, binary_cross_entropy, cross_entropy "
        "(default: cross_entropy for classification, mse for regression)",
    )
    g.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    g = t.add_argument_group("optimization")
    g.add_argument(
        "--optimizer",
        default="adam",
        help="gd/sgd, momentum, nesterov, rmsprop, adam, adamw (default adam)",
    )
    g.add_argument("--lr", type=positive_float, default=1e-3, help="learning rate η (1e-3)")
    g.add_argument(
        "--schedule",
        help="learning-rate schedule: step, exponential, inverse_time, "
        "cosine, warmup (default constant)",
    )
    g.add_argument(
        "--batch-size",
        type=batch_size,
        default=32,
        help="examples per step; 'full' for full-batch GD (default 32)",
    )
    g.add_argument("--epochs", type=positive_int, default=300, help="most epochs (default 300)")
    g.add_argument(
        "--patience",
        type=nonneg_int,
        default=20,
        help="early stopping: epochs without a better validation loss; 0: off (default 20)",
    )
    g.add_argument("--weight-decay", type=nonneg_float, default=0.0, help="L2 coefficient λ")
    g.add_argument("--momentum", type=fraction_or_zero, help="momentum μ (momentum/nesterov)")
    g.add_argument("--clip-norm", type=positive_float, help="clip the gradient norm to this")
    g = t.add_argument_group("run")
    g.add_argument(
        "--seed",
        type=nonneg_int,
        default=0,
        help="seeds the split, the initialization and the shuffling (default 0)",
    )
    g.add_argument(
        "-o",
        "--out",
        help="output folder (default runs/<data>-<date>-<time>, new "
        "each run); a folder holding a model is not overwritten without --force",
    )
    g.add_argument("--force", action="store_true", help="overwrite the model in -o")
    g.add_argument(
        "--progress",
        dest="progress",
        action="store_const",
        const=True,
        default=None,
        help="show a progress bar (default: when stderr is a terminal)",
    )
    g.add_argument("--no-progress", dest="progress", action="store_const", const=False)
    g.add_argument(
        "--threads",
        type=_threads,
        default="auto",
        help="BLAS threads while training; auto: 1 for networks under 10^6 "
        "parameters (small products run faster on one thread)",
    )
    g.add_argument("-q", "--quiet", action="store_true", help="print only the final table")
    t.set_defaults(func=_train)

    pr = sub.add_parser(
        "predict",
        help="predictions of a saved model",
        description="Predict with a saved model (a run folder or its "
        "model.safetensors) on a CSV with the training feature columns (a target "
        "column is ignored), an .npz/.npy file, or a built-in data set.",
    )
    pr.add_argument("model", help="run folder or model file")
    pr.add_argument("data", help="data file or built-in data set name")
    pr.add_argument("-o", "--out", help="write the predictions CSV here (default: stdout)")
    pr.set_defaults(func=_predict)

    ev = sub.add_parser(
        "evaluate",
        help="loss and accuracy / R² of a saved model",
        description="Evaluate a saved model on labelled data. For the built-in "
        "data set it was trained on, the held-out test split is used (--all: "
        "every example).",
    )
    ev.add_argument("model", help="run folder or model file")
    ev.add_argument("data", help="data file or built-in data set name")
    ev.add_argument("--target", help="target column / key (default: as in training)")
    ev.add_argument("--all", action="store_true", help="use all examples of a built-in set")
    ev.set_defaults(func=_evaluate)

    inf = sub.add_parser("info", help="layers, parameter count and cost per iteration")
    inf.add_argument("model", help="run folder or model file")
    inf.add_argument(
        "--n",
        type=positive_int,
        help="examples per epoch for the cost estimate (default: the training set)",
    )
    inf.set_defaults(func=_info)

    ds = sub.add_parser("datasets", help="list the built-in data sets")
    ds.set_defaults(func=_datasets)

    from ffnn.diagnosis.command import add_parser as _add_diagnose

    _add_diagnose(sub)
    lab = sub.add_parser("lab", help="run a lab experiment and print its verdict")
    lab.add_argument("name", nargs="?", help="experiment name (ffnn lab --list)")
    lab.add_argument("--list", action="store_true", help="list the registered experiments")
    lab.add_argument("-o", "--out", help="output folder (default runs/lab/NAME)")
    lab.add_argument("--quick", action="store_true", help="a small, fast version")
    lab.add_argument("--params", action="store_true", help="list the experiment's parameters")
    lab.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a parameter (repeatable; lists as 1,2,3), e.g. --set widths=16,64",
    )
    lab.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    lab.add_argument("--progress", dest="progress", action="store_const", const=True, default=None)
    lab.add_argument("--no-progress", dest="progress", action="store_const", const=False)
    lab.set_defaults(func=_lab)

    d = sub.add_parser("demo", help="one forward and backward pass, with a gradient check")
    d.add_argument("--seed", type=int, default=0)
    d.set_defaults(func=_demo)
    from ffnn.playground.cli import add_parser as _add_playground

    _add_playground(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (never raises for a user's mistake)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # --help, or a usage error already printed on one line
        return int(e.code or 0) if not isinstance(e.code, str) else EXIT_ERROR
    debug = bool(os.environ.get("FFNN_DEBUG"))
    try:
        return args.func(args)
    except FFNNError as e:
        if debug:
            raise
        print(f"ffnn: error: {_one_line(e)}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:  # e.g. `ffnn predict ... | head`: the reader left, nothing to say
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as e:  # a file we could not read or write
        if debug:
            raise
        where = f": {e.filename}" if getattr(e, "filename", None) else ""
        print(f"ffnn: error: {e.strerror or e}{where}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("ffnn: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _one_line(e: Exception) -> str:
    return " ".join(str(e).split())


if __name__ == "__main__":
    sys.exit(main())
