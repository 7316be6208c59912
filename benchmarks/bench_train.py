"""Training speed: ffnn against PyTorch (CPU, eager) and scikit-learn's MLP, and the matmul limit.

    python benchmarks/bench_train.py [--quick] [--repeats N] [--threads 2] [--configs tiny,wide]

Every peer trains the same ReLU network, in float32, on the same synthetic data, by minibatch SGD
without momentum at the same batch size: one epoch of n = 20,000 examples (after a warm-up epoch),
softmax + cross-entropy (MSE for the one-output ``tiny`` net), shuffled every epoch.

* ffnn        ``fit(net, X, y, optimizer="sgd", epochs=1, progress=False)``: the user path
* ffnn core   the bare step loop (gather, forward, loss, backward, θ -= η g), no bookkeeping
* torch       ``nn.Sequential`` + ``torch.optim.SGD``, the usual eager loop (randperm, index, step)
* sklearn     ``MLPClassifier``/``MLPRegressor(solver="sgd", momentum=0, alpha=0, ...)``, one epoch
              per ``partial_fit`` (it keeps float32 input in float32; checked and printed)
* limit       the matrix products one training step needs, timed with numpy on preallocated
              arrays: forward X Wᵀ for every layer, backward gᵀx for every layer and g W for every
              layer but the first (nobody computes ∂L/∂x^(0)) — or the same products with the
              batch as columns (W X, g Xᵀ, Wᵀ g, as ffnn's compiled path stores it), whichever
              layout runs faster here, with NumPy's OpenBLAS or, where the ``mkl`` package is
              installed (ffnn's compiled path calls it then), MKL on the same threads —
              whichever runs faster (printed). samples/s at that rate is the ceiling a float32
              CPU trainer can reach at these shapes.

Columns: samples/s, GFLOP/s counted as 6·p·n per epoch (2pn forward, 4pn backward), the ratio of
ffnn to each peer, ffnn's fraction of the limit, and the process's CPU seconds per epoch. On a
loaded machine the wall-clock limit (best of 20 single steps) is biased against whole epochs; the
fraction in CPU seconds (a whole epoch of the limit's products, process_time) is the robust one
at one thread.

Two targets ask for a few %: the fraction of the limit, and the NumPy fit within 5% of the core
step. On this shared machine the speed of the same code moves by up to 1.5x over tenths of
seconds (neighbouring tenants), and a process keeps an offset of its own for its life (its
memory's placement). ``--aa`` shows both, with a second process of the core step ("ffnn core
2", the same code: 1.00 is the truth) timed next to the first: the ratio of the two medians came
out 0.80 / 0.99 / 0.95 / 1.02 at tiny / small / mnist / wide in one run (of cold epochs; warm:
1.05 / 0.98 / 0.89 / 1.04), the median of the adjacent pairs' ratios 0.99 / 0.95 / 0.94 / 1.08
(warm: 1.04 / 0.97 / 0.93 / 1.04). So the NumPy fit is also built in the core
step's own process, on the same data, and the two are timed in turn there (which first
alternates): the median of those pairs' ratios decides (so timed by a script at tiny, 40 pairs
in three processes: fit 0.97, 0.98, 0.98 the core step's speed, its trainer's epoch alone 1.00,
1.00, 1.00 — the rest is fit's set-up, ~0.4 ms a call). ffnn's epoch and the
limit's (its epoch, then its best step) are timed next to each other (``GLUED``), and the median
of those pairs' ratios decides the fraction of the limit. The ratios of the medians are printed
beside them; the targets against peers (wide margins) stay ratios of medians.
JAX peers: ``jax step`` (a jitted step from a Python loop) and ``jax scan`` (the
epoch as one jitted lax.scan); XLA's pool is sized by the affinity while its client starts.
``--busy`` adds a competing spin loop pinned to the first core and an ``ffnn auto`` runner
(``fit(threads=None)``) beside ``ffnn`` (``fit(threads=--threads)``).
Each timed epoch comes right after an untimed epoch of the same runner (``--cold``: right after
the pause): the limit's best step is taken right after its epoch, in the machine's warm state,
and on this machine a core left idle for the pause runs slow for a while after it (one-epoch
fits of 784-256-256-10, medians of 9: 81.5 ms back to back against 90.9 ms after 0.25 s idle on
two threads, 134.5 against 150.4 ms on one), so a cold epoch measured the pause, not the
trainer; and a training run is many epochs back to back.
Every runner (and the limit) runs in a process of its own (``train_runners.py``: one
process's thread pools slowed the next runner's in the same process up to 10x), warmed up once,
then driven one epoch at a time: medians over ``--repeats`` repeats (by default more for the
short epochs of tiny and small), the runners interleaved within each repeat (with a pause
between two, their order shuffled from one repeat to the next) so that a noisy shared machine
hits them alike.
The line after the machine line says which OpenBLAS kernels each runner's process ran (where
the environment sets ``OPENBLAS_CORETYPE``, every process inherits it: to measure what OpenBLAS
picks by itself, unset it — and ``OPENBLAS_L2_SIZE`` — for the benchmark's command).
Inference rows time forward passes in batches of 1,024 (ffnn ``net.predict``, torch under
``no_grad``, sklearn ``predict_proba``/``predict``). A subprocess then trains the mnist-shape
network for one epoch on 200,000 × 784 float32 examples (~630 MB) and reports its peak resident
memory over the data size.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time

from train_runners import CONFIGS, INFER_BATCH, LR, RUNNERS, make_data, n_params

TARGETS = {  # name: (x torch, x sklearn, fraction of the matmul limit, x jax scan)
    "tiny": (4.0, 3.0, None, 0.5),
    "small": (1.5, 2.0, None, 0.7),
    "mnist": (1.0, 2.0, 0.85, 1.0),
    "wide": (0.95, 1.8, 0.85, 1.0),
}
JAX_STEP_TARGET = 1.0  # ahead of JAX's jitted step loop at every size
CORE_TARGET = 0.95  # fit (NumPy path) within 5% of the bare core step
REPEATS = {"tiny": 25, "small": 25, "mnist": 13, "wide": 5}  # default repeats per config
PAUSE = 0.25  # seconds between two runners: the last one's spinning thread pools go to sleep
#: runners timed next to each other in every repeat (which of them first alternates): the two
#: targets that ask for a few % — the fraction of the limit, the NumPy fit against the core
#: step — are decided by the median of these adjacent pairs' ratios (see the module docstring)
GLUED = (("ffnn", "limit"), ("ffnn numpy", "ffnn core", "ffnn core 2"))
RUNNERS_PY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "train_runners.py")


def _args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer examples and repeats")
    ap.add_argument(
        "--repeats", type=int, default=None,
        help="timed repeats per config (default: tiny/small 25, mnist 13, wide 5; quick 3)",
    )  # fmt: skip
    ap.add_argument("--threads", type=int, default=2, help="BLAS / torch threads (default 2)")
    ap.add_argument("--n", type=int, default=None, help="examples per epoch (default 20000)")
    ap.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated config names")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--no-sklearn", action="store_true")
    ap.add_argument("--no-jax", action="store_true")
    ap.add_argument(
        "--busy", action="store_true", help="a competing busy process on one core while timing"
    )
    ap.add_argument(
        "--aa", action="store_true",
        help="A/A check: a second process of the core step ('ffnn core 2') beside the first",
    )  # fmt: skip
    ap.add_argument(
        "--cold", action="store_true",
        help="time each epoch right after the pause (no untimed epoch of the runner's first)",
    )  # fmt: skip
    ap.add_argument(
        "--processes", type=int, default=1,
        help="cut each config's repeats into this many runs of fresh runner processes",
    )  # fmt: skip
    ap.add_argument("--no-memory", action="store_true", help="skip the 630 MB memory run")
    ap.add_argument("--memory-n", type=int, default=200_000, help="rows of the memory run")
    ap.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    return ap.parse_args()


# --- memory ------------------------------------------------------------------------------------
def _rss_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def memory_child(n: int, threads: int) -> None:
    """Run in a fresh process: RSS before the data, peak RSS after one epoch of fit."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    import ffnn

    widths, bs = CONFIGS["mnist"]
    with threadpool_limits(threads):
        net = ffnn.mlp(widths, "relu", output="softmax", rng=0)
        # touch the code paths once on a little data so imports / first-call buffers are counted
        ffnn.fit(net, *make_data(widths, 256), "cross_entropy", epochs=1, progress=False)
        base = _rss_kb("VmRSS:")
        rng = np.random.default_rng(0)
        X = rng.standard_normal((n, widths[0]), dtype=np.float32)
        y = rng.integers(0, widths[-1], n).astype(np.int32)
        data_kb = (X.nbytes + y.nbytes) / 1024
        t = time.perf_counter()
        ffnn.fit(net, X, y, "cross_entropy", lr=LR, batch_size=bs, epochs=1, progress=False)
        t = time.perf_counter() - t
        peak = _rss_kb("VmHWM:")
        # and with a validation fraction split off (the 10% validation rows are copied)
        ffnn.fit(net, X, y, "cross_entropy", lr=LR, batch_size=bs, epochs=1, progress=False,
                 validation=0.1)  # fmt: skip
        peak_val = _rss_kb("VmHWM:")
    print(f"{base} {peak} {data_kb:.0f} {t:.3f} {peak_val}")


