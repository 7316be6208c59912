"""``ffnn lab NAME [--set K=V] [--seed N] [--params]`` | ``ffnn lab --list``: the lab's
experiments."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ffnn.cli._args import nonneg_int


def add_parser(sub) -> argparse.ArgumentParser:
    """The ``lab`` sub-command's parser."""
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
    lab.add_argument(
        "--seed", type=nonneg_int, default=0, help="seed of every random draw (default 0)"
    )
    lab.add_argument("--progress", dest="progress", action="store_const", const=True, default=None)
    lab.add_argument("--no-progress", dest="progress", action="store_const", const=False)
    lab.set_defaults(func=run)
    return lab


def run(args) -> int:
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
