"""Size limits: what a file or a request may ask the machine for, checked before allocating.

A model file, a data file or a synthetic data set declares (or implies) a size before anything is
read or built. :func:`check_bytes` compares that figure with :func:`memory_limit` and raises
:class:`~ffnn.errors.FFNNError` with both figures when it does not fit, instead of letting NumPy
ask the operating system for 728 TiB.

The limit is, in order: the ``limit`` argument of the calling function, the environment variable
``FFNN_MAX_BYTES`` (bytes; suffixes K, M, G, T accepted: ``FFNN_MAX_BYTES=8G``), or half the
memory the machine reports available (``MemAvailable`` of ``/proc/meminfo``; else half of the
physical memory; else 4 GiB).
"""

from __future__ import annotations

import os

from ffnn.errors import FFNNError

__all__ = ["memory_limit", "check_bytes", "format_bytes", "ENV_MAX_BYTES"]

ENV_MAX_BYTES = "FFNN_MAX_BYTES"
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def format_bytes(n: float) -> str:
    """``format_bytes(3 * 2**30) == '3.0 GiB'``."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} EiB"  # pragma: no cover


def _parse(text: str) -> int:
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = t[-1:] if t[-1:] in _UNITS and t[-1:] else ""
    try:
        value = float(t[: len(t) - len(unit)] if unit else t)
    except ValueError:
        raise FFNNError(
            f"{ENV_MAX_BYTES}={text!r} is not a size; write bytes or a number with K, M, G or T "
            "(e.g. 8G)"
        ) from None
    if not value > 0:
        raise FFNNError(f"{ENV_MAX_BYTES}={text!r} must be a positive size")
    return int(value * _UNITS[unit])


def _available() -> int:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


def memory_limit(limit: int | None = None) -> int:
    """The most bytes one file or request may ask for (see the module's docstring)."""
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
            raise FFNNError(f"a size limit must be a positive number of bytes, got {limit!r}")
        return limit
    env = os.environ.get(ENV_MAX_BYTES)
    if env:
        return _parse(env)
    return _available() // 2


def check_bytes(need: int, what: str, fix: str, limit: int | None = None) -> None:
    """Raise FFNNError when ``need`` bytes exceed :func:`memory_limit` (``limit`` overrides)."""
    cap = memory_limit(limit)
    if need > cap:
        raise FFNNError(
            f"{what} needs {format_bytes(need)}, beyond the limit of {format_bytes(cap)} "
            f"(half the memory available, or {ENV_MAX_BYTES} / limit=); {fix}"
        )
