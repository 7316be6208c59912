"""``ffnn predict MODEL DATA [-o FILE]``: a saved model's predictions as CSV."""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
from pathlib import Path

import numpy as np

from ffnn.cli._args import separator
from ffnn.errors import FFNNError

DESCRIPTION = (
    "Predict with a saved model (a run folder or its model.safetensors) on a CSV with the "
    "training feature columns (a target column is ignored), an .npz/.npy file, or a built-in "
    "data set."
)


def add_parser(sub) -> argparse.ArgumentParser:
    """The ``predict`` sub-command's parser."""
    pr = sub.add_parser("predict", help="predictions of a saved model", description=DESCRIPTION)
    pr.add_argument("model", help="run folder or model file")
    pr.add_argument("data", help="data file or built-in data set name")
    pr.add_argument(
        "-o", "--out",
        help="write the predictions CSV here (default: stdout); never the model or the data",
    )  # fmt: skip
    pr.add_argument("--sep", type=separator, help="CSV delimiter (default: as in training)")
    pr.set_defaults(func=run)
    return pr


def _is_model_file(p: Path) -> bool:
    """A safetensors file: 8 bytes of header length, then a JSON header starting with '{'."""
    try:
        with open(p, "rb") as fh:
            head = fh.read(9)
        n = int.from_bytes(head[:8], "little")
        return len(head) == 9 and head[8:9] == b"{" and 0 < n < p.stat().st_size
    except OSError:
        return False


def check_output(out: Path, inputs: list[Path]) -> Path:
    """Refuse an output path that would replace an input (the model, the data) or a model."""
    from ffnn.runs import MODEL_FILE
    from ffnn.runs.files import RUN_FILES

    if out.is_dir():
        raise FFNNError(f"-o {str(out)!r} is a folder; give a file name such as predictions.csv")
    for p in inputs:
        if out.exists() and p.exists() and os.path.samefile(out, p):
            raise FFNNError(f"-o {str(out)!r} is an input of this command; choose another file")
    if out.suffix.lower() == ".safetensors" or (out.exists() and _is_model_file(out)):
        raise FFNNError(
            f"-o {str(out)!r} is a model file; choose another name, e.g. predictions.csv"
        )
    if out.name in RUN_FILES and (out.parent / MODEL_FILE).exists():
        raise FFNNError(
            f"-o {str(out)!r} would replace {out.name} of the run in {out.parent}; choose "
            "another name"
        )
    return out


def predictions_csv(net, pre, Xp) -> str:
    """The predictions of ``net`` on preprocessed inputs Xp: (n, n_0) as CSV text: the label and
    the probability of each class (classification), or the target's value(s) (regression)."""
    from ffnn.runs import forward_chunks

    f = net.output.apply(forward_chunks(net, Xp))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if pre is not None and pre.task == "classification":
        w.writerow(["prediction", *[f"p_{c}" for c in pre.classes]])
        for label, row in zip(pre.decode(f), f, strict=True):
            w.writerow([label, *[f"{v:.6g}" for v in row]])
        return buf.getvalue()
    pred = pre.decode(f) if pre is not None else f
    pred = np.asarray(pred).reshape(len(Xp), -1)
    name = pre.target_name if pre is not None else "prediction"
    w.writerow([name] if pred.shape[1] == 1 else [f"{name}_{j}" for j in range(pred.shape[1])])
    for row in pred:
        w.writerow([f"{v:.8g}" for v in row])
    return buf.getvalue()


def run(args: argparse.Namespace) -> int:
    from ffnn.data import validate_X
    from ffnn.io import atomic_write_bytes
    from ffnn.runs import load_run, run_data

    net, meta, pre, path = load_run(args.model)
    out = None if args.out is None else check_output(Path(args.out), [path, Path(args.data)])
    X, _, what = run_data(
        args.data, pre, meta, need_target=False, target=None, whole=True, sep=args.sep
    )
    Xp = pre.transform_X(X) if pre is not None else validate_X(X)
    if Xp.shape[1] != net.input_node.dim:
        raise FFNNError(
            f"the data has {Xp.shape[1]} feature columns but the model takes "
            f"{net.input_node.dim} inputs"
        )
    text = predictions_csv(net, pre, Xp)
    if out is not None:
        atomic_write_bytes(out, text.encode())
        print(f"wrote {len(Xp)} predictions of {path} on {what} to {out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
