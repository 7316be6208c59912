"""``ffnn evaluate MODEL DATA``: loss and accuracy / R² of a saved model on labelled data."""

from __future__ import annotations

import argparse

from ffnn.cli._args import separator
from ffnn.cli._print import table
from ffnn.errors import FFNNError

DESCRIPTION = (
    "Evaluate a saved model on labelled data. For the built-in data set it was trained on, the "
    "held-out test split is used (--all: every example)."
)


def add_parser(sub) -> argparse.ArgumentParser:
    """The ``evaluate`` sub-command's parser."""
    ev = sub.add_parser(
        "evaluate", help="loss and accuracy / R² of a saved model", description=DESCRIPTION
    )
    ev.add_argument("model", help="run folder or model file")
    ev.add_argument("data", help="data file or built-in data set name")
    ev.add_argument("--target", help="target column / key (default: as in training)")
    ev.add_argument("--all", action="store_true", help="use all examples of a built-in set")
    ev.add_argument("--sep", type=separator, help="CSV delimiter (default: as in training)")
    ev.set_defaults(func=run)
    return ev


def run(args: argparse.Namespace) -> int:
    from ffnn import get_loss
    from ffnn.runs import load_run, metrics, run_data, targets_for

    net, meta, pre, path = load_run(args.model)
    if pre is None:
        raise FFNNError(
            f"{path} carries no preprocessing metadata (not saved by ffnn train); "
            "evaluate it in Python with ffnn.io.load_model"
        )
    X, y, what = run_data(
        args.data, pre, meta, need_target=True, target=args.target, whole=args.all, sep=args.sep
    )
    loss_name = meta.get("training", {}).get("loss") or (
        "cross_entropy" if pre.task == "classification" else "mse"
    )
    loss = get_loss(loss_name)
    Xp = pre.transform_X(X)
    y_enc = targets_for(loss_name, pre, pre.encode_y(y))
    rows = {"data": metrics(net, loss, pre, Xp, y_enc)}
    print(f"model {path}\ndata  {what}\n")
    print(table(rows))
    return 0
