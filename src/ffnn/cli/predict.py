"""``ffnn predict MODEL DATA [-o FILE]``: a saved model's predictions as CSV."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

import numpy as np

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
    pr.add_argument("-o", "--out", help="write the predictions CSV here (default: stdout)")
    pr.set_defaults(func=run)
    return pr


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
    X, _, what = run_data(args.data, pre, meta, need_target=False, target=None, whole=True)
    Xp = pre.transform_X(X) if pre is not None else validate_X(X)
    if Xp.shape[1] != net.input_node.dim:
        raise FFNNError(
            f"the data has {Xp.shape[1]} feature columns but the model takes "
            f"{net.input_node.dim} inputs"
        )
    text = predictions_csv(net, pre, Xp)
    if args.out:
        out = Path(args.out)
        if out.is_dir():
            raise FFNNError(
                f"-o {args.out!r} is a folder; give a file name such as predictions.csv"
            )
        atomic_write_bytes(out, text.encode())
        print(f"wrote {len(Xp)} predictions of {path} on {what} to {out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
