"""``ffnn diagnose RUN [DATA]``: the diagnosis of a run folder written by ``ffnn train``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ffnn.errors import FFNNError

__all__ = ["add_parser", "run", "run_data"]

HELP = "check a trained run against the notes' practical issues (I, T, S, L, O)"


def add_parser(sub) -> argparse.ArgumentParser:
    """Register ``diagnose`` on the sub-command set ``sub`` of the main parser."""
    p = sub.add_parser(
        "diagnose",
        help=HELP,
        description="Measure, on a trained run and its data, the practical issues of lecture 11: "
        "I cost per iteration, T convergence, S saturation, L minima and saddles, O overfitting. "
        "Each gets a verdict (fine / watch / problem) with its threshold and what to try. Without "
        "DATA the run's own training split is rebuilt (built-in data sets, or the training file if "
        "it is still there).",
    )
    p.add_argument("run", help="a run folder (or its model.safetensors)")
    p.add_argument("data", nargs="?", help="data to diagnose on: a file or a built-in set name")
    p.add_argument("--target", help="the target column of DATA")
    p.add_argument("-o", "--out", help="folder for diagnosis.json and diagnosis.png (default RUN)")
    p.add_argument("--no-hessian", action="store_true", help="skip λ_max/λ_min (faster)")
    p.add_argument("--max-examples", type=int, default=2000, help="rows used (default 2000)")
    p.add_argument("--no-files", action="store_true", help="print only; write no files")
    p.set_defaults(func=run)
    return p


def _history(folder: Path, notes: list[str]):
    from ffnn.train import History

    path = folder / "history.json"
    if not path.is_file():
        notes.append(f"no {path.name} in {folder}: T and O are judged without the loss curve")
        return None
    try:
        return History.from_json(path)
    except FFNNError as e:
        notes.append(f"{path} could not be read ({e}); T and O without the loss curve")
        return None


def _training_split(meta: dict):
    """The run's own training split, rebuilt from the model file's data record."""
    from ffnn.data import load_dataset, load_file, train_test_split

    d = meta.get("data") or {}
    if d.get("builtin"):
        ds = load_dataset(d["source"], rng=d.get("seed", 0), **(d.get("kwargs") or {}))
    else:
        src = d.get("source")
        if not src or not Path(src).is_file():
            raise FFNNError(f"the training file {src!r} is gone; give DATA")
        ds = load_file(src, d.get("target"), task=d.get("task"))
    train, _ = train_test_split(ds, d.get("test_size", 0.2), rng=d.get("seed", 0))
    if d.get("validation"):
        train, _ = train_test_split(train, d["validation"], rng=d.get("seed", 0) + 1)
    return train, f"the run's training split ({train.n} examples)"


def run_data(args, net, meta: dict, pre, notes: list[str]):
    """(X, y, description) ready for the network and its loss, or (None, None, why)."""
    from ffnn.runs import run_data as model_data
    from ffnn.runs import targets_for

    loss_name = (meta.get("training") or {}).get("loss") or "mse"
    try:
        if pre is None:
            raise FFNNError("the model carries no preprocessing metadata (not saved by ffnn train)")
        if args.data is None:
            ds, what = _training_split(meta)
            X, y_enc = pre.transform_X(ds.X), pre.encode_dataset(ds)
        else:
            Xr, yr, what = model_data(args.data, pre, meta, need_target=True, target=args.target)
            X, y_enc = pre.transform_X(Xr), pre.encode_y(yr)
        return X, targets_for(loss_name, pre, np.asarray(y_enc)), what
    except FFNNError as e:
        notes.append(f"no data to measure on: {e}")
        return None, None, "none"


def run(args) -> int:
    """Print the report; write diagnosis.json and diagnosis.png next to the model."""
    from ffnn.diagnosis import diagnose, save_figure
    from ffnn.runs import load_run

    net, meta, pre, path = load_run(args.run)
    folder = path.parent
    notes: list[str] = []
    hist = _history(folder, notes)
    X, y, what = run_data(args, net, meta, pre, notes)
    loss = (meta.get("training") or {}).get("loss") or "mse"
    if args.max_examples < 1:
        raise FFNNError(f"--max-examples must be a positive integer, got {args.max_examples}")
    d = diagnose(net, X, y, loss, hist, hessian=not args.no_hessian, max_examples=args.max_examples)
    d.context["data"] = f"{what}; {d.context['data']}"
    d.context["notes"] = notes + d.context["notes"]
    print(d.text())
    if not args.no_files:
        out = Path(args.out) if args.out else folder
        out.mkdir(parents=True, exist_ok=True)
        d.to_json(out / "diagnosis.json")
        save_figure(d, out / "diagnosis.png", hist)
        print(f"\nsaved    {out}/: diagnosis.json, diagnosis.png", file=sys.stderr)
    return 0
