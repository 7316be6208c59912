"""``ffnn info MODEL [--n N]``: layers, widths, parameter count p, cost of one iteration."""

from __future__ import annotations

import argparse

from ffnn.cli._args import positive_int


def add_parser(sub) -> argparse.ArgumentParser:
    """The ``info`` sub-command's parser."""
    inf = sub.add_parser("info", help="layers, parameter count and cost per iteration")
    inf.add_argument("model", help="run folder or model file")
    inf.add_argument(
        "--n",
        type=positive_int,
        help="examples per epoch for the cost estimate (default: the training set)",
    )
    inf.set_defaults(func=run)
    return inf


def _header(net, meta: dict, pre, path) -> None:
    from ffnn import Act

    print(f"model {path}")
    acts = [n.layer.activation.name for n in net.nodes if isinstance(n.layer, Act)]
    print(
        f"widths n_0 … n_L+1 = {net.widths}; hidden activations {acts or 'none'}; "
        f"output φ_out = {net.output.name}; dtype {net.dtype.name}"
    )
    if pre is not None:
        extra = f", classes {pre.classes}" if pre.task == "classification" else ""
        print(f"task {pre.task}{extra}; inputs standardized: {pre.standardize}")
    tr = meta.get("training", {})
    if tr:
        print(
            f"trained with {tr.get('loss')}, {tr.get('optimizer')} lr {tr.get('lr')}, "
            f"{tr.get('epochs_run')} epochs ({tr.get('stop_reason')})"
        )
    print()


def _cost_table(c: dict) -> None:
    print(f"{'layer':<12}{'n_in':>7}{'n_out':>7}{'params':>10}{'fwd MACs':>11}{'bwd MACs':>11}")
    for r in c["layers"]:
        print(
            f"{r['node']:<12}{r['n_in']:>7}{r['n_out']:>7}{r['params']:>10}"
            f"{r['forward']:>11}{r['backward']:>11}"
        )
    print(f"{'total':<12}{'':>14}{c['p']:>10}{c['forward']:>11}{c['backward']:>11}")
    print(
        f"\np = {c['p']} parameters (weights and biases). Per example: forward Σ n_l n_(l-1) = "
        f"{c['forward']} multiply-adds; backward {c['backward']} (weight gradients δ x^T, "
        "Σ n_l n_(l-1), plus the messages W^T δ to every layer but the first)."
    )


def run(args: argparse.Namespace) -> int:
    from ffnn.runs import cost, load_run

    net, meta, pre, path = load_run(args.model)
    c = cost(net)
    _header(net, meta, pre, path)
    _cost_table(c)
    n = args.n or meta.get("data", {}).get("n_train")
    if n:
        per = c["forward"] + c["backward"]
        print(
            f"One epoch over n = {n} examples: n·(forward + backward) = {n * per:.3g} "
            f"multiply-adds ≈ {per / max(c['p'], 1):.2f}·p·n = O(p·n) (notes 004); the O(p) "
            "optimizer update per step and the element-wise work are not counted."
        )
    return 0
