"""The ``ffnn`` command line: parse, call the library, print.

    ffnn train [DATA] [options]     train a network (default: digits, 64-256-10 ReLU, Adam)
    ffnn predict MODEL DATA [-o F]  predictions of a saved model on a data file or data set
    ffnn evaluate MODEL DATA        loss and accuracy / R² of a saved model
    ffnn info MODEL [--n N]         layers, widths, parameter count p, cost of one iteration
    ffnn datasets                   the built-in data sets
    ffnn diagnose ...               diagnose a run (see ffnn diagnose --help)
    ffnn lab NAME [--set K=V] [--seed N] [--params] | --list   the lab's experiments
    ffnn demo                       one forward and backward pass, with a gradient check
    ffnn playground                 the browser playground (see ffnn playground --help)
    ffnn sweep SPEC.toml            a grid of runs on local processes or Dask (ffnn sweep --help)

One module per sub-command (its ``add_parser`` and its ``run``); a training run itself is
:mod:`ffnn.runs`. A user's mistake ends with one line ``ffnn: error: ...`` on stderr and exit
status 2 (no traceback); Ctrl-C during training saves the model trained so far and exits with
130. Every file is written atomically (a temporary file, then ``os.replace``).
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings

from ffnn.cli import datasets, demo, evaluate, info, lab, predict, train
from ffnn.cli._args import EXIT_ERROR, EXIT_INTERNAL, EXIT_INTERRUPTED, _Parser
from ffnn.cli._print import one_line
from ffnn.errors import FFNNError
from ffnn.runs import MODEL_FILE, cost

__all__ = [
    "EXIT_ERROR",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "MODEL_FILE",
    "build_parser",
    "cost",
    "main",
]


def _diagnose(sub) -> None:
    from ffnn.diagnosis.command import add_parser

    add_parser(sub)


def _playground(sub) -> None:
    from ffnn.playground.cli import add_parser

    add_parser(sub)


def _sweep(sub) -> None:
    from ffnn.sweep.cli import add_parser

    add_parser(sub)


# each adds its sub-command's parser, in the order of ffnn --help
SUBCOMMANDS = (
    train.add_parser, predict.add_parser, evaluate.add_parser, info.add_parser,
    datasets.add_parser, _diagnose, lab.add_parser, demo.add_parser, _playground, _sweep,
)  # fmt: skip


def build_parser() -> _Parser:
    """The ``ffnn`` parser: each sub-command's module adds its own."""
    p = _Parser(
        prog="ffnn",
        description="Feed-forward neural networks with explicit backpropagation.",
        epilog="Start with: ffnn train   (digits, ≥ 97% test accuracy in seconds)",
    )
    from ffnn import __version__

    p.add_argument("--version", action="version", version=f"ffnn {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add_parser in SUBCOMMANDS:
        add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (never raises, never a traceback).

    0: done; 2: a user's mistake, a file that cannot be read, or a resource the machine cannot
    give (one line ``ffnn: error: ...``); 70: a bug in ffnn (one line asking for a report;
    ``FFNN_DEBUG=1`` shows the traceback); 130: interrupted by Ctrl-C."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # --help, or a usage error already printed on one line
        return int(e.code or 0) if not isinstance(e.code, str) else EXIT_ERROR
    try:
        with warnings.catch_warnings():  # restores showwarning afterwards
            warnings.showwarning = _show_warning
            return args.func(args)
    except BrokenPipeError:  # e.g. `ffnn predict ... | head`: the reader left, nothing to say
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("ffnn: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as e:
        if os.environ.get("FFNN_DEBUG"):
            raise
        status, line = _error_line(e)
        print(line, file=sys.stderr)
        return status


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning raised while a command runs: one line ``ffnn: warning: ...`` on stderr (not
    Python's two lines with the source)."""
    print(f"ffnn: warning: {one_line(message)}", file=sys.stderr if file is None else file)


def _error_line(e: Exception) -> tuple[int, str]:
    """(exit status, the one line to print) for an exception that ended a command."""
    if isinstance(e, FFNNError):
        return EXIT_ERROR, f"ffnn: error: {one_line(e)}"
    if isinstance(e, MemoryError):
        what = one_line(e) or "an allocation failed"
        return EXIT_ERROR, (
            f"ffnn: error: not enough memory: {what}; use a smaller network (--hidden), fewer "
            "examples (--n) or smaller batches (--batch-size), or a machine with more memory"
        )
    if isinstance(e, OSError):  # a file we could not read or write
        where = f": {e.filename}" if getattr(e, "filename", None) else ""
        return EXIT_ERROR, f"ffnn: error: {e.strerror or one_line(e)}{where}"
    return EXIT_INTERNAL, (
        f"ffnn: internal error: {type(e).__name__}: {one_line(e)} -- this is a bug in ffnn; "
        "please report it with the command you ran (FFNN_DEBUG=1 for the traceback)"
    )


if __name__ == "__main__":
    sys.exit(main())
