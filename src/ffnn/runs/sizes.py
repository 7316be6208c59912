"""Size a run before allocating it: the network's parameters and the synthetic data's rows,
against the memory the machine can give (or a limit the caller sets).

A network of widths n_0, …, n_{L+1} has p = Σ_l (n_{l-1} + 1) n_l parameters. Training it holds
about six θ-sized arrays (θ, its gradient, the optimizer's two moment estimates, the best θ kept
for early stopping, the bytes of the model file) and, per row of a batch, z, x and δ of every
layer (3 Σ_l n_l numbers). The figures are estimates, not measurements: they are used to refuse
what cannot fit, with the numbers, before numpy is asked for the memory.
"""

from __future__ import annotations

from ffnn.errors import FFNNError
from ffnn.limits import ENV_MAX_BYTES, available_memory, memory_limit, parse_size

__all__ = [
    "ENV_MAX_BYTES",
    "available_memory",
    "check_network",
    "check_rows",
    "human",
    "limit_bytes",
    "n_params",
    "network_bytes",
    "parse_size",
]

THETA_COPIES = 6
_EVAL_ROWS = 8192  # forward_chunks' chunk: rows evaluated at once after training


def human(n_bytes: float) -> str:
    """1.5 GiB, 728 TiB, 12 kB-style figures (binary units)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n_bytes) < 1024 or unit == "PiB":
            return f"{n_bytes:.3g} {unit}"
        n_bytes /= 1024
    return f"{n_bytes:.3g} PiB"  # pragma: no cover


def limit_bytes(max_memory: float | None) -> float | None:
    """The limit a run is held to: ``max_memory`` bytes if given (math.inf: no limit), else
    :func:`ffnn.limits.memory_limit` ($FFNN_MAX_BYTES, e.g. 8G, else half of what the machine
    can give now)."""
    return memory_limit() if max_memory is None else max_memory


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
