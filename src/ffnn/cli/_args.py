"""Argument types of the command line: a bad number is a user's mistake, said in one line."""

from __future__ import annotations

import argparse
import math

EXIT_ERROR, EXIT_INTERRUPTED = 2, 130


def _number(text: str, kind=float) -> float:
    try:
        v = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return v


def positive_float(text: str) -> float:
    v = _number(text)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return v


def nonneg_float(text: str) -> float:
    v = _number(text)
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return v


def fraction(text: str) -> float:
    v = _number(text)
    if not 0 < v < 1:
        raise argparse.ArgumentTypeError(f"must lie strictly between 0 and 1, got {text}")
    return v


def fraction_or_zero(text: str) -> float:
    v = _number(text)
    if not 0 <= v < 1:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1) (0: none), got {text}")
    return v


def positive_int(text: str) -> int:
    v = _number(text, int)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text}")
    return v


def nonneg_int(text: str) -> int:
    v = _number(text, int)
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text}")
    return v


def threads(text: str) -> str:
    if text == "auto":
        return text
    return str(positive_int(text))


def batch_size(text: str) -> int | None:
    if text.lower() in ("full", "none", "all"):
        return None
    return positive_int(text)


def widths(text: str) -> list[int]:
    """``"256"``, ``"128,64"``; ``"none"`` or ``""`` for no hidden layer (a linear model)."""
    if text.strip().lower() in ("", "none", "0", "-"):
        return []
    out = []
    for part in text.replace("x", ",").split(","):
        part = part.strip()
        if not part.isdigit() or int(part) < 1:
            raise argparse.ArgumentTypeError(
                f"hidden widths are positive whole numbers separated by commas, e.g. 128,64; "
                f"got {text!r}"
            )
        out.append(int(part))
    return out


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line on stderr: ``ffnn: error: ...``."""

    def error(self, message: str):
        cmd = self.prog.split(" ", 1)[1] + " " if " " in self.prog else ""
        self.exit(EXIT_ERROR, f"ffnn: error: {message} (see: ffnn {cmd}--help)\n")
