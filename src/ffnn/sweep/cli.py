"""``ffnn sweep SPEC.toml``: run a grid of cells, keep each as it finishes, print the outcome."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_parser", "run"]

EXIT_ERROR, EXIT_INTERRUPTED = 2, 130


def _count(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``sweep`` sub-command to the command line's sub-parsers."""
    p = subparsers.add_parser(
        "sweep",
        help="run a grid of training runs or lab experiments (local processes or Dask)",
        description="Run every cell of a sweep spec (TOML: [sweep], [fixed], [grid], [random]) "
        "not yet finished in the sweep folder. Each finished cell is kept at once; a rerun "
        "skips them. Local processes by default; Dask needs: pip install 'ffnn[dask]'.",
    )
    p.add_argument("spec", help="the sweep spec, a .toml file")
    p.add_argument("-o", "--out", help="sweep folder (default sweeps/<spec name>)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--jobs", "-j", type=_count, help="local worker processes (default: cores)")
    g.add_argument("--scheduler", help="a Dask scheduler's address, e.g. tcp://HOST:8786")
    g.add_argument("--dask-local", type=_count, metavar="N", help="start a Dask LocalCluster")
    p.add_argument("--retry-failed", action="store_true", help="run failed cells again")
    p.add_argument("--summary", action="store_true", help="print mean ± SE over seeds; plot")
    p.add_argument("--metric", help="the metric to plot (default: test accuracy / R²)")
    p.add_argument("--x", help="the swept parameter to plot against")
    p.add_argument("--progress", dest="progress", action="store_const", const=True, default=None)
    p.add_argument("--no-progress", dest="progress", action="store_const", const=False)
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from ffnn.sweep.runner import sweep

    res = sweep(
        args.spec,
        args.out,
        jobs=args.jobs,
        scheduler=args.scheduler,
        dask_local=args.dask_local,
        retry_failed=args.retry_failed,
        progress=args.progress,
    )
    print(
        f"sweep    {res.n_cells} cells: {res.n_run} run on {res.backend}, {res.n_skipped} "
        f"already finished, {res.n_failed} failed, {res.n_retried} retried ({res.seconds:.1f} s)"
    )
    for r in res.rows:
        if r["status"] != "ok":
            print(f"failed   {r['key']}: {r['error']}", file=sys.stderr)
    if res.files:
        print("table    " + ", ".join(str(f) for f in res.files))
    if args.summary and res.rows:
        _summary(res, args)
    if res.interrupted:
        print(
            f"ffnn: interrupted; {len(res.rows)} finished cells kept in {res.out} "
            "(run the same command again to go on)",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    return 0


def _summary(res, args) -> None:
    from ffnn.io import atomic_write_bytes
    from ffnn.sweep.report import report

    text, ax = report(res, args.metric, args.x)
    print("\n" + text)
    png = Path(res.out) / "summary.png"
    import io

    buf = io.BytesIO()
    ax.figure.savefig(buf, format="png", dpi=110)
    atomic_write_bytes(png, buf.getvalue())
    print(f"\nfigure   {png}")
