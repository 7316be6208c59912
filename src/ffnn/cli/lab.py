"""``ffnn lab NAME [-o DIR] [--quick]`` | ``ffnn lab --list``: the lab's experiments."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(sub) -> argparse.ArgumentParser:
    """The ``lab`` sub-command's parser."""
    lab = sub.add_parser("lab", help="run a lab experiment and print its verdict")
    lab.add_argument("name", nargs="?", help="experiment name (ffnn lab --list)")
    lab.add_argument("--list", action="store_true", help="list the registered experiments")
    lab.add_argument("-o", "--out", help="output folder (default runs/lab/NAME)")
    lab.add_argument("--quick", action="store_true", help="a small, fast version")
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
            print("\nrun one with: ffnn lab NAME [-o DIR] [--quick]", file=sys.stderr)
        return 0
    exp = get_experiment(args.name)
    out = Path(args.out) if args.out else Path("runs") / "lab" / exp.name
    out.mkdir(parents=True, exist_ok=True)
    progress = None if args.progress is None else args.progress
    result = exp.run(
        out, quick=args.quick, progress=progress if progress is not None else sys.stderr.isatty()
    )
    print(result.verdict())
    if result.files:
        print("files: " + ", ".join(str(f) for f in result.files))
    return 0
