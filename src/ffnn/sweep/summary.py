"""A sweep's summary: each metric's mean ± standard error over seeds, per combination of the
swept parameters, and a figure of one metric against one swept parameter (seeds as error bars).

    SE = s / sqrt(k),   s² = 1/(k-1) Σ_j (m_j - m̄)²   over the k seeds of a combination
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ffnn.errors import FFNNError

__all__ = ["summarize", "format_summary", "plot_metric", "default_metric", "metric_names"]


_META = {"key", "seed", "wall_s", "attempts", "worker", "status", "error", "n_params"}


def metric_names(records) -> list[str]:
    """The numeric metrics the cells' records report (booleans such as ``agrees`` count)."""
    names: list[str] = []
    for r in records:
        for k, v in (r.get("metrics") or {}).items():
            if k not in names and k not in _META and isinstance(v, (int, float)):
                names.append(k)
    return names


def _hashable(v):
    return tuple(v) if isinstance(v, list) else v


def summarize(rows: Sequence[dict], swept: Sequence[str], metrics: Sequence[str]) -> list[dict]:
    """One row per combination of the swept values: n seeds, and mean / se of each metric."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        if r.get("status") == "ok":
            groups.setdefault(tuple(_hashable(r.get(k)) for k in swept), []).append(r)
    out = []
    for combo, members in groups.items():
        row = dict(zip(swept, combo, strict=False))
        row["n_seeds"] = len(members)
        for m in metrics:
            v = np.array([float(r[m]) for r in members if isinstance(r.get(m), (int, float))])
            v = v[np.isfinite(v)]
            row[m] = float(v.mean()) if len(v) else math.nan
            row[f"{m}_se"] = float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else math.nan
        out.append(row)
    return out


def default_metric(metrics: Sequence[str]) -> str:
    """test_accuracy, test_r2, agrees, or else the first metric."""
    for m in ("test_accuracy", "test_r2", "agrees"):
        if m in metrics:
            return m
    if not metrics:
        raise FFNNError("the cells report no numeric metric to summarize")
    return metrics[0]


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, tuple):
        return ",".join(map(str, v)) or "none"
    return str(v)


def format_summary(summary: Sequence[dict], swept: Sequence[str], metrics: Sequence[str]) -> str:
    """A fixed-width table: the swept values, n seeds, then mean ± se of each metric."""
    head = [*swept, "seeds", *metrics]
    body = []
    for row in summary:
        cells = [_fmt(row[k]) for k in swept] + [str(row["n_seeds"])]
        for m in metrics:
            mean, se = row.get(m, math.nan), row.get(f"{m}_se", math.nan)
            cells.append(f"{mean:.4g}" + ("" if math.isnan(se) else f" ± {se:.2g}"))
        body.append(cells)
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(head, widths, strict=False))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(b, widths, strict=False)) for b in body]
    return "\n".join(lines)


def plot_metric(summary: Sequence[dict], metric: str, x: str, swept: Sequence[str], ax=None):
    """``metric`` (mean ± SE over seeds) against swept parameter ``x``; one line for each
    combination of the other swept parameters. Returns the Axes (a new Figure's if ax is None)."""
    if ax is None:
        from matplotlib.figure import Figure

        ax = Figure(figsize=(6, 4), layout="constrained").add_subplot()
    others = [k for k in swept if k != x]
    xs = sorted({r[x] for r in summary}, key=lambda v: (isinstance(v, tuple), v))
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in xs)
    lines: dict[tuple, list[dict]] = {}
    for r in summary:
        lines.setdefault(tuple(r[k] for k in others), []).append(r)
    try:
        order = sorted(lines)
    except TypeError:  # values of mixed types
        order = sorted(lines, key=str)
    for combo in order:
        members = lines[combo]
        members = sorted(members, key=lambda r: xs.index(r[x]))
        pos = [r[x] if numeric else xs.index(r[x]) for r in members]
        se = [r.get(f"{metric}_se", math.nan) for r in members]
        se = [0.0 if math.isnan(e) else e for e in se]
        label = ", ".join(f"{k}={_fmt(v)}" for k, v in zip(others, combo, strict=False)) or None
        ax.errorbar(pos, [r[metric] for r in members], yerr=se, marker="o", capsize=3, label=label)
    if numeric and len(xs) > 2 and min(xs) > 0 and max(xs) / min(xs) >= 20:
        ax.set_xscale("log")
        ax.set_xticks(xs, [_fmt(v) for v in xs])
        ax.minorticks_off()
    if not numeric:
        ax.set_xticks(range(len(xs)), [_fmt(v) for v in xs])
    ax.set_xlabel(x)
    ax.set_ylabel(f"{metric} (mean ± SE over seeds)")
    ax.grid(True, alpha=0.3)
    if others:
        ax.legend(fontsize="small")
    return ax
