"""Experiment: SGD is a noisy gradient — its variance against m, and its cloud around θ* (001)."""

from __future__ import annotations

import numpy as np

import ffnn
from ffnn.lab._registry import Experiment, Param, register
from ffnn.lab._stats import mean_se, t_factor, z_factor
from ffnn.lab.hessian import full_hessian
from ffnn.lab.sgd_noise import (
    batch_noise,
    gradient_covariance,
    predicted_batch_noise,
    sgd,
    stationary_covariance,
)


def _least_squares(n: int, d: int, rng):
    """X: (n, d) Gaussian, y = Xw + noise, and a 1-layer net set to the least-squares θ*."""
    X = rng.standard_normal((n, d))
    y = X @ np.linspace(1, -1, d) + 0.5 * rng.standard_normal(n)
    net = ffnn.mlp([d, 1], dtype=np.float64)
    th = np.linalg.lstsq(np.c_[X, np.ones(n)], y, rcond=None)[0]
    net.set_params([(th[:-1][None, :], th[-1:])])
    return X, y, net


def _cloud(p, seed, progress):
    """SGD and GD from θ* + offset on least squares; measured and predicted E‖θ − θ*‖²."""
    rng = np.random.default_rng(seed)
    X, y, net = _least_squares(p.n, 4, rng)
    n, theta_star = p.n, net.theta.copy()
    H = full_hessian(net, X, y, "mse")
    _, Sig = gradient_covariance(net, X, y, "mse")
    K = np.stack([full_hessian(net, X[i : i + 1], y[i : i + 1], "mse") for i in range(n)])
    lr = p.lr_scale / np.linalg.eigvalsh(H)[-1]
    start = theta_star + rng.standard_normal(theta_star.size)
    out = {"lr": lr, "paths": {}, "rows": []}
    net.theta[...] = start
    out["paths"]["GD"] = sgd(net, X, y, "mse", lr=lr, m=None, steps=p.steps, rng=rng)
    for m in progress(p.cloud_batches, "SGD batch sizes"):
        f = (n - m) / (m * (n - 1))
        S = stationary_covariance(H, f * Sig, lr, K=K, factor=f)
        d2, ex = [], []
        for s in range(p.sgd_seeds):
            net.theta[...] = start
            path = sgd(
                net,
                X,
                y,
                "mse",
                lr=lr,
                m=m,
                steps=p.steps,
                rng=np.random.default_rng(seed * 1000 + s),
            )
            D = path[p.steps // 5 :] - theta_star
            d2.append(np.mean(np.sum(D**2, 1)))
            ex.append(np.mean(np.einsum("ti,ij,tj->t", D, H, D)) / 2)
            if s == 0:
                out["paths"][f"SGD m={m}"] = path
        (md, sd), (me, se_) = mean_se(d2), mean_se(ex)
        out["rows"].append(
            {
                "part": "cloud",
                "m": m,
                "predicted_dist2": float(np.trace(S)),
                "measured_dist2": float(md),
                "dist2_se": float(sd),
                "predicted_excess_loss": float(np.trace(H @ S) / 2),
                "measured_excess_loss": float(me),
                "excess_loss_se": float(se_),
            }
        )
    out["theta_star"] = theta_star
    return out


@register
class SgdNoise(Experiment):
    """Per-example gradients of a 4-16-1 tanh net; SGD vs GD on least squares (4 inputs)."""

    name = "sgd-noise"
    claim = (
        "a minibatch gradient is the full gradient plus noise: E‖g_B − ∇L‖² = (1/m)(n − m)/(n − 1)"
        " tr Σ from the per-example gradients; GD converges to θ*, SGD settles into a cloud "
        "around it whose size E‖θ − θ*‖² (the Lyapunov solution) shrinks as the batch grows"
    )
    params = (
        Param("n", int, 64, help="training examples"),
        Param(
            "batches",
            list[int],
            (1, 2, 4, 8, 16, 32, 48, 63, 64),
            (1, 8, 32, 64),
            "batch sizes m for the variance",
        ),
        Param("draws", int, 1000, 300, "batches drawn per m"),
        Param("cloud_batches", list[int], (1, 4, 16), help="batch sizes m for the SGD cloud"),
        Param("sgd_seeds", int, 8, 6, "SGD runs per m"),
        Param("steps", int, 5000, 2000, "SGD steps per run"),
        Param("lr_scale", float, 0.2, help="η λ_max(H)"),
    )
    figsize = (13, 4.2)

    def measure(self, p, seed, progress):
        rng = np.random.default_rng(seed)
        X = rng.standard_normal((p.n, 4))
        y = np.sin(X @ np.array([1.0, -1.0, 0.5, 0.2])) + 0.3 * rng.standard_normal(p.n)
        net = ffnn.mlp([4, 16, 1], "tanh", rng=seed, dtype=np.float64)
        g, Sig = gradient_covariance(net, X, y, "mse")
        tr = float(np.trace(Sig))
        rows = []
        for m in progress(p.batches, "batch sizes"):
            mean, se = batch_noise(net, X, y, "mse", m, p.draws, rng)
            rows.append(
                {
                    "part": "variance",
                    "m": m,
                    "predicted": predicted_batch_noise(tr, p.n, m),
                    "measured": mean,
                    "se": se,
                }
            )
        cloud = _cloud(p, seed, progress)
        return {
            "rows": rows + cloud["rows"],
            "var": rows,
            "cloud": cloud,
            "tr": tr,
            "p": p,
            "mean_err": float(np.abs(g - net.loss_and_grad(X, y, "mse")[1]).max()),
        }

    def verdict(self, data):
        var, cloud, p = data["var"], data["cloud"], data["p"]
        z = z_factor(k=len(var))
        eps = 1e-12 * data["tr"]  # roundoff of a difference of two gradients
        var_ok = [abs(r["measured"] - r["predicted"]) <= z * r["se"] + eps for r in var]
        t = t_factor(p.sgd_seeds - 1, k=2 * len(cloud["rows"]))
        c_ok = [
            abs(r["measured_dist2"] - r["predicted_dist2"]) <= t * r["dist2_se"]
            and abs(r["measured_excess_loss"] - r["predicted_excess_loss"])
            <= t * r["excess_loss_se"]
            for r in cloud["rows"]
        ]
        d_gd = float(np.sum((cloud["paths"]["GD"][-1] - cloud["theta_star"]) ** 2))
        shrinks = all(
            a["predicted_dist2"] > b["predicted_dist2"]
            for a, b in zip(cloud["rows"], cloud["rows"][1:], strict=False)
        )
        ok = all(var_ok) and all(c_ok) and d_gd < 1e-20 and shrinks and data["mean_err"] < 1e-12
        summary = (
            f"tr Σ = {data['tr']:.4g}; E‖g_B − ∇L‖² measured/predicted: "
            + ", ".join(
                f"m={r['m']}: {r['measured']:.4g} ± {r['se']:.2g} / {r['predicted']:.4g}"
                for r in var
            )
            + f"; GD ends at ‖θ − θ*‖² = {d_gd:.1e}; SGD cloud E‖θ − θ*‖² measured/predicted: "
            + ", ".join(
                f"m={r['m']}: {r['measured_dist2']:.4g} ± {r['dist2_se']:.2g} / "
                f"{r['predicted_dist2']:.4g}"
                for r in cloud["rows"]
            )
            + "; excess loss E L − L*: "
            + ", ".join(
                f"m={r['m']}: {r['measured_excess_loss']:.3g} ± "
                f"{r['excess_loss_se']:.1g} / {r['predicted_excess_loss']:.3g}"
                for r in cloud["rows"]
            )
        )
        tol = (
            f"variance: |measured − predicted| ≤ z·SE over {p.draws} draws (z = {z:.2f}, α = 1% "
            f"over {len(var)} sizes) + 1e-12 tr Σ; cloud: ≤ t·SE over {p.sgd_seeds} seeds "
            f"(t = {t:.2f}, α = 1% over {2 * len(cloud['rows'])}); GD: ‖θ − θ*‖² < 1e-20"
        )
        return ok, summary, tol

    def figure(self, data, fig):
        ax = fig.subplots(1, 3)
        _noise_panel(ax[0], data["var"], data["tr"], data["p"])
        _paths_panel(ax[1], data["cloud"])
        _cloud_panel(ax[2], data["cloud"]["rows"], data["p"])


def _noise_panel(ax, var, tr, p):
    """E‖g_B − ∇L‖² against the batch size m: measured (± SE) and (1/m)(n−m)/(n−1) tr Σ."""
    ms = np.array([r["m"] for r in var if r["m"] < p.n])
    grid = np.arange(1, p.n)
    ax.plot(
        grid,
        [predicted_batch_noise(tr, p.n, m) for m in grid],
        "k-",
        lw=1,
        label="(1/m)(n−m)/(n−1) tr Σ",
        zorder=3,
    )
    ax.errorbar(
        ms,
        [r["measured"] for r in var if r["m"] < p.n],
        yerr=[r["se"] for r in var if r["m"] < p.n],
        fmt="o",
        color="C1",
        ms=7,
        mfc="none",
        capsize=2,
        label=f"measured (± SE, {p.draws} batches)",
        zorder=2,
    )
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="batch size m",
        ylabel="E‖g_B − ∇L‖²",
        title=f"4-16-1 tanh, n = {p.n} (m = n gives 0)",
    )
    ax.legend(fontsize=7)


