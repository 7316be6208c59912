"""A/B of the compiled epoch: compiled.py at a git revision against the working tree's, one process.

    python benchmarks/ab_kernel.py REV [--config mnist] [--rounds 40] [--threads 2] [--n 20000]

A change to the compiled kernels that saves a few % is lost in this machine's noise when whole
benchmark runs are compared (one run to the next, the same code moved 10-20 % here). This script
loads ``src/ffnn/train/compiled.py`` as it was at ``REV`` beside the working tree's, builds one
trainer (bench_train's epoch: n synthetic examples, plain SGD, float32, the config's network and
batch) and times an epoch of each in turn, ``--rounds`` times, the order swapped every round; the
median of the rounds' ratios (working tree / REV) is what moved (the same code against itself
here, 30 rounds: 0.98-1.02). Both runs use the other modules as the working tree has them
(``rows.py``, ``units.py``, the trainer): it refuses a REV at which ``rows.py`` differs. The
lost-core switch (``alone``, :mod:`ffnn.train.rows`) is cleared before each epoch, so one noisy
moment does not send the rest of a side's epochs to one thread.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from train_runners import CONFIGS, LR, make_data

ROOT = Path(__file__).resolve().parents[1]


def _args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rev", help="the git revision to compare against (e.g. HEAD, main~1)")
    ap.add_argument("--config", default="mnist", choices=sorted(CONFIGS))
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n", type=int, default=20_000)
    return ap.parse_args()


def _git_show(rev: str, path: str) -> str:
    out = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{path}"], capture_output=True,
                         text=True)  # fmt: skip
    if out.returncode:
        sys.exit(f"ab_kernel: git show {rev}:{path} failed: {out.stderr.strip()}")
    return out.stdout


def _module_at(rev: str, tmp: Path):
    """compiled.py at ``rev``, imported under a name of its own (its Numba cache in ``tmp``)."""
    if _git_show(rev, "src/ffnn/train/rows.py") != (ROOT / "src/ffnn/train/rows.py").read_text():
        sys.exit(f"ab_kernel: rows.py differs at {rev}: the A/B would mix two versions of it")
    path = tmp / "compiled_at_rev.py"
    path.write_text(_git_show(rev, "src/ffnn/train/compiled.py"))
    spec = importlib.util.spec_from_file_location("ffnn.train.compiled_at_rev", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _trainer(widths, bs, n):
    import numpy as np

    import ffnn
    from ffnn.train.step import Batches, Trainer

    X, y = make_data(widths, n)
    classify = widths[-1] > 1
    net = ffnn.mlp(widths, "relu", output="softmax" if classify else "identity", rng=0)
    loss = ffnn.get_loss("cross_entropy" if classify else "mse")
    Y = np.eye(widths[-1], dtype=np.float32)[y] if classify else y.astype(np.float32)
    tr = Trainer(net, loss, ffnn.train.get_optimizer("sgd", LR), Batches(net, X, Y, bs))
    tr.use_compiled(True)
    return tr, net, loss


def main() -> None:
    import numpy as np
    from threadpoolctl import threadpool_limits

    args = _args()
    widths, bs = CONFIGS[args.config]
    with tempfile.TemporaryDirectory() as tmp:
        old = _module_at(args.rev, Path(tmp))
        tr, net, loss = _trainer(widths, bs, args.n)
        sides = {"tree": tr.compiled, args.rev: old.plan(net, loss, tr.optimizer, tr.batches)}
        times = {k: [] for k in sides}
        rng = np.random.default_rng(0)
        with threadpool_limits(args.threads):
            for r in range(args.rounds + 1):  # round 0: compile and warm up
                for name in sorted(sides, reverse=bool(r % 2)):
                    tr.compiled = sides[name]
                    tr.compiled.alone = False
                    t = time.perf_counter()
                    tr.epoch(1, rng)
                    if r:
                        times[name].append(time.perf_counter() - t)
                    time.sleep(0.1)
    how = sides["tree"]
    print(f"{args.config} {widths} batch {bs}, {args.threads} threads: split by {how.how} "
          f"into {how.shares} shares, {args.rounds} rounds")  # fmt: skip
    for name, v in times.items():
        print(f"  {name:>10}: median {1e3 * statistics.median(v):7.1f} ms  min {1e3 * min(v):.1f}")
    ratio = statistics.median(a / b for a, b in zip(times["tree"], times[args.rev], strict=True))
    print(
        f"  tree / {args.rev}: {ratio:.3f} (median of the rounds' ratios; < 1: the tree is faster)"
    )


if __name__ == "__main__":
    main()
