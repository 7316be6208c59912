"""Figures on Matplotlib's object API: every function takes an optional ``ax`` and returns it.

Nothing here calls ``matplotlib.use``: the user's backend is never switched. Given ``ax``, a
function draws into it. Without one it makes a new Axes: managed by pyplot when pyplot is in use
(it is imported, or this is a notebook), so the figure shows inline or on ``plt.show()``; a bare
:class:`matplotlib.figure.Figure` otherwise (a script saves it with ``ax.figure.savefig``).

* :func:`plot_history` — loss and metric curves of a :class:`~ffnn.train.History` per epoch;
  :func:`history_figure` puts the loss and each metric side by side.
* :func:`plot_boundary` — the decision regions (classification) or the surface f(x)
  (regression) of a network on 2-D inputs, with the data points.
* :func:`plot_distributions` — per layer, histograms of z^(l), x^(l) or δ^(l) from a Trace.
* :func:`plot_saturation` — per hidden layer, the share of σ'(z) ≈ 0 and of dead units.
* :class:`LivePlot` — a ``fit`` callback that redraws the loss curves in place in a notebook.
* :func:`save_run_figures` — a training run's ``loss.png`` (loss and metrics side by side) and,
  for 2-D inputs, ``boundary.png`` (what ``ffnn train`` writes).
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable, Sequence

import numpy as np

from ffnn.errors import FFNNError

__all__ = [
    "plot_history",
    "history_figure",
    "plot_boundary",
    "plot_distributions",
    "plot_saturation",
    "LivePlot",
    "save_run_figures",
    "boundary_figure",
]


def _axes(ax, figsize=(6.0, 4.0)):
    """``ax`` itself, or a new Axes (pyplot's when pyplot is in use, else a bare Figure's)."""
    if ax is not None:
        return ax
    from ffnn.display import in_notebook

    if "matplotlib.pyplot" in sys.modules or in_notebook():
        import matplotlib.pyplot as plt  # the user's backend, as configured: nothing switched

        return plt.figure(figsize=figsize, layout="constrained").add_subplot()
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained").add_subplot()


# --- history -----------------------------------------------------------------------------------
def _columns(history, metrics) -> list[str]:
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    cols = []
    for m in names:
        pair = [c for c in (f"train_{m}", f"val_{m}") if c in history]
        if pair:
            cols += pair
        elif m in history:
            cols.append(m)
        else:
            raise FFNNError(
                f"the history has no column for {m!r}; it has {history.columns} (name a column, "
                "or a metric recorded as train_<m> / val_<m>)"
            )
    return cols


def _series(history, key: str) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in history[key]], dtype=float)


def plot_history(
    history,
    ax=None,
    metrics: str | Sequence[str] = "loss",
    *,
    log: bool | None = None,
    label: str | None = None,
    mark_best: bool = True,
):
    """Draw per-epoch columns of a History against the epoch; return the Axes.

    Parameters
    ----------
    history : a :class:`~ffnn.train.History` (``fit``'s result, or ``History.from_json``).
    ax : the Axes to draw into; None makes one (see the module's note).
    metrics : a metric name ("loss", "accuracy", "r2": its ``train_`` and ``val_`` columns) or any
        column ("grad_norm", "lr", "saturation_1"), or a list of them, all drawn on this Axes.
    log : log scale on y; by default when every value drawn is positive and one of them is a
        loss.
    label : a prefix for the legend ("GD" gives "GD: train loss"), to compare runs on one Axes.
    mark_best : draw a line at ``history.best_epoch`` (the lowest validation loss) when
        validation columns are drawn.

    Returns
    -------
    matplotlib.axes.Axes, with one line per column and the restored best epoch marked.

    Examples
    --------
    >>> ax = plot_history(hist)                        # train_loss and val_loss
    >>> plot_history(hist, metrics="accuracy")         # train_accuracy and val_accuracy
    """
    if len(history) == 0:
        raise FFNNError("the history is empty: train for at least one epoch before plotting")
    cols = _columns(history, metrics)
    ax = _axes(ax)
    epochs = _series(history, "epoch") if "epoch" in history else np.arange(1, len(history) + 1)
    values = {c: _series(history, c) for c in cols}
    for c, v in values.items():
        name = c.replace("train_", "train ").replace("val_", "validation ")
        ax.plot(epochs, v, label=name if label is None else f"{label}: {name}")
    if mark_best and history.best_epoch is not None and any(c.startswith("val_") for c in cols):
        ax.axvline(history.best_epoch, color="gray", ls="--", lw=1, label="best epoch")
    every = np.concatenate([v[np.isfinite(v)] for v in values.values()])
    if log is None:
        log = any("loss" in c for c in cols) and every.size > 0 and bool(np.all(every > 0))
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    ax.set_ylabel("loss L(θ)" if names == ["loss"] else ", ".join(names))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return ax


def history_figure(history, metrics: Sequence[str] | None = None, *, title: str = ""):
    """A Figure with the loss and each metric side by side (one Axes each); return the Figure.

    ``metrics`` defaults to every metric the history recorded as ``train_<m>`` (besides the loss).
    Always a bare :class:`matplotlib.figure.Figure` (for writing files; nothing is shown).
    """
    from matplotlib.figure import Figure

    if metrics is None:
        metrics = [
            c[len("train_") :]
            for c in history.columns
            if c.startswith("train_") and c != "train_loss"
        ]
    panels = ["loss", *metrics]
    fig = Figure(figsize=(5.0 * len(panels), 4.0), layout="constrained")
    for ax, m in zip(np.atleast_1d(fig.subplots(1, len(panels))), panels, strict=True):
        plot_history(history, ax, m)
        ax.set_title(m)
    if title:
        fig.suptitle(title)
    return fig


def _write_png(fig, path) -> None:
    from ffnn.io import atomic_write_bytes

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    atomic_write_bytes(path, buf.getvalue())


def save_run_figures(
    out_dir, history, net=None, X=None, y=None, preprocess=None, *, title: str = ""
) -> list[str]:
    """Write a run's figures into ``out_dir`` (atomically); return the file names written.

    ``loss.png``: :func:`history_figure` — the loss and every recorded metric (accuracy, R²)
    side by side, per epoch (nothing when the history is empty). ``boundary.png``: when X has
    two columns, :func:`plot_boundary` of ``net`` over X: (n, 2) with the labels or targets y,
    ``preprocess`` mapping X to the network's inputs (a Preprocessor or a function).
    """
    from pathlib import Path

    out, files = Path(out_dir), []
    out.mkdir(parents=True, exist_ok=True)
    if len(history):
        _write_png(history_figure(history, title=title), out / "loss.png")
        files.append("loss.png")
    if net is not None and X is not None and np.ndim(X) == 2 and np.shape(X)[1] == 2:
        _write_png(boundary_figure(net, X, y, preprocess, title=title), out / "boundary.png")
        files.append("boundary.png")
    return files


def boundary_figure(net, X, y=None, preprocess=None, *, title: str = ""):
    """A bare Figure holding :func:`plot_boundary` of ``net`` over X: (n, 2) (for files)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.0, 5.0), layout="constrained")
    ax = plot_boundary(net, X, y, fig.add_subplot(), preprocess=preprocess)
    if title:
        ax.set_title(title)
    return fig