def _paths_panel(ax, cloud):
    """‖θ_t − θ*‖² along one SGD path per batch size, with the predicted stationary tr S."""
    ts = cloud["theta_star"]
    for i, (name, path) in enumerate(cloud["paths"].items()):
        d2 = np.maximum(np.sum((path - ts) ** 2, 1), 1e-32)
        ax.plot(np.arange(1, len(d2) + 1), d2, lw=0.7, color=f"C{i}", label=name)
    for r in cloud["rows"]:
        ax.axhline(r["predicted_dist2"], color="k", ls="--", lw=1.2, zorder=3)
    ax.set(
        xscale="log",
        yscale="log",
        ylim=(1e-8, None),
        xlabel="step t + 1",
        ylabel="‖θ_t − θ*‖²",
        title="least squares from one start; black dashed: predicted tr S",
    )
    ax.legend(fontsize=7)


def _cloud_panel(ax, rows, p):
    """The stationary E‖θ − θ*‖² against the batch size: measured (± SE) and predicted tr S."""
    m = np.array([r["m"] for r in rows])
    ax.plot(
        m,
        [r["predicted_dist2"] for r in rows],
        "k--",
        marker="x",
        ms=8,
        zorder=3,
        label="predicted tr S",
    )
    ax.errorbar(
        m,
        [r["measured_dist2"] for r in rows],
        yerr=[r["dist2_se"] for r in rows],
        fmt="o",
        color="C1",
        mfc="none",
        ms=9,
        capsize=3,
        label=f"measured (± SE, {p.sgd_seeds} runs)",
    )
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="batch size m",
        ylabel="E‖θ − θ*‖² (stationary)",
        title=f"SGD cloud, η λ_max = {p.lr_scale}",
    )
    ax.legend(fontsize=7)
