"""Size limits: what a file or a request may ask the machine for, checked before allocating.

A model file, a data file or a synthetic data set declares (or implies) a size before anything is
read or built. :func:`check_bytes` compares that figure with :func:`memory_limit` and raises
:class:`~ffnn.errors.FFNNError` with both figures when it does not fit, instead of letting NumPy
ask the operating system for 728 TiB.

The limit is, in order: the ``limit`` argument of the calling function, the environment variable
``FFNN_MAX_BYTES`` (bytes; suffixes K, M, G, T accepted: ``FFNN_MAX_BYTES=8G``; ``off``: no
limit), or half the memory the machine can give now (:func:`available_memory`: ``MemAvailable``
of ``/proc/meminfo``, else the free physical pages, capped by a cgroup's limit; else 4 GiB).
The training runs of :mod:`ffnn.runs` are held to the same limit (``--max-memory`` first).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from ffnn.errors import FFNNError

__all__ = [
    "memory_limit",
    "check_bytes",
    "format_bytes",
    "parse_size",
    "available_memory",
    "env_limit",
    "ENV_MAX_BYTES",
]

ENV_MAX_BYTES = "FFNN_MAX_BYTES"


def format_bytes(n: float) -> str:
    """``format_bytes(3 * 2**30) == '3.0 GiB'``."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} EiB"  # pragma: no cover


def parse_size(text: str) -> float:
    """'16G', '512M', '2.5GiB', '1e9' (bytes) or 'off' (no limit: math.inf) -> bytes; ValueError
    on anything else."""
    t = text.strip().lower().removesuffix("ib").removesuffix("b")
    if t in ("off", "none", "inf", "unlimited"):
        return math.inf
    scale = {"k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}.get(t[-1:], 1)
    number = t[:-1] if scale != 1 else t
    try:
        v = float(number) * scale
    except ValueError:
        raise ValueError(f"{text!r} is not a size such as 16G, 512M or off") from None
    if not v > 0 or not math.isfinite(v):
        raise ValueError(f"{text!r} is not a size such as 16G, 512M or off")
    return v


def _cgroup_room() -> int | None:
    """What a cgroup v2 memory limit leaves (memory.max − memory.current), where one is set."""
    base = Path("/sys/fs/cgroup")
    try:
        limit = (base / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return max(int(limit) - int((base / "memory.current").read_text()), 0)
    except (OSError, ValueError):
        return None


def available_memory() -> int | None:
    """Bytes the machine can give now: MemAvailable (Linux) or the free physical pages, capped by
    a cgroup's limit; None where neither is known."""
    room = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                room = int(line.split()[1]) * 1024
                break
    except (OSError, ValueError, IndexError):
        pass
    if room is None:
        try:
            room = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError):
            room = None
    cg = _cgroup_room()
    if cg is not None:
        room = cg if room is None else min(room, cg)
    return room


def env_limit() -> float | None:
    """$FFNN_MAX_BYTES in bytes (math.inf for 'off'), None when unset; FFNNError if not a size."""
    env = os.environ.get(ENV_MAX_BYTES)
    if not env:
        return None
    try:
        return parse_size(env)
    except ValueError as e:
        raise FFNNError(f"{ENV_MAX_BYTES}: {e}") from None


def memory_limit(limit: int | None = None) -> float:
    """The most bytes one file or request may ask for (see the module's docstring)."""
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
            raise FFNNError(f"a size limit must be a positive number of bytes, got {limit!r}")
        return limit
    env = env_limit()
    if env is not None:
        return env if math.isinf(env) else int(env)
    room = available_memory()
    return 4 * 2**30 if room is None else room // 2


def check_bytes(need: int, what: str, fix: str, limit: int | None = None) -> None:
    """Raise FFNNError when ``need`` bytes exceed :func:`memory_limit` (``limit`` overrides)."""
    cap = memory_limit(limit)
    if need > cap:
        raise FFNNError(
            f"{what} needs {format_bytes(need)}, beyond the limit of {format_bytes(cap)} "
            f"(half the memory available, or {ENV_MAX_BYTES} / limit=); {fix}"
        )
