"""The summary of a finished (or partly finished) sweep: a text table and a figure."""

from __future__ import annotations

from ffnn.errors import FFNNError
from ffnn.sweep.summary import default_metric, format_summary, plot_metric, summarize

__all__ = ["report"]


def report(result, metric: str | None = None, x: str | None = None, ax=None):
    """(text, Axes): mean ± SE over seeds of each metric per swept combination, and ``metric``
    against swept parameter ``x`` (defaults: the spec's metric and x, else test accuracy or R²
    against the first swept parameter). The figure is drawn on ``ax`` or a new Figure."""
    spec, rows = result.spec, result.rows
    swept = spec.swept
    metrics = result.metrics
    metric = metric or spec.metric or default_metric(metrics)
    if metric not in metrics:
        raise FFNNError(f"no metric {metric!r} in the table; it has {', '.join(metrics)}")
    x = x or spec.x or (swept[0] if swept else "seed")
    if x not in (*swept, "seed"):
        raise FFNNError(f"{x!r} is not a swept parameter; swept: {', '.join(swept) or 'none'}")
    summary = summarize(rows, swept, metrics)
    shown = [metric] + [m for m in metrics if m != metric and m.startswith("test_")][:3]
    text = format_summary(summary, swept, shown)
    if x == "seed":  # each seed a point: one line per swept combination
        by = [*swept, "seed"]
        ax = plot_metric(summarize(rows, by, metrics), metric, x, by, ax=ax)
    else:
        ax = plot_metric(summary, metric, x, swept, ax=ax)
    ax.set_title(f"{spec.name}: {len(rows)} cells, {len(spec.seeds)} seeds each", fontsize="medium")
    return text, ax
