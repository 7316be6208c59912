"""``ffnn demo``: one forward and backward pass, with a gradient check."""

from __future__ import annotations

import argparse

import numpy as np

from ffnn.cli._args import nonneg_int


def add_parser(sub) -> argparse.ArgumentParser:
    """The ``demo`` sub-command's parser."""
    d = sub.add_parser("demo", help="one forward and backward pass, with a gradient check")
    d.add_argument("--seed", type=nonneg_int, default=0, help="seeds the data and the weights")
    d.set_defaults(func=run)
    return d


def run(args: argparse.Namespace) -> int:
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
