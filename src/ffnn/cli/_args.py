"""Argument types of the command line: a bad number is a user's mistake, said in one line."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

EXIT_ERROR, EXIT_INTERRUPTED = 2, 130
EXIT_INTERNAL = 70  # sysexits.h EX_SOFTWARE: a bug in ffnn, not the user's mistake


def _number(text: str, kind=float) -> float:
    try:
        v = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return v


def _checked(name: str, parse: Callable[[str], float], ok: Callable[[float], bool], must: str):
    """An argument type ``name``: ``parse`` the text, then refuse it unless ``ok`` ("must …")."""

    def check(text: str):
        v = parse(text)
        if not ok(v):
            raise argparse.ArgumentTypeError(f"must {must}, got {text}")
        return v

    check.__name__ = check.__qualname__ = name
    return check


positive_float = _checked("positive_float", _number, lambda v: v > 0, "be > 0")
nonneg_float = _checked("nonneg_float", _number, lambda v: v >= 0, "be >= 0")
fraction = _checked("fraction", _number, lambda v: 0 < v < 1, "lie strictly between 0 and 1")
fraction_or_zero = _checked(
    "fraction_or_zero", _number, lambda v: 0 <= v < 1, "lie in [0, 1) (0: none)"
)


def _whole(text: str) -> int:
    """A whole number: 300, 2e9, 10^8 (not 1.5, not nan)."""
    t = text.strip().replace("_", "")
    base, caret, exp = t.partition("^")
    try:
        if caret:
            b, e = int(base), int(exp)
            if e < 0 or e > 64:
                raise ValueError
            return b**e
        return int(t)
    except ValueError:
        pass
    v = _number(text)
    if v != int(v) or abs(v) > 2**63:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text}")
    return int(v)


positive_int = _checked("positive_int", _whole, lambda v: v >= 1, "be a whole number >= 1")
nonneg_int = _checked("nonneg_int", _whole, lambda v: v >= 0, "be a whole number >= 0")


def threads(text: str) -> str:
    if text == "auto":
        return text
    return str(positive_int(text))


def batch_size(text: str) -> int | None:
    if text.lower() in ("full", "none", "all"):
        return None
    return positive_int(text)


def widths(text: str) -> list[int]:
    """``"256"``, ``"128,64"``, ``"1e4"``; ``"none"``, ``"-"`` or ``""`` for no hidden layer (a
    linear model). A width 0 is refused: it would silently mean a linear model."""
    if text.strip().lower() in ("", "none", "-"):
        return []
    out = []
    for part in text.replace("x", ",").split(","):
        try:
            w = _whole(part)
        except argparse.ArgumentTypeError:
            w = -1
        if w < 1:
            zero = " (0 is no layer: for a linear model give --hidden none)" if w == 0 else ""
            raise argparse.ArgumentTypeError(
                f"hidden widths are positive whole numbers separated by commas, e.g. 128,64; "
                f"got {text!r}{zero}"
            )
        out.append(w)
    return out


def size(text: str) -> float:
    """A memory size: 16G, 512M, 2.5GiB, a number of bytes, or off (no limit)."""
    from ffnn.limits import parse_size

    try:
        return parse_size(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def columns(text: str) -> tuple[str, ...]:
    """Comma-separated column names: ``id,date``."""
    names = tuple(c.strip() for c in text.split(",") if c.strip())
    if not names:
        raise argparse.ArgumentTypeError(f"give column names separated by commas, got {text!r}")
    return names


def separator(text: str) -> str:
    """One character between CSV fields; ``\\t`` or ``tab`` for a tab."""
    t = {"\\t": "\t", "tab": "\t", "comma": ",", "semicolon": ";", "space": " "}.get(text, text)
    if len(t) != 1 or t in '"\r\n':
        raise argparse.ArgumentTypeError(f"give one character such as ';' or tab, got {text!r}")
    return t


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line on stderr: ``ffnn: error: ...``."""

    def error(self, message: str):
        cmd = self.prog.split(" ", 1)[1] + " " if " " in self.prog else ""
        self.exit(EXIT_ERROR, f"ffnn: error: {message} (see: ffnn {cmd}--help)\n")
