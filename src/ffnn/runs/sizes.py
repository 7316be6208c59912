"""Size a run before allocating it: the network's parameters and the synthetic data's rows,
against the memory the machine can give (or a limit the caller sets).

A network of widths n_0, …, n_{L+1} has p = Σ_l (n_{l-1} + 1) n_l parameters. Training it holds
about six θ-sized arrays (θ, its gradient, the optimizer's two moment estimates, the best θ kept
for early stopping, the bytes of the model file) and, per row of a batch, z, x and δ of every
layer (3 Σ_l n_l numbers). The figures are estimates, not measurements: they are used to refuse
what cannot fit, with the numbers, before numpy is asked for the memory.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from ffnn.errors import FFNNError

THETA_COPIES = 6
_EVAL_ROWS = 8192  # forward_chunks' chunk: rows evaluated at once after training


def human(n_bytes: float) -> str:
    """1.5 GiB, 728 TiB, 12 kB-style figures (binary units)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n_bytes) < 1024 or unit == "PiB":
            return f"{n_bytes:.3g} {unit}"
        n_bytes /= 1024
    return f"{n_bytes:.3g} PiB"  # pragma: no cover


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


ENV_MAX_BYTES = "FFNN_MAX_BYTES"  # the variable ffnn.limits reads (branch reliability)


def limit_bytes(max_memory: float | None) -> float | None:
    """The limit a run is held to: ``max_memory`` bytes if given (math.inf: no limit), else
    $FFNN_MAX_BYTES (e.g. 8G), else half of what the machine can give now (None: unknown)."""
    if max_memory is not None:
        return max_memory
    env = os.environ.get(ENV_MAX_BYTES)
    if env:
        try:
            return parse_size(env)
        except ValueError as e:
            raise FFNNError(f"{ENV_MAX_BYTES}: {e}") from None
    room = available_memory()
    return None if room is None else room / 2


def n_params(widths: list[int]) -> int:
    """p = Σ_l (n_{l-1} + 1) n_l: the weights W^(l) and biases b^(l) of an MLP."""
    return sum((a + 1) * b for a, b in zip(widths[:-1], widths[1:], strict=False))


def network_bytes(widths: list[int], itemsize: int, rows: int) -> int:
    """About what training the MLP of these widths holds: THETA_COPIES θ-sized arrays and z, x,
    δ of every layer for ``rows`` rows at once."""
    return THETA_COPIES * n_params(widths) * itemsize + 3 * rows * sum(widths[1:]) * itemsize


def _check(need: int, limit: float | None, what: str, fix: str) -> None:
    if limit is None or need <= limit:
        return
    raise FFNNError(
        f"{what} needs about {human(need)} of memory, beyond the limit of {human(limit)} (half "
        f"the memory available, or --max-memory / ${ENV_MAX_BYTES}); {fix}"
    )


def check_network(
    widths: list[int], itemsize: int, batch_size: int | None, n_train: int, limit: float | None
) -> None:
    """Refuse (FFNNError, with the figures) a network whose training would not fit in ``limit``
    bytes."""
    rows = min(batch_size or n_train, n_train)
    rows = max(rows, min(n_train, _EVAL_ROWS))
    need = network_bytes(widths, itemsize, rows)
    p = n_params(widths)
    _check(
        need, limit, f"training the network of widths {widths} (p = {p:,} parameters)",
        "choose smaller --hidden widths" + ("" if batch_size is None else " or --batch-size"),
    )  # fmt: skip


def check_rows(n: int, n_features: int, limit: float | None, name: str) -> None:
    """Refuse generating ``n`` rows of ``n_features`` float64 features (and the target) that
    would not fit: the generator's arrays, the split's copies and the standardized inputs hold
    about four times the data."""
    need = 4 * n * (n_features + 1) * 8
    _check(need, limit, f"{name} with --n {n:,} examples", "choose a smaller --n")


def parse_size(text: str) -> float:
    """'16G', '512M', '2.5GiB', '1e9' (bytes) or 'off' (no limit) -> bytes."""
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
