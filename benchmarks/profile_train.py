"""Where a training epoch's time goes: a sampling profile of bench_train's runners, by kind of work.

    python benchmarks/profile_train.py [--configs mnist,wide] [--runners ffnn,limit,jax scan]
                                       [--seconds 10] [--threads 2] [--n 20000]

Each runner starts in a process of its own (``train_runners.py``, as in bench_train.py) and warms
up; then Linux ``perf`` (``apt-get install linux-perf``; the software clock ``cpu-clock``, so it
works on virtual machines without hardware counters) samples every thread of that process while it
trains epoch after epoch for ``--seconds``, back to back. The samples are sorted by shared object
and symbol, then by kind of work, in % of the process's samples (its CPU time, all threads):

* products, kernel        the BLAS inner kernels (``*gemm_kernel*``, the small-matrix kernels)
* products, packing       BLAS copying operands into its panels (``*_oncopy``, ``*_itcopy``, ...)
* products, C zeroed      ``memset``: OpenBLAS clears C before a product with β = 0 (its call graph
                          here: ``sgemm_nn``/``sgemm_tn`` → ``sgemm_beta`` → ``memset``)
* products, threads       the rest of the BLAS library: its thread pool, dispatch, small helpers
* compiled kernels        code compiled at run time (perf's ``[JIT]``: ffnn's Numba kernels — the
                          element-wise passes, the gather, the update — and their barrier spins;
                          JAX's XLA code where it runs generated code)
* waiting (OS)            the kernel's scheduler and ``sched_yield``: threads that wait at a barrier
                          past their spins, or an idle pool
* Python                  the interpreter, NumPy's C code
* other                   every other library (XLA's runtime, libtorch, libm, ...), named

The epoch's wall time during the profile is printed beside each column (perf's sampling costs a
few %). The categories are what the samples' symbols say, no more: what a ``[JIT]`` address does
is not resolved (Numba does not tell perf).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from bench_train import Worker
from train_runners import CONFIGS, RUNNERS

KINDS = ("products, kernel", "products, packing", "products, C zeroed", "products, threads",
         "compiled kernels", "waiting (OS)", "Python", "other")  # fmt: skip
#: a line of ``perf report --stdio --sort dso,sym``: overhead, shared object, [.]/[k], symbol
LINE = re.compile(r"^\s*([\d.]+)%\s+(.+?)\s+\[([.k])\]\s+(.*?)\s*$")
BLAS = re.compile(r"openblas|libblas|mkl|blis", re.I)
PYTHON = re.compile(r"libpython|^python|_multiarray|_umath|\.cpython-")


def kind_of(dso: str, sym: str) -> str:
    """The kind of work of one (shared object, symbol) sample line; ``other: <dso>`` else."""
    if BLAS.search(dso):
        if "kernel" in sym:
            return "products, kernel"
        if re.search(r"_[io][nt]copy|_[io]copy|copy_", sym):
            return "products, packing"
        return "products, threads"
    if dso.startswith("[JIT]"):
        return "compiled kernels"
    if "memset" in sym:
        return "products, C zeroed"
    if dso.startswith("[kernel") or "sched_yield" in sym:
        return "waiting (OS)"
    if PYTHON.search(dso):
        return "Python"
    return "other: " + os.path.basename(dso)


def shares(report: str) -> dict[str, float]:
    """{kind: % of the samples} from ``perf report --stdio --no-children --sort dso,sym``."""
    out: dict[str, float] = {}
    for line in report.splitlines():
        m = LINE.match(line)
        if m:
            k = kind_of(m.group(2), m.group(4))
            out[k] = out.get(k, 0.0) + float(m.group(1))
    return out


def _args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", default="mnist,wide", help="comma-separated config names")
    ap.add_argument("--runners", default="ffnn,limit,jax scan", help="comma-separated runners")
    ap.add_argument("--seconds", type=float, default=10.0, help="profiled seconds per runner")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n", type=int, default=20_000, help="examples per epoch")
    args = ap.parse_args()
    for name in args.configs.split(","):
        if name not in CONFIGS:
            ap.error(f"unknown config {name!r} (choose from {', '.join(CONFIGS)})")
    for r in args.runners.split(","):
        if r not in RUNNERS:
            ap.error(f"unknown runner {r!r} (choose from {', '.join(RUNNERS)})")
    return args


def profile(runner: str, name: str, args, tmp: str) -> tuple[dict[str, float], float, int]:
    """(kinds' shares, median epoch seconds, epochs) of one runner under perf."""
    w = Worker(runner, name, args.n, args.threads)
    data = os.path.join(tmp, "perf.data")
    try:
        w.ask("epoch")  # a second warm epoch, unprofiled
        perf = subprocess.Popen(
            ["perf", "record", "-q", "-e", "cpu-clock", "-F", "1999", "-p", str(w.proc.pid),
             "-o", data],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        time.sleep(0.3)  # perf attached
        times, t0 = [], time.perf_counter()
        while time.perf_counter() - t0 < args.seconds or not times:
            times.append(w.ask("epoch")["t"])
        perf.send_signal(signal.SIGINT)
        _, err = perf.communicate(timeout=60)
        if perf.returncode not in (0, -signal.SIGINT):
            raise RuntimeError(f"perf record failed: {err.strip()[-300:]}")
    finally:
        w.close()
    rep = subprocess.run(
        ["perf", "report", "-i", data, "--stdio", "--no-children", "--sort", "dso,sym",
         "-g", "none", "--percent-limit", "0"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    times.sort()
    return shares(rep), times[len(times) // 2], len(times)


def table(name: str, cols: dict[str, tuple[dict[str, float], float, int]]) -> str:
    """The kinds of work (rows) by runner (columns), % of each runner's samples."""
    extra = sorted({k for s, _, _ in cols.values() for k in s if k not in KINDS},
                   key=lambda k: -max(s.get(k, 0.0) for s, _, _ in cols.values()))  # fmt: skip
    lines = [f"{name:6s} {'':30s}" + "".join(f"{r:>11s}" for r in cols)]
    for k in (*KINDS, *extra):
        vals = [s.get(k, 0.0) for s, _, _ in cols.values()]
        if k in KINDS[:-1] or max(vals) >= 0.5:
            lines.append(f"{'':6s} {k[:30]:30s}" + "".join(f"{v:10.1f}%" for v in vals))
    times = "".join(f"{t:11.3f}" for _, t, _ in cols.values())
    lines.append(f"{'':6s} {'epoch (s, median)':30s}{times}")
    counts = "".join(f"{e:11d}" for *_, e in cols.values())
    lines.append(f"{'':6s} {'epochs profiled':30s}{counts}")
    return "\n".join(lines)


def main() -> None:
    args = _args()
    if shutil.which("perf") is None:
        sys.exit("profile_train: Linux perf is not installed (Debian: apt-get install linux-perf)")
    print(
        f"perf cpu-clock samples at 1999 Hz, {args.seconds:g} s of back-to-back epochs per "
        f"runner, {args.threads} threads, n = {args.n:,}; % of each process's samples"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.configs.split(","):
            cols = {r: profile(r, name, args, tmp) for r in args.runners.split(",")}
            print(table(name, cols), flush=True)


if __name__ == "__main__":
    main()
