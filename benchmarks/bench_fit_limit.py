"""fit against the matmul limit, interleaved in one process; fit's threads beside busy processes.

    python benchmarks/bench_fit_limit.py [--config mnist] [--rounds 8] [--threads 2] [--busy 0]

The same epoch as ``bench_train.py`` (n = 20,000 synthetic examples, plain SGD, float32, the
config's network and batch), but in one process, round after round with a pause between: a
one-epoch ``fit(threads=--threads)``, then the step's matrix products as one epoch and as the
best of 20 single steps times the steps per epoch (the columns layout, BLAS on --threads
threads). A shared machine then slows fit and the limit alike, so their ratio moves less than
between processes. ``--busy K`` starts K processes that spin (unpinned) and times
``fit(threads=1)``, ``fit(threads=None)`` and ``fit(threads=--threads)`` instead of the limit.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from train_runners import CONFIGS, LR, make_data, matmul_step, time_min_of


def _args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="mnist", choices=sorted(CONFIGS))
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--busy", type=int, default=0, help="processes spinning while timing")
    ap.add_argument("--n", type=int, default=20_000)
    return ap.parse_args()


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    args = _args()
    from threadpoolctl import threadpool_limits

    import ffnn

    widths, bs = CONFIGS[args.config]
    X, y = make_data(widths, args.n)
    classify = widths[-1] > 1
    net = ffnn.mlp(widths, "relu", output="softmax" if classify else "identity", rng=0)
    loss = "cross_entropy" if classify else "mse"
    seeds = iter(range(10**6))

    def fit(threads):
        return lambda: ffnn.fit(net, X, y, loss, optimizer="sgd", lr=LR, batch_size=bs, epochs=1,
                                progress=False, rng=next(seeds), threads=threads)  # fmt: skip

    steps = -(-args.n // bs)
    with threadpool_limits(args.threads):
        step = matmul_step(widths, bs, columns=True)
        time_min_of(step, 10)

    def limit_epoch():
        with threadpool_limits(args.threads):
            for _ in range(steps):
                step()

    def limit_best():
        with threadpool_limits(args.threads):
            return steps * time_min_of(step, 20)

    if args.busy:
        runs = {f"fit threads={t}": fit(t) for t in (1, None, args.threads)}
    else:
        runs = {f"fit threads={args.threads}": fit(args.threads), "limit epoch": limit_epoch}
    for fn in runs.values():
        fn()  # warm: compile or load the cache, first-call buffers
    spin = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    times: dict = {k: [] for k in (*runs, *(() if args.busy else ("limit best",)))}
    try:
        time.sleep(0.5 if spin else 0.0)
        for _ in range(args.rounds):
            for name, fn in runs.items():
                time.sleep(0.25)  # BLAS's idle threads spin ~0.1 s after their last job
                times[name].append(_timed(fn))
            if not args.busy:
                times["limit best"].append(limit_best())
    finally:
        for p in spin:
            p.kill()
    print(f"{args.config} {widths} batch {bs}, n = {args.n:,}, {args.rounds} rounds (median), "
          f"{args.busy} busy process(es)")  # fmt: skip
    med = {k: statistics.median(v) for k, v in times.items()}
    for name, t in med.items():
        print(f"  {name:<16} {1e3 * t:8.1f} ms   (min {1e3 * min(times[name]):.1f})")
    if not args.busy:
        f = med[f"fit threads={args.threads}"]
        print(f"  fit at {med['limit best'] / f:.0%} of the best-step limit, "
              f"{med['limit epoch'] / f:.0%} of the limit's epoch")  # fmt: skip


if __name__ == "__main__":
    main()
