"""Experiment: narrow networks get stuck in bad local minima, wide ones do not (notes 002, 004)."""

from __future__ import annotations

import numpy as np

from ffnn.lab._registry import Experiment, Param, register
from ffnn.lab.minima import restarts, stuck_fraction


def _width_row(w, runs, best):
    """Summary of the restarts of one width; ``best`` is the best loss any width reached."""
    losses = np.array([r.loss for r in runs])
    best_w = float(losses.min())
    stuck = [r for r in runs if r.loss > 2 * best_w + 1e-3]
    local = [
        r
        for r in stuck
        if r.lambda_min is not None and r.lambda_min > -1e-3 * max(r.lambda_max, 1e-12)
    ]
    return {
        "width": w,
        "params": 3 * w + 1,
        "restarts": len(runs),
        "best_loss": best_w,
        "median_loss": float(np.median(losses)),
        "worst_loss": float(losses.max()),
        "stuck_fraction": stuck_fraction(losses, best_w),
        "fraction_above_0.01": float(np.mean(losses > 0.01)),
        "stuck_at_no_negative_curvature": len(local) if runs[0].lambda_min is not None else None,
        "max_grad_norm_of_stuck": max((r.grad_norm for r in stuck), default=0.0),
        "worst_over_global_best": float(losses.max() - best),
    }


@register
class LocalMinima(Experiment):
    """1-w-1 tanh networks on y = sin(2x), x ∈ [-3, 3]; full-batch Adam (cosine), many seeds."""

    name = "local-minima"
    claim = (
        "restarts of a narrow network end at a spread of training losses, many stuck far above "
        "the best (bad local minima); with enough width every restart reaches the same "
        "near-zero loss"
    )
    params = (
        Param("widths", list[int], (2, 3, 4, 8, 32, 128), (2, 32), "hidden widths, narrow first"),
        Param("restarts", int, 25, 8, "seeds per width"),
        Param("epochs", int, 3000, 2000, "full-batch Adam epochs per run"),
        Param("lr", float, 0.01, help="Adam learning rate (cosine schedule)"),
    )

    def measure(self, p, seed, progress):
        X = np.linspace(-3, 3, 40)[:, None]
        y = np.sin(2 * X[:, 0])
        res = []
        for w in progress(p.widths, "widths"):
            res += restarts(
                X, y, [w], n_restarts=p.restarts, epochs=p.epochs, lr=p.lr, first_seed=seed
            )
        best = min(r.loss for r in res)  # the best fit any network found
        rows = [_width_row(w, [r for r in res if r.width == w], best) for w in p.widths]
        return {
            "rows": rows,
            "results": res,
            "widths": p.widths,
            "restarts": p.restarts,
            "epochs": p.epochs,
        }

    def verdict(self, data):
        rows = data["rows"]
        narrow, wide = rows[0], rows[-1]
        ok = narrow["stuck_fraction"] >= 0.2 and wide["fraction_above_0.01"] == 0.0
        ok &= wide["worst_loss"] < 0.01 and narrow["median_loss"] > 10 * wide["worst_loss"]
        summary = ", ".join(
            f"width {r['width']}: {100 * r['stuck_fraction']:.0f}% stuck above its best, "
            f"{100 * r['fraction_above_0.01']:.0f}% above 0.01, median loss "
            f"{r['median_loss']:.2g}"
            for r in rows
        )
        if narrow["stuck_at_no_negative_curvature"] is not None:
            summary += (
                f"; of the stuck width-{narrow['width']} runs "
                f"{narrow['stuck_at_no_negative_curvature']} sit where the Hessian has no "
                "negative eigenvalue (local minima, not saddles)"
            )
        tol = "narrowest: ≥ 20% stuck; widest: every loss < 0.01; narrow median > 10 × wide worst"
        return bool(ok), summary, tol

    def figure(self, data, fig):
        rows, res, widths = data["rows"], data["results"], data["widths"]
        ax = fig.subplots(1, 2)
        losses = [np.maximum([r.loss for r in res if r.width == w], 1e-8) for w in widths]
        ax[0].boxplot(losses, tick_labels=[str(w) for w in widths])
        for i, d in enumerate(losses):
            jitter = np.random.default_rng(i).uniform(-0.15, 0.15, len(d))
            ax[0].plot(np.full(len(d), i + 1) + jitter, d, "k.", ms=4, alpha=0.6)
        ax[0].set(
            yscale="log",
            xlabel="hidden width w",
            ylabel="final training loss",
            title=f"{data['restarts']} restarts per width (full-batch Adam, cosine, "
            f"{data['epochs']} epochs)",
        )
        xs = np.arange(len(widths))
        ax[1].bar(
            xs - 0.2,
            [r["stuck_fraction"] for r in rows],
            0.4,
            color="C3",
            label="stuck: loss > 2 × best of that width + 1e-3",
        )
        ax[1].bar(
            xs + 0.2,
            [r["fraction_above_0.01"] for r in rows],
            0.4,
            color="C0",
            label="not fitted: loss > 0.01",
        )
        ax[1].set_xticks(xs, [str(w) for w in widths])
        ax[1].set(xlabel="hidden width w", ylabel="fraction of restarts", ylim=(0, 1.05))
        ax[1].legend(fontsize=7)
