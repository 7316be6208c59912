"""The ``ffnn`` command line (the training job lands with the training issue).

For now ``ffnn demo`` shows one forward and backward pass on a small network.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from ffnn.errors import FFNNError


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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ffnn", description="Feed-forward neural networks.")
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="one forward and backward pass, with a gradient check")
    d.add_argument("--seed", type=int, default=0)
    d.set_defaults(func=_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except FFNNError as e:
        print(f"ffnn: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
