"""``ffnn datasets``: the built-in data sets."""

from __future__ import annotations

import argparse


def add_parser(sub) -> argparse.ArgumentParser:
    """The ``datasets`` sub-command's parser."""
    ds = sub.add_parser("datasets", help="list the built-in data sets")
    ds.set_defaults(func=run)
    return ds


def run(args: argparse.Namespace) -> int:
    from ffnn.data import DATASETS

    for d in DATASETS.values():
        seeded = " (synthetic: --n, --noise, --seed)" if d.seeded else ""
        print(f"{d.name:<14}{d.task:<16}{d.description}{seeded}")
    return 0
