"""Experiment: convex with no hidden layer, non-convex with one (notes 001, 003: GD → OPT)."""

from __future__ import annotations

import numpy as np

import ffnn
from ffnn.lab._registry import Experiment, Param, register
from ffnn.lab.convexity import curvature_at_points, gd_from_starts

_LINEAR = (("mse", "identity"), ("binary_cross_entropy", "sigmoid"))


def _linear_data(n: int, d: int, rng):
    """Gaussian X: (n, d); a noisy linear regression target and noisy (non-separable) labels."""
    X = rng.standard_normal((n, d))
    w = np.linspace(1, -1, d)
    y = X @ w + 0.5 * rng.standard_normal(n)
    yb = (X @ w + rng.standard_normal(n) > 0).astype(float)[:, None]
    return X, {"mse": y, "binary_cross_entropy": yb}


@register
class Convexity(Experiment):
    """No hidden layer (MSE, cross-entropy) against a 1-2-1 tanh network on y = sin(2x)."""

    name = "convexity"
    claim = (
        "with no hidden layer the loss Hessian is positive semi-definite at every point (MSE and "
        "cross-entropy) and GD from every start ends at the same loss; with one hidden layer "
        "negative curvature appears and different starts end at different losses, while the "
        "output layer's block of the Hessian stays positive semi-definite"
    )
    params = (
        Param("points", int, 30, 10, "random parameter points per model"),
        Param("scale", float, 3.0, help="the points are the init times this scale"),
        Param("starts", int, 6, 4, "GD starts per model"),
        Param("steps", int, 400, help="GD steps with no hidden layer"),
        Param("hidden_steps", int, 12000, 6000, "GD steps with one hidden layer"),
        Param("width", int, 2, help="hidden width of the non-convex model"),
    )
    figsize = (13, 4.2)

    def measure(self, p, seed, progress):
        rng = np.random.default_rng(seed)
        X, ys = _linear_data(60, 3, rng)
        models, paths, rows = {}, {}, []
        for loss, out in progress(_LINEAR, "no hidden layer"):
            net = ffnn.mlp([3, 1], output=out, dtype=np.float64)
            models[loss] = curvature_at_points(net, X, ys[loss], loss, p.points, rng, scale=p.scale)
            make = lambda s, out=out: ffnn.mlp([3, 1], output=out, rng=s, dtype=np.float64)  # noqa: E731
            lr = 0.3 if loss == "mse" else 2.0
            seeds = [seed * 100 + s for s in range(p.starts)]
            paths[loss] = gd_from_starts(make, X, ys[loss], loss, seeds, lr=lr, steps=p.steps)
        Xs = np.linspace(-3, 3, 40)[:, None]
        ys_ = np.sin(2 * Xs[:, 0])
        net = ffnn.mlp([1, p.width, 1], "tanh", dtype=np.float64)
        models["hidden"] = curvature_at_points(net, Xs, ys_, "mse", p.points, rng)
        make = lambda s: ffnn.mlp([1, p.width, 1], "tanh", rng=s, dtype=np.float64)  # noqa: E731
        seeds = [seed * 100 + s for s in range(p.starts)]
        paths["hidden"] = gd_from_starts(make, Xs, ys_, "mse", seeds, lr=0.05, steps=p.hidden_steps)
        for model, pts in models.items():
            rows += [{"model": model, "kind": "point", **r} for r in pts]
        for model, runs in paths.items():
            rows += [
                {"model": model, "kind": "gd end", **{k: v for k, v in r.items() if k != "path"}}
                for r in runs
            ]
        return {"rows": rows, "models": models, "paths": paths, "p": p}

    def verdict(self, data):
        models, paths = data["models"], data["paths"]
        psd = {m: all(r["lambda_min"] >= -r["floor"] for r in models[m]) for m, _ in _LINEAR}
        spread = {m: np.ptp([r["loss"] for r in paths[m]]) for m in paths}
        slack = {
            m: 2 * max(r["bound"] for r in paths[m])
            + 64 * np.finfo(float).eps * paths[m][0]["loss"]
            for m, _ in _LINEAR
        }
        same = {m: spread[m] <= slack[m] for m, _ in _LINEAR}
        neg = sum(r["lambda_min"] < -100 * r["floor"] for r in models["hidden"])
        out_psd = all(r["out_min"] >= -r["floor"] for r in models["hidden"])
        stuck_slack = 100 * max(r["last_decrease"] for r in paths["hidden"])
        differ = spread["hidden"] > max(stuck_slack, 0)
        ok = all(psd.values()) and all(same.values()) and neg > 0 and out_psd and differ
        n_pts = len(models["hidden"])
        summary = (
            "no hidden layer: min over points of λ_min/floor = "
            + ", ".join(
                f"{m} {min(r['lambda_min'] / r['floor'] for r in models[m]):.3g}"
                for m, _ in _LINEAR
            )
            + "; GD end-loss spread "
            + ", ".join(f"{m} {spread[m]:.1e} (allowed {slack[m]:.1e})" for m, _ in _LINEAR)
            + f"; one hidden layer: λ_min < 0 at {neg} of {n_pts} points (most negative "
            f"{min(r['lambda_min'] for r in models['hidden']):.3g}), output block λ_min ≥ "
            f"{min(r['out_min'] for r in models['hidden']):.2e}; GD end losses "
            + ", ".join(f"{r['loss']:.4f}" for r in paths["hidden"])
            + f" (spread {spread['hidden']:.3g}, still to gain ≲ {stuck_slack:.2g})"
        )
        tol = (
            "PSD: λ_min ≥ −p·ε·max|λ| (eigvalsh roundoff); same optimum: spread ≤ 2 max ‖∇L‖²/(2μ) "
            "+ 64 ε L (strong convexity bound + roundoff); negative curvature: λ_min < −100 p ε "
            "max|λ|; different ends: spread > 100 × the loss lost over the last tenth of the steps"
        )
        return ok, summary, tol

    def figure(self, data, fig):
        models, paths, p = data["models"], data["paths"], data["p"]
        ax = fig.subplots(1, 3)
        labels = {
            "mse": "no hidden, MSE",
            "binary_cross_entropy": "no hidden, cross-entropy",
            "hidden": f"1-{p.width}-1 tanh, full H",
        }
        for i, m in enumerate(labels):
            lam = np.array([r["lambda_min"] / max(r["lambda_max"], 1e-300) for r in models[m]])
            ax[0].plot(np.full(lam.size, i) + np.linspace(-0.2, 0.2, lam.size), lam, "o", ms=3)
        out = [r["out_min"] / max(r["out_max"], 1e-300) for r in models["hidden"]]
        ax[0].plot(np.full(len(out), 3) + np.linspace(-0.2, 0.2, len(out)), out, "o", ms=3)
        ax[0].axhline(0, color="k", lw=0.8)
        ax[0].set_xticks(range(4), [*labels.values(), "output block only"], rotation=15, fontsize=7)
        ax[0].set_yscale("symlog", linthresh=1e-2)
        ax[0].set(ylabel="λ_min / λ_max of H (symlog)", title=f"{p.points} random θ each")
        for m, style in (("mse", "-"), ("binary_cross_entropy", "--")):
            best = min(r["loss"] for r in paths[m])
            for r in paths[m]:
                ax[1].plot(np.maximum(r["path"] - best, 1e-17), style, lw=1)
        ax[1].axhline(1e-17, color="gray", lw=0.6)
        ax[1].set(
            yscale="log",
            xlabel="GD step t",
            ylabel="L(θ_t) − L* (L* = best end loss)",
            title="no hidden layer: solid MSE, dashed cross-entropy",
        )
        for r in paths["hidden"]:
            ax[2].plot(np.arange(len(r["path"])), r["path"], lw=1)
        ax[2].set(
            xscale="log",
            yscale="log",
            xlabel="GD step t",
            ylabel="training loss L(θ_t)",
            title=f"1-{p.width}-1 tanh on sin(2x): {len(paths['hidden'])} starts",
        )
