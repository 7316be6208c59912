"""Figures of the lab experiments on Matplotlib's object API (no pyplot, no backend switch)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def new_figure(figsize: tuple[float, float]):
    """A ``matplotlib.figure.Figure`` that draws without a display and leaves the backend alone."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize)


def save(fig, out_dir: Path, name: str) -> Path:
    """Write the figure as out_dir/name.png."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def colors(n: int, cmap: str = "viridis") -> list:
    """n colours evenly spaced along a named colormap."""
    from matplotlib import colormaps

    return [colormaps[cmap](t) for t in np.linspace(0, 1, max(n, 2))[:n]]


def loglog_slope(x, y) -> float:
    """Least-squares slope of log y against log x."""
    return float(np.polyfit(np.log(np.asarray(x, float)), np.log(np.asarray(y, float)), 1)[0])
