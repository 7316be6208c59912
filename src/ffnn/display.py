"""Rich display in Jupyter: HTML for a Network and a History, and the notebook progress bar.

Nothing here imports IPython or Matplotlib at import time, so the library stays importable (and
fast to import) without them. :func:`network_html` is ``Network._repr_html_``: a table with one
row per node (layer, output shape, parameters; the inputs of each node for a DAG), and for a
graph that is not a chain, a small SVG drawing of it. :func:`history_html` is
``History._repr_html_``: why the run stopped, an SVG sketch of the loss curves, and the first
and last epochs as a table. :func:`progress_bar` is the bar ``fit`` shows.
"""

from __future__ import annotations

import html
import math
import sys
import warnings

__all__ = ["in_notebook", "progress_bar", "network_html", "history_html"]

_STYLE = (
    "<style>.ffnn-table{border-collapse:collapse;font-size:0.9em;margin:0.3em 0}"
    ".ffnn-table th,.ffnn-table td{padding:2px 10px;text-align:right;"
    "border-bottom:1px solid #ddd}.ffnn-table th{font-weight:600}"
    ".ffnn-table td.l,.ffnn-table th.l{text-align:left}</style>"
)


def in_notebook() -> bool:
    """True inside a Jupyter kernel (an IPython kernel app), False in a terminal or script."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # an IPython too broken to ask counts as no notebook
        return False
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def progress_bar(**kwargs):
    """A ``tqdm.auto`` bar: a widget in a notebook with ipywidgets, text on stderr otherwise.

    ``tqdm.auto`` warns once when a notebook lacks ipywidgets and then falls back to the text
    bar; that warning is silenced here, because the text bar is a fine progress bar too.
    """
    from tqdm import TqdmWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TqdmWarning)
        from tqdm.auto import tqdm
    return tqdm(**kwargs)


# --- Network -----------------------------------------------------------------------------------
def _kind(node) -> str:
    from ffnn.core.layers import Act

    if node.layer is None:
        return "Input"
    if isinstance(node.layer, Act):
        return f"Act({node.layer.activation.name})"
    return type(node.layer).__name__


def network_html(net) -> str:
    """The summary table of ``net`` (and an SVG of its graph when it is not a chain)."""
    from ffnn.core.layers import Dense

    chain = net.is_chain
    head = "<tr><th class='l'>node</th><th class='l'>layer</th><th>output shape</th>"
    head += "<th>parameters</th>" + ("" if chain else "<th class='l'>inputs</th>") + "</tr>"
    rows, seen = [], set()
    for node, parents in zip(net.nodes, net._parents, strict=True):
        layer = node.layer
        shared = isinstance(layer, Dense) and id(layer) in seen
        p = layer.n_params if isinstance(layer, Dense) and not shared else 0
        seen.add(id(layer))
        count = f"{p:,}" + (" (shared)" if shared else "")
        cells = [
            f"<td class='l'>{html.escape(node.name)}</td>",
            f"<td class='l'>{html.escape(_kind(node))}</td>",
            f"<td>(batch, {node.dim})</td>",
            f"<td>{count}</td>",
        ]
        if not chain:
            names = ", ".join(html.escape(net.nodes[i].name) for i in parents)
            cells.append(f"<td class='l'>{names}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    title = (
        f"<b>Network</b> widths {net.widths}, output φ_out = {html.escape(net.output.name)}, "
        f"p = {net.n_params:,} parameters, {net.dtype.name}"
    )
    table = f"<table class='ffnn-table'>{head}{''.join(rows)}</table>"
    drawing = "" if chain else graph_svg(net)
    return f"<div class='ffnn-network'>{_STYLE}<div>{title}</div>{table}{drawing}</div>"


def _boxes(net) -> tuple[list[int], list[str]]:
    """Drawn boxes: each node's box index (an activation joins the Dense layer it follows when
    it is that layer's only reader) and each box's label."""
    from ffnn.core.layers import Act

    calls: dict[int, int] = {}
    for node in net.nodes:
        calls[id(node.layer)] = calls.get(id(node.layer), 0) + 1
    box_of, labels = [], []
    for i, node in enumerate(net.nodes):
        parents = net._parents[i]
        if (
            isinstance(node.layer, Act)
            and len(parents) == 1
            and len(net._consumers[parents[0]]) == 1
            and net.nodes[parents[0]].layer is not None
        ):
            box = box_of[parents[0]]
            labels[box] += f" · {node.layer.activation.name}"
        else:
            box = len(labels)
            kind = "Input" if node.layer is None else type(node.layer).__name__
            shared = f" [{node.layer.name}]" if calls[id(node.layer)] > 1 else ""
            labels.append(f"{kind} {node.dim}{shared}")
        box_of.append(box)
    return box_of, labels


def graph_svg(net, *, dy: int = 40) -> str:
    """A small left-to-right SVG drawing of the graph: a box per layer, a line per edge.

    Boxes sit in columns by their longest distance from the input; an edge that skips columns
    is drawn as an arc above them; a layer called more than once shows its name in brackets on
    each of its boxes. The drawing scales down to the width it is shown in.
    """
    box_of, labels = _boxes(net)
    dx = 26 + max(60, max(round(6.3 * len(label)) + 14 for label in labels))
    n = len(labels)
    edges = sorted(
        {(box_of[p], box_of[i]) for i, ps in enumerate(net._parents) for p in ps}
        - {(b, b) for b in range(n)}
    )
    col = [0] * n
    for a, b in edges:  # boxes are in topological order, so one pass suffices
        col[b] = max(col[b], col[a] + 1)
    row, used = [0] * n, {}
    for b in range(n):
        row[b] = used.get(col[b], 0)
        used[col[b]] = row[b] + 1
    bw, bh, top = (
        dx - 26,
        dy - 14,
        10 + 12 * max((col[b] - col[a] - 1 for a, b in edges), default=0),
    )
    xy = [(10 + c * dx, top + r * dy) for c, r in zip(col, row, strict=True)]
    parts = []
    for a, b in edges:
        (x0, y0), (x1, y1) = xy[a], xy[b]
        span = col[b] - col[a]
        if span <= 1 or y0 != y1:
            d = f"M{x0 + bw},{y0 + bh / 2} L{x1},{y1 + bh / 2}"
        else:  # an arc over the boxes it skips
            xa, xb, lift = x0 + bw / 2, x1 + bw / 2, y0 - 12 * span
            d = f"M{xa},{y0} C{xa},{lift} {xb},{lift} {xb},{y1}"
        parts.append(f"<path d='{d}' fill='none' stroke='#888' marker-end='url(#ffnn-arrow)'/>")
    for label, (x, y) in zip(labels, xy, strict=True):
        parts.append(
            f"<rect x='{x}' y='{y}' width='{bw}' height='{bh}' rx='4' fill='#eef3fb' "
            f"stroke='#4a6fa5'/><text x='{x + bw / 2}' y='{y + bh / 2 + 4}' font-size='11' "
            f"text-anchor='middle' font-family='sans-serif'>{html.escape(label)}</text>"
        )
    w, h = 10 + (max(col) + 1) * dx, top + max(used.values()) * dy
    marker = (
        "<defs><marker id='ffnn-arrow' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='6' "
        "markerHeight='6' orient='auto'><path d='M0,0 L10,5 L0,10 z' fill='#888'/></marker></defs>"
    )
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {w} {h}' width='100%' "
        f"style='max-width:{w}px' role='img' aria-label='graph of the network'>"
        f"{marker}{''.join(parts)}</svg>"
    )


# --- History -----------------------------------------------------------------------------------
def _finite(values) -> list[tuple[int, float]]:
    return [
        (i, float(v))
        for i, v in enumerate(values)
        if isinstance(v, int | float) and math.isfinite(v) and v > 0
    ]


def loss_svg(history, *, width: int = 320, height: int = 120) -> str:
    """An SVG sketch of train_loss (and val_loss) against the epoch, on a log scale."""
    curves = [
        (k, c) for k, c in (("train_loss", "#1f77b4"), ("val_loss", "#ff7f0e")) if k in history
    ]
    points = {k: _finite(history[k]) for k, _ in curves}
    logs = [math.log10(v) for pts in points.values() for _, v in pts]
    if not logs or len(history) < 2:
        return ""
    lo, hi = min(logs), max(logs)
    hi = hi if hi > lo else lo + 1
    n, pad = len(history) - 1, 6

    def xy(i: int, v: float) -> str:
        x = pad + (width - 2 * pad) * i / n
        y = pad + (height - 2 * pad) * (hi - math.log10(v)) / (hi - lo)
        return f"{x:.1f},{y:.1f}"

    lines = [
        f"<polyline fill='none' stroke='{color}' stroke-width='1.5' "
        f"points='{' '.join(xy(i, v) for i, v in points[k])}'><title>{k}</title></polyline>"
        for k, color in curves
    ]
    legend = " ".join(f"<tspan fill='{c}'>{k}</tspan>" for k, c in curves)
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height + 16}' "
        f"role='img' aria-label='loss curves'><rect x='0' y='0' width='{width}' "
        f"height='{height}' fill='none' stroke='#ddd'/>{''.join(lines)}"
        f"<text x='{pad}' y='{height + 13}' font-size='11' font-family='sans-serif'>{legend}"
        f" (log scale; {10**hi:.3g} to {10**lo:.3g})</text></svg>"
    )


def _cell(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "" if v is None else html.escape(str(v))


def history_html(history, *, head: int = 3, tail: int = 5) -> str:
    """Why the run stopped, a loss sketch, and the first and last epochs as a table."""
    cols = history.columns
    recs = history.records
    shown = recs if len(recs) <= head + tail else recs[:head] + [None] + recs[-tail:]
    rows = []
    for r in shown:
        if r is None:
            rows.append(f"<tr><td colspan='{len(cols)}'>⋮</td></tr>")
        else:
            rows.append("<tr>" + "".join(f"<td>{_cell(r.get(c))}</td>" for c in cols) + "</tr>")
    header = "<tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in cols) + "</tr>"
    best = "" if history.best_epoch is None else f", lowest loss at epoch {history.best_epoch}"
    title = (
        f"<b>History</b>: {history.epochs} epochs, stop reason "
        f"<code>{html.escape(history.stop_reason or '—')}</code>{best}"
    )
    message = f"<div>{html.escape(history.message)}</div>" if history.message else ""
    table = f"<table class='ffnn-table'>{header}{''.join(rows)}</table>" if recs else ""
    return (
        f"<div class='ffnn-history'>{_STYLE}<div>{title}</div>{message}"
        f"{loss_svg(history)}{table}</div>"
    )
