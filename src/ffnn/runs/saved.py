"""A saved run: its model, its preprocessing, the data to predict or evaluate on, its cost."""

from __future__ import annotations

import contextlib
import csv
from pathlib import Path

import numpy as np

from ffnn.core.cost import cost  # noqa: F401  (a saved run's cost, as ffnn info prints it)
from ffnn.errors import FFNNError
from ffnn.runs.files import MODEL_FILE
from ffnn.runs.prepare import reading


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
    with reading(path, "an ffnn model file"):
        net, meta = load_model(path)
        if not isinstance(meta, dict):
            raise FFNNError(f"{path}: the model's metadata is not a JSON object")
        pre = Preprocessor.from_dict(meta["preprocessor"]) if meta.get("preprocessor") else None
    if pre is not None and pre.n_inputs != net.input_node.dim:
        raise FFNNError(f"{path}: the stored preprocessing does not fit the network's inputs")
    theta = np.asarray(net.theta)
    if not np.isfinite(theta).all():
        bad = int(np.count_nonzero(~np.isfinite(theta)))
        raise FFNNError(
            f"{path}: {bad} of the model's {theta.size} weights are NaN or infinite (a diverged "
            "run or a damaged file); its predictions would be meaningless: retrain it"
        )
    return net, meta, pre, path


def _builtin_data(name: str, meta: dict, whole: bool):
    from ffnn.data import load_dataset, train_test_split

    d = meta.get("data")
    d = d if isinstance(d, dict) else {}
    with reading("the model's metadata", "the record of its training data"):
        kwargs = {k: v for k, v in dict(d.get("kwargs") or {}).items() if k in ("n", "noise")}
        ds = load_dataset(name, rng=d.get("seed", 0), **kwargs)
        held_out = d.get("builtin") and d.get("source") == name and not whole
        if held_out:
            _, ds = train_test_split(ds, d["test_size"], rng=d["seed"])
    what = f"{name} (all {ds.n} examples)"
    if held_out:
        what = f"{name}, the held-out test split of training ({ds.n} examples; --all for all)"
    y = np.array(ds.classes, dtype=object)[ds.y] if ds.task == "classification" else ds.y
    return ds.X, y, what


def _csv_target(spec: str, pre, sep: str | None) -> str | None:
    """The training target's column, if a CSV file has it (and it is not a feature)."""
    with contextlib.suppress(OSError, UnicodeError, csv.Error):
        with open(spec, newline="", encoding="utf-8-sig") as fh:
            header = [h.strip() for h in next(csv.reader(fh, delimiter=sep or ","), [])]
        if pre.target_name in header and pre.target_name not in pre.feature_names:
            return pre.target_name
    return None


def _stored_sep(meta: dict) -> str | None:
    d = meta.get("data")
    sep = d.get("sep") if isinstance(d, dict) else None
    return sep if isinstance(sep, str) and len(sep) == 1 else None


def run_data(
    spec: str, pre, meta: dict, *, need_target: bool, target: str | None, whole: bool = False,
    sep: str | None = None,
):  # fmt: skip
    """Raw features X: (n, n_0), raw targets y (or None) and a description, for a saved model.

    A built-in data set the model was trained on gives its held-out test split (``whole``: all
    of it); a file is read by the model's feature names (CSV columns by name; ``sep``: its
    delimiter, by default the one given in training). Targets (``need_target``) are checked as
    training checks them: a NaN, inf or empty target is refused."""
    from ffnn.data import DATASETS, read_table, validate_y
    from ffnn.runs.prepare import accepts

    name = str(spec).lower().replace("-", "_")
    if name in DATASETS and not Path(spec).is_file():
        return _builtin_data(name, meta, whole)
    features = pre.feature_names if pre is not None else None
    sep = sep or _stored_sep(meta)
    kw = {} if sep is None else {"sep": sep}
    if kw and not accepts(read_table, "sep"):
        raise FFNNError("--sep needs ffnn.data.read_table(..., sep=...), which this ffnn lacks")
    tgt = target
    if tgt is None and Path(spec).suffix.lower() in (".csv", ".tsv", ".txt") and pre is not None:
        tgt = _csv_target(spec, pre, sep)
    with reading(spec):
        t = read_table(spec, target=tgt, features=features, need_target=need_target, **kw)
    if need_target and pre is not None and t.y is not None:
        validate_y(t.y, len(t.X), pre.task, what=str(spec))
    return t.X, t.y, f"{spec} ({t.X.shape[0]} examples)"