# --- decision boundary / surface ---------------------------------------------------------------
def _preprocess(preprocess) -> tuple[Callable, object]:
    """(inputs -> network inputs, the Preprocessor or None)."""
    if preprocess is None:
        return (lambda A: A), None
    if hasattr(preprocess, "transform_X"):
        return preprocess.transform_X, preprocess
    if callable(preprocess):
        return preprocess, None
    raise FFNNError(
        "preprocess must be a fitted ffnn.data.Preprocessor or a function X -> network inputs"
    )


def _grid(X: np.ndarray, resolution: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.08 * np.maximum(hi - lo, 1e-9)
    g0 = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    g1 = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    G0, G1 = np.meshgrid(g0, g1)
    return G0, G1, np.column_stack([G0.ravel(), G1.ravel()])


def _class_index(y, pre) -> np.ndarray:
    y = np.asarray(y)
    if pre is not None and getattr(pre, "task", None) == "classification":
        return pre.encode_y(y)
    if np.issubdtype(y.dtype, np.integer):
        return y.astype(np.int64)
    return np.unique(y, return_inverse=True)[1]


def plot_boundary(
    net, X, y=None, ax=None, preprocess=None, *, resolution: int = 200, cmap: str | None = None
):
    """The decision regions or regression surface of ``net`` over 2-D inputs, with the points.

    Parameters
    ----------
    net : a :class:`~ffnn.core.Network` with 2 inputs (after ``preprocess``).
    X : (n, 2) inputs as the user has them; they set the plotted range and are drawn as points.
    y : (n,) labels (class indices, or any labels when ``preprocess`` is a Preprocessor) or
        regression targets; None draws the points without colour.
    ax : the Axes to draw into; None makes one.
    preprocess : a fitted :class:`~ffnn.data.Preprocessor` (its ``transform_X`` maps the grid to
        the network's inputs; its ``decode`` maps regression outputs back to target units), or a
        function X -> network inputs; None when the network takes X as it is.
    resolution : grid points per axis (resolution² forward passes, in one batch).

    Classification (softmax, or one sigmoid output): each grid point is coloured by the
    predicted class, faded where the network is unsure (the largest probability), with the
    boundary between classes drawn as a line. Regression (one identity output): the surface
    f(x) as filled contours with a colour bar, the points coloured by their targets.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> X, y = ffnn.data.moons(400, noise=0.2, rng=0)  # doctest: +SKIP
    >>> net = ffnn.mlp([2, 32, 2], "tanh", output="softmax"); ffnn.fit(net, X, y, "cross_entropy")
    >>> ax = plot_boundary(net, X, y)
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2:
        raise FFNNError(f"plot_boundary draws 2-D inputs: X must be (n, 2), got {X.shape}")
    to_net, pre = _preprocess(preprocess)
    G0, G1, grid = _grid(X, resolution)
    f = np.asarray(net(to_net(grid)), dtype=float)
    ax = _axes(ax, (5.5, 4.5))
    out = net.output.name
    if out == "softmax" or (out == "sigmoid" and f.shape[1] == 1):
        _draw_classes(ax, G0, G1, f, X, y, pre, cmap or "tab10")
    elif f.shape[1] == 1:
        _draw_surface(ax, G0, G1, f, X, y, pre, cmap or "viridis")
    else:
        raise FFNNError(
            f"plot_boundary draws classifiers (softmax or one sigmoid output) or one regression "
            f"output; this network has {f.shape[1]} {out} outputs"
        )
    ax.set_xlim(G0.min(), G0.max())
    ax.set_ylim(G1.min(), G1.max())
    ax.set_xlabel(_feature_name(pre, 0))
    ax.set_ylabel(_feature_name(pre, 1))
    return ax


def _feature_name(pre, i: int) -> str:
    names = getattr(pre, "feature_names", None) or []
    return names[i] if len(names) > i else f"x_{i + 1}"


def _draw_classes(ax, G0, G1, f, X, y, pre, cmap):
    import matplotlib as mpl

    if f.shape[1] == 1:  # one sigmoid output: p(class 1)
        f = np.column_stack([1 - f[:, 0], f[:, 0]])
    k = f.shape[1]
    colors = mpl.colormaps[cmap](np.arange(k) % 10)
    cls = f.argmax(axis=1)
    sure = (f.max(axis=1) - 1 / k) / (1 - 1 / k)  # 0 at a tie of all k, 1 when certain
    rgb = colors[cls, :3] * (0.35 + 0.3 * sure[:, None]) + (0.65 - 0.3 * sure[:, None])
    ax.imshow(
        rgb.reshape(*G0.shape, 3),
        origin="lower",
        extent=(G0.min(), G0.max(), G1.min(), G1.max()),
        aspect="auto",
        interpolation="bilinear",
    )
    ax.contour(G0, G1, cls.reshape(G0.shape), levels=np.arange(k) + 0.5, colors="k", linewidths=0.8)
    if y is None:
        ax.scatter(X[:, 0], X[:, 1], s=12, c="k")
        return
    idx = _class_index(y, pre)
    labels = getattr(pre, "classes", None) or list(range(k))
    for c in range(k):
        m = idx == c
        if m.any():
            ax.scatter(
                X[m, 0],
                X[m, 1],
                s=14,
                color=colors[c],
                edgecolors="k",
                linewidths=0.4,
                label=str(labels[c]) if c < len(labels) else str(c),
            )
    ax.legend(loc="best", fontsize="small", title="class")


def _draw_surface(ax, G0, G1, f, X, y, pre, cmap):
    values = f
    if pre is not None and getattr(pre, "task", None) == "regression":
        values = np.asarray(pre.decode(f), dtype=float).reshape(-1, 1)
    V = values[:, 0].reshape(G0.shape)
    lo, hi = float(V.min()), float(V.max())
    if y is not None:
        yv = np.asarray(y, dtype=float).reshape(-1)
        lo, hi = min(lo, float(yv.min())), max(hi, float(yv.max()))
    from matplotlib.ticker import MaxNLocator

    levels = MaxNLocator(20).tick_values(lo, hi if hi > lo else lo + 1)
    cs = ax.contourf(G0, G1, V, levels=levels, cmap=cmap)
    ax.figure.colorbar(cs, ax=ax, label="f(x)")
    if y is None:
        ax.scatter(X[:, 0], X[:, 1], s=12, c="k")
    else:
        ax.scatter(
            X[:, 0],
            X[:, 1],
            s=14,
            c=yv,
            cmap=cmap,
            vmin=lo,
            vmax=hi,
            edgecolors="k",
            linewidths=0.4,
        )


# --- inside the network ------------------------------------------------------------------------
_WHICH = {
    "z": "z^(l) = W^(l) x^(l-1) + b^(l)",
    "x": "x^(l) = σ(z^(l))",
    "delta": "δ^(l) = ∂L/∂z^(l)",
}


def plot_distributions(trace, ax=None, which: str = "z", *, bins: int = 60, layers=None):
    """Histograms, one per layer, of the entries of z^(l), x^(l) or δ^(l) in a Trace.

    Parameters
    ----------
    trace : a :class:`~ffnn.core.Trace` from ``z, trace = net.forward(X)``; for ``"delta"``,
        after ``net.backward(trace, delta)`` (which fills ``trace.delta``).
    which : "z" (every Dense output, the last one is z^(L+1)), "x" (the hidden activations
        x^(1) … x^(L)) or "delta" (δ^(l), same layers as z).
    bins : bins of each histogram (shared by the layers, so their shapes compare).
    layers : 1-based layer numbers to draw (default all).

    Returns
    -------
    matplotlib.axes.Axes, with densities (each histogram integrates to one).
    """
    if which == "z":
        arrays = trace.z
    elif which == "x":
        arrays = trace.x[1:]
    elif which == "delta":
        arrays = trace.delta
        if not arrays:
            raise FFNNError("trace.delta is empty: run net.backward(trace, delta) first")
    else:
        raise FFNNError(f"which must be 'z', 'x' or 'delta', got {which!r}")
    if not arrays:
        raise FFNNError(f"the network has no {which} layers to draw")
    chosen = list(range(1, len(arrays) + 1)) if layers is None else list(layers)
    for l in chosen:
        if not 1 <= l <= len(arrays):
            raise FFNNError(f"layer {l} out of range: the trace has {which} for 1..{len(arrays)}")
    ax = _axes(ax)
    flat = [np.asarray(arrays[l - 1], dtype=float).ravel() for l in chosen]
    allv = np.concatenate(flat)
    lo, hi = np.percentile(allv, [0.5, 99.5]) if allv.size else (0.0, 1.0)
    edges = np.linspace(lo, hi if hi > lo else lo + 1, bins + 1)
    for l, v in zip(chosen, flat, strict=True):
        ax.hist(v, bins=edges, density=True, histtype="step", lw=1.3, label=f"layer {l}")
    ax.set_xlabel(_WHICH[which])
    ax.set_ylabel("density")
    ax.legend(fontsize="small")
    return ax


def plot_saturation(net, X, ax=None, *, threshold: float = 1e-2):
    """Bars per hidden layer: the share of saturated (example, unit) pairs and of dead units.

    Saturated means σ'(z) < threshold · max σ' (see :func:`ffnn.lab.saturation.saturation`);
    dead means saturated on every example of X: (n, n_0). Returns the Axes.
    """
    from ffnn.lab.saturation import saturation

    stats = saturation(net, X, threshold=threshold)
    if not stats:
        raise FFNNError("the network has no hidden activation layers to measure")
    ax = _axes(ax)
    pos = np.arange(1, len(stats) + 1)
    ax.bar(pos - 0.2, [s.fraction for s in stats], 0.4, label="saturated pairs")
    ax.bar(pos + 0.2, [s.dead for s in stats], 0.4, label="dead units")
    ax.set_xticks(pos, [f"{l}\n{s.activation}" for l, s in zip(pos, stats, strict=True)])
    ax.set_ylim(0, 1)
    ax.set_xlabel("hidden layer l")
    ax.set_ylabel(f"share with σ'(z) < {threshold:g}·max σ'")
    ax.legend(fontsize="small")
    return ax


# --- live plot ---------------------------------------------------------------------------------
class LivePlot:
    """A ``fit`` callback that draws the loss curves and redraws them in place while training.

    In a notebook the figure is one output, updated through an IPython display handle at most
    every ``interval`` seconds, and once more when the cell finishes (so the last epoch is
    drawn). Outside a notebook it only keeps the records; ``LivePlot.figure()`` draws them.

    >>> ffnn.fit(net, X, y, "cross_entropy", epochs=200, validation=0.2,
    ...          callbacks=[ffnn.plot.LivePlot()])                   # doctest: +SKIP
    """

    def __init__(self, metrics: str | Sequence[str] = "loss", *, interval: float = 0.5):
        from ffnn.train import History

        self.metrics, self.interval = metrics, float(interval)
        self.history = History()
        self._handle = None
        self._last = -float("inf")
        self._hooked = False

    def __call__(self, net, epoch: int, logs: dict) -> None:
        from ffnn.display import in_notebook

        self.history.append({"epoch": epoch, **logs})
        if in_notebook() and time.perf_counter() - self._last >= self.interval:
            self.draw()
        return None

    def figure(self):
        """A bare Figure of the records so far (``plot_history`` on its one Axes)."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6.0, 3.6), layout="constrained")
        plot_history(self.history, fig.add_subplot(), self.metrics)
        return fig

    def draw(self) -> None:
        """Render the records into this plot's display output now (made on first use)."""
        self._render()
        self._hook()

    def _render(self) -> None:
        from IPython.display import Image, display

        buf = io.BytesIO()
        self.figure().savefig(buf, format="png", dpi=90)
        image = Image(data=buf.getvalue(), format="png")
        if self._handle is None:
            self._handle = display(image, display_id=True)
        else:
            self._handle.update(image)
        self._last = time.perf_counter()

    def _hook(self) -> None:
        """Redraw once when the cell ends, so that the final epoch is always shown."""
        from IPython import get_ipython

        shell = get_ipython()
        if shell is None or self._hooked:
            return

        def final(*_):
            shell.events.unregister("post_execute", final)
            self._hooked = False
            self._render()

        shell.events.register("post_execute", final)
        self._hooked = True