def memory_run(n: int, threads: int) -> str:
    cmd = [sys.executable, __file__, "--memory-child", "--memory-n", str(n)]
    cmd += ["--threads", str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        return f"memory run failed: {out.stderr.strip().splitlines()[-1:]}"
    base, peak, data, t, peak_val = out.stdout.split()[-5:]
    base, peak, data, peak_val = int(base), int(peak), float(data), int(peak_val)

    def verdict(top: int) -> str:
        ratio = (top - base) / data
        ok = "met" if ratio <= 1.25 else f"MISSED by {100 * (ratio - 1.25):.0f} points"
        return f"{(top - base) / 1024:.0f} MiB = {ratio:.3f} x data (target <= 1.25 x: {ok})"

    return (
        f"memory: {n:,} x 784 float32 + int32 labels = {data / 1024:.0f} MiB; one epoch of fit "
        f"(mnist net, batch 128) in {float(t):.1f} s; peak RSS - RSS before the data = "
        f"{verdict(peak)}; then with validation=0.1: {verdict(peak_val)}"
    )


# --- report ------------------------------------------------------------------------------------
def machine_line(threads: int) -> str:
    import numpy as np

    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    blas = "?"
    try:
        from threadpoolctl import threadpool_info

        for info in threadpool_info():
            if info.get("user_api") == "blas" and "numpy" in info.get("filepath", ""):
                blas = f"{info['internal_api']} {info.get('version')}"
    except ImportError:
        pass
    parts = [
        f"CPU {cpu}, {os.cpu_count()} cores",
        f"python {platform.python_version()}",
        f"numpy {np.__version__} [{blas}]",
    ]
    for mod in ("torch", "sklearn", "jax", "numba"):
        try:
            parts.append(f"{mod} {__import__(mod).__version__}")
        except ImportError:
            parts.append(f"{mod} not installed")
    try:
        from importlib import metadata

        parts.append(f"mkl {metadata.version('mkl')}")
    except metadata.PackageNotFoundError:
        parts.append("mkl not installed")
    parts.append(
        f"threads {threads} (threadpoolctl for ffnn/sklearn/numba's BLAS, torch.set_num_threads, "
        "XLA: see below)"
    )
    try:
        parts.append("load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    except OSError:
        pass
    return "machine: " + "; ".join(parts)


def _fmt_rate(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


def _busy() -> subprocess.Popen:
    """A competing process that keeps one core busy (a pure-Python spin loop on the first core)."""
    core = min(os.sched_getaffinity(0))
    return subprocess.Popen(
        [sys.executable, "-c", "while True: pass"],
        preexec_fn=lambda: os.sched_setaffinity(0, {core}),
    )


# --- the runners, one process each --------------------------------------------------------------
class Worker:
    """One runner in its own process (train_runners.py), driven line by line."""

    def __init__(self, runner: str, name: str, n: int, threads: int):
        self.runner = runner
        self.proc = subprocess.Popen(
            [sys.executable, RUNNERS_PY, runner, name, str(n), str(threads)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
        )  # fmt: skip
        line = self.proc.stdout.readline()
        if not line.startswith("ready "):
            self.close()
            rc = self.proc.returncode
            raise RuntimeError(f"runner {runner!r} at {name} did not start (exit status {rc})")
        self.info = json.loads(line[6:])

    def ask(self, cmd: str) -> dict:
        self.proc.stdin.write(cmd + "\n")
        out = json.loads(self.proc.stdout.readline())
        if "error" in out:
            raise RuntimeError(f"{self.runner}: {out['error']}")
        return out

    def close(self) -> None:
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _available(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _runner_names(name: str, args) -> list[str]:
    """The runners at config ``name`` that this installation and these options allow."""
    numba = _available("numba")
    from_ffnn = ["ffnn"] + (["ffnn auto"] if args.busy else [])
    if numba:  # then fit takes the compiled path: the NumPy step loop beside it
        from_ffnn.append("ffnn numpy")
    out = [*from_ffnn, "ffnn core"] + (["ffnn core 2"] if args.aa else [])
    if not args.no_jax and _available("jax"):
        out += ["jax step", "jax scan"]
    if not args.no_torch and _available("torch"):
        out.append("torch")
    if not args.no_sklearn and _available("sklearn"):
        out.append("sklearn")
    assert set(out) <= set(RUNNERS)
    return [*out, "limit"]


def _rotated(names: list, rep: int) -> list:
    """The runners' order in repeat ``rep``: the :data:`GLUED` runners as one unit each (in
    the place of their first), in turn in their listed and in the reverse order; the units as
    listed in the first repeat, then shuffled (seeded by ``rep``: the same orders in every
    run), so that over the repeats each unit follows several others, and no median carries
    the after-effects of one fixed neighbour (its caches, its thread pools going idle)."""
    units, placed = [], set()
    for k in names:
        if k in placed:
            continue
        group = next((g for g in GLUED if k in g), (k,))
        unit = [m for m in group if m in names]
        units.append(unit if rep % 2 == 0 else unit[::-1])
        placed.update(unit)
    if rep > 0:
        random.Random(rep).shuffle(units)
    return [k for unit in units for k in unit]


def repeats_for(name: str, repeats: int | None, quick: bool) -> int:
    """Repeats at config ``name``: as given, else 3 (quick) or :data:`REPEATS` (more where an
    epoch is short: their medians move most between runs and cost least)."""
    if repeats:
        return repeats
    return 3 if quick else REPEATS.get(name, 5)


def _time_config(name, n, repeats, args):
    """Medians of the epoch times (wall and CPU) and inference times of every runner at one
    config, each runner in its own process, interleaved within each repeat; and the workers'
    start-up notes. With ``--processes K`` the repeats are cut into K runs of fresh processes
    (each process keeps a speed offset of its own for its life: the A/A check)."""
    names = _runner_names(name, args)
    times: dict = {k: [] for k in names}
    cpu: dict = {k: [] for k in names}
    itimes: dict = {k: [] for k in names if k in ("ffnn", "torch", "sklearn")}
    best_limit, inproc, infos = [], [], None
    warm = "" if args.cold else " warm"  # each timed epoch right after an untimed one
    K = max(1, min(args.processes, repeats))
    for g in range(K):
        workers = {}
        try:
            for r in names:
                workers[r] = Worker(r, name, n, args.threads)
            for rep in range(repeats * g // K, repeats * (g + 1) // K):
                for k in _rotated(names, rep):
                    time.sleep(PAUSE)
                    if k == "ffnn core":  # with the NumPy fit in its process, in turn
                        inproc.append(_core_and_numpy(workers[k], rep, warm))
                    out = workers[k].ask("epoch" + warm)
                    times[k].append(out["t"])
                    cpu[k].append(out["cpu"])
                    if k == "limit":  # its best step, next to its epoch and to ffnn's (GLUED)
                        best_limit.append(workers["limit"].ask("limit")["t"])
                for k in _rotated(list(itimes), rep):
                    time.sleep(PAUSE)
                    itimes[k].append(workers[k].ask("infer")["t"])
            infos = infos or {k: w.info for k, w in workers.items()}
        finally:
            for w in workers.values():
                w.close()
    med = {k: statistics.median(v) for k, v in times.items()}
    med["limit epoch"] = med["limit"]
    med["limit"] = statistics.median(best_limit)
    med.update({f"cpu:{k}": statistics.median(v) for k, v in cpu.items()})
    med["cpu:limit epoch"] = med["cpu:limit"]
    med.update(_paired(times, best_limit, inproc))
    imed = {k: statistics.median(v) for k, v in itimes.items()}
    return med, imed, infos


def _core_and_numpy(worker, rep: int, warm: str = "") -> tuple[float, float]:
    """(core step, NumPy fit) epoch times in the core step's process, one after the other (the
    NumPy fit first in odd repeats): the same process, the same data and memory."""
    first, second = ("epoch", "numpy") if rep % 2 == 0 else ("numpy", "epoch")
    a = worker.ask(first + warm)["t"]
    time.sleep(PAUSE)
    b = worker.ask(second + warm)["t"]
    return (a, b) if first == "epoch" else (b, a)


def _paired(times: dict, best_limit: list, inproc: list = ()) -> dict:
    """Medians of the repeats' own ratios of runners timed next to each other (a load that
    changes between them and the rest of the repeat cancels), as times: "pair:limit" the limit
    over ffnn (:data:`GLUED`); "pair:core" the core step over the NumPy fit, both in the core
    step's process (``inproc``: (core, NumPy) pairs; else the two runners' processes, glued);
    "pair:aa" (``--aa``) the core step over its second process, glued. The first two decide
    the limit's and the core step's targets. Beside them, "pair:limit epoch": the limit's whole
    epoch over ffnn's (the same length of time, timed next to it), and "pair:limit own": the
    best step's limit over the limit's own epoch — how far the machine's noise keeps any whole
    epoch, the products alone included, from the best of short steps."""
    out = {}
    if "ffnn" in times:
        pairs = zip(best_limit, times["ffnn"], strict=True)
        out["pair:limit"] = statistics.median(b / t for b, t in pairs)
        if "limit" in times:  # the limit's epoch, timed next to ffnn's and to its best step
            pairs = zip(times["limit"], times["ffnn"], strict=True)
            out["pair:limit epoch"] = statistics.median(e / t for e, t in pairs)
            pairs = zip(best_limit, times["limit"], strict=True)
            out["pair:limit own"] = statistics.median(b / e for b, e in pairs)
    if inproc:
        out["pair:core"] = statistics.median(c / f for c, f in inproc)
    elif "ffnn core" in times and "ffnn numpy" in times:
        pairs = zip(times["ffnn core"], times["ffnn numpy"], strict=True)
        out["pair:core"] = statistics.median(c / f for c, f in pairs)
    if "ffnn core" in times and "ffnn core 2" in times:
        pairs = zip(times["ffnn core"], times["ffnn core 2"], strict=True)
        out["pair:aa"] = statistics.median(a / b for a, b in pairs)
    return out


def _verdict(name, med, skl_dtype) -> str:
    """One line: ffnn's ratio to each peer against its target, and the fraction of the limit."""
    tt, ts, tl, tj = TARGETS[name]
    f = med["ffnn"]
    parts = []
    for peer, target in (("jax step", JAX_STEP_TARGET), ("jax scan", tj), ("torch", tt),
                         ("sklearn", ts)):  # fmt: skip
        if peer in med:
            r = med[peer] / f
            parts.append(f"vs {peer} {r:.2f}x (target {target}x: {_ok(r, target)})")
    frac, pfrac = med["limit"] / f, med["pair:limit"]
    cfrac = med["cpu:limit"] / med["cpu:ffnn"]
    goal = f" (target {100 * tl:.0f}%: {_ok(pfrac, tl)})" if tl else ""
    parts.append(
        f"of limit {100 * pfrac:.0f}% as the median of the adjacent pairs' ratios{goal}, "
        f"{100 * frac:.0f}% as the ratio of the medians, in CPU seconds {100 * cfrac:.0f}%"
    )
    if "pair:limit epoch" in med:
        parts.append(
            f"ffnn's epoch at {100 * med['pair:limit epoch']:.0f}% of the limit's own epoch timed "
            f"next to it, which ran at {100 * med['pair:limit own']:.0f}% of the best-step limit"
        )
    if "ffnn numpy" in med:
        fn = med["cpu:limit"] / med["cpu:ffnn numpy"]
        r, pr = med["ffnn core"] / med["ffnn numpy"], med["pair:core"]
        parts.append(
            f"NumPy fit: {100 * fn:.0f}% of limit in CPU s, {pr:.2f}x the core step's speed as "
            f"the median of the ratios of the two in one process, in turn (target >= "
            f"{CORE_TARGET}: {_ok(pr, CORE_TARGET)}), {r:.2f}x as the ratio of the medians of "
            f"their own processes"
        )
    if "pair:aa" in med:
        parts.append(
            f"A/A, the core step's time over its second process's: {med['pair:aa']:.2f}x as the "
            f"median of the adjacent pairs' ratios, "
            f"{med['ffnn core'] / med['ffnn core 2']:.2f}x as the ratio of the medians"
        )
    if "ffnn auto" in med:
        parts.append(f"threads=None (auto) {med['ffnn'] / med['ffnn auto']:.2f}x threads=n")
    if skl_dtype is not None:
        parts.append(f"sklearn trained in {skl_dtype}")
    return f"{name:<6} " + "; ".join(parts)


def _kernels_line(infos: dict) -> str:
    """Which OpenBLAS kernels each runner's process ran (and XLA's pool)."""
    seen: dict = {}
    for k, info in infos.items():
        key = "/".join(info.get("openblas", [])) or "none"
        seen.setdefault(key, []).append(k)
    parts = [f"{key}: {', '.join(v)}" for key, v in seen.items()]
    xla = next((i["xla"] for i in infos.values() if "xla" in i), None)
    tail = f"; {xla}" if xla else ""
    return "OpenBLAS kernels per runner: " + "; ".join(parts) + tail


def main() -> None:
    args = _args()
    if args.memory_child:
        memory_child(args.memory_n, args.threads)
        return
    n = args.n or (5000 if args.quick else 20000)
    names = [c.strip() for c in args.configs.split(",") if c.strip()]
    for name in names:
        if name not in CONFIGS:
            sys.exit(f"unknown config {name!r}; choose among {', '.join(CONFIGS)}")
    busy = _busy() if args.busy else None
    print(machine_line(args.threads) + ("; + 1 busy process" if busy else ""))
    reps = {name: repeats_for(name, args.repeats, args.quick) for name in names}
    each = ", ".join(f"{name} {r}" for name, r in reps.items())
    when = "right after the pause" if args.cold else "right after an untimed one of its own"
    if args.processes > 1:
        when += f"; the repeats cut into {args.processes} runs of fresh processes"
    print(f"n = {n:,} examples per epoch, repeats (median; the runners' order shuffled each "
          f"repeat): {each}; lr = {LR}, float32; each timed epoch {when}")  # fmt: skip
    rows, infer_rows, verdicts, kernels, layouts, products = [], [], [], None, [], []
    try:
        for name in names:
            p = n_params(CONFIGS[name][0])
            med, imed, infos = _time_config(name, n, reps[name], args)
            kernels = kernels or _kernels_line(infos)
            layouts.append(f"{name} {infos.get('limit', {}).get('layout', '?')}")
            if "blas" in infos.get("ffnn", {}):
                products.append(f"{name} {infos['ffnn']['blas']}")
            for k, t in med.items():
                if ":" not in k:  # not cpu:… or pair:…
                    gf = 6.0 * p * n / t / 1e9
                    rows.append((name, k, n / t, gf, med["ffnn"], t, med[f"cpu:{k}"]))
            for k, t in imed.items():
                infer_rows.append((name, k, n / t, 2.0 * p * n / t / 1e9, imed["ffnn"], t, None))
            verdicts.append(_verdict(name, med, infos.get("sklearn", {}).get("dtype")))
    finally:
        if busy is not None:
            busy.kill()
    print(kernels)
    print("the limit's layout and library (the fastest here): " + ", ".join(layouts))
    if products:
        print("ffnn's compiled products, and how a split step is cut: " + ", ".join(products))
    print()
    print(
        "training, one epoch (median; 'ffnn x': the runner's time over ffnn's; cpu s: the "
        "runner process's CPU time, all threads, XLA's pool included; limit: best single step "
        "x steps, limit epoch: a whole epoch of the products):"
    )
    _table(rows, ("limit", "limit epoch"))
    print()
    print(f"inference, forward only in batches of {INFER_BATCH} (median; GFLOP/s as 2·p·n):")
    _table(infer_rows, ())
    print()
    print("targets:")
    for v in verdicts:
        print("  " + v)
    print("load average at the end: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    if not args.no_memory:
        print()
        print(memory_run(args.memory_n if not args.quick else 50_000, args.threads))


def _ok(r: float, target: float) -> str:
    if r >= target:
        return "met"
    return f"MISSED by {100 * (1 - r / target):.0f}%"


def _table(rows, no_ratio) -> None:
    head = f"{'config':<7}{'runner':<12}{'samples/s':>12}{'GFLOP/s':>9}{'ffnn x':>8}{'time s':>9}"
    print(head + (f"{'cpu s':>9}" if rows and rows[0][6] is not None else ""))
    for name, k, rate, gf, t_ffnn, t, c in rows:
        ratio = "" if k == "ffnn" or k in no_ratio else f"{t / t_ffnn:.2f}"
        if k == "limit":
            ratio = f"{100 * t / t_ffnn:.0f}%"
        line = f"{name:<7}{k:<12}{_fmt_rate(rate):>12}{gf:>9.1f}{ratio:>8}{t:>9.3f}"
        print(line + ("" if c is None else f"{c:>9.3f}"))


if __name__ == "__main__":
    main()
