"""Experiments: capacity against generalization — double descent, early stopping (002, 003, 004)."""

from __future__ import annotations

import numpy as np

from ffnn.lab._registry import Experiment, Param, register
from ffnn.lab._stats import mean_se, paired, t_factor
from ffnn.lab.generalization import (
    patience_stop,
    random_features_curve,
    teacher_data,
    trained_width_curve,
    training_curves,
)


def _log_gap(a, b, t: float) -> tuple[float, float, bool]:
    """Paired mean of log10 a − log10 b over seeds, its SE, and whether it exceeds t · SE."""
    m, se = paired(np.log10(a), np.log10(b))
    return m, se, bool(m > t * se)


def _errorbars(ax, x, runs, label, fmt, floor=None):
    """Mean ± SE over seeds; with ``floor``, means below it are drawn at it (hollow markers)."""
    m, se = mean_se(runs)
    if floor is None:
        ax.errorbar(x, m, yerr=se, fmt=fmt, ms=4, capsize=2, label=label)
        return
    x, low = np.asarray(x), m < floor
    ax.errorbar(x[~low], m[~low], yerr=se[~low], fmt=fmt, ms=4, capsize=2, label=label)
    if low.any():
        ax.plot(
            x[low],
            np.full(low.sum(), floor),
            fmt[0],
            mfc="none",
            color="C1",
            ls="",
            label=f"{label} < {floor:g}, drawn at {floor:g}",
        )


@register
class DoubleDescent(Experiment):
    """Teacher tanh(1ᵀx/√d) + ½ sin(2x₁) plus noise; random ReLU features and trained networks."""

    name = "double-descent"
    claim = (
        "test error against capacity is a U below the interpolation threshold, peaks at it "
        "(N + 1 = n features of min-norm least squares; a trained network where it first fits "
        "the training set) and descends again past it, while the training error falls to zero"
    )
    params = (
        Param("n", int, 40, help="training examples"),
        Param("d", int, 5, help="input dimension"),
        Param("noise", float, 0.5, help="label noise standard deviation"),
        Param(
            "features",
            list[int],
            (1, 2, 5, 10, 20, 30, 36, 39, 44, 50, 60, 80, 120, 200, 400, 1000),
            (1, 10, 39, 400),
            "random-feature counts N",
        ),
        Param("seeds", int, 40, 24, "data and feature draws averaged"),
        Param(
            "widths",
            list[int],
            (1, 2, 4, 6, 8, 12, 16, 32, 64, 256),
            (12, 256),
            "hidden widths of the trained networks",
        ),
        Param("net_seeds", int, 10, 8, "seeds of the trained networks"),
        Param("epochs", int, 2000, help="full-batch Adam epochs per trained network"),
        Param("n_test", int, 500, 200, "test points"),
    )
    figsize = (12, 4.5)

    def measure(self, p, seed, progress):
        rf, net, var_y = [], [], []
        for s in progress(range(max(p.seeds, p.net_seeds)), "seeds"):
            rng = np.random.default_rng(seed * 1000 + s)
            X, y, _ = teacher_data(p.n, p.d, rng, noise=p.noise)
            Xt, _, ft = teacher_data(p.n_test, p.d, rng, noise=p.noise)
            var_y.append(float(np.var(y)))
            if s < p.seeds:
                rf.append(random_features_curve(X, y, Xt, ft, p.features, seed * 1000 + s))
            if s < p.net_seeds:
                net.append(
                    trained_width_curve(X, y, Xt, ft, p.widths, seed * 1000 + s, epochs=p.epochs)
                )
        rf, net = np.array(rf), np.array(net)  # (seeds, widths, cols)
        rows = [
            {
                "model": "random features",
                "N": N,
                "params": N + 1,
                "train_mse": float(rf[:, j, 0].mean()),
                "test_mse": float(rf[:, j, 1].mean()),
                "test_mse_se": float(mean_se(rf[:, j, 1])[1]),
                "readout_norm": float(rf[:, j, 2].mean()),
            }
            for j, N in enumerate(p.features)
        ]
        rows += [
            {
                "model": "trained network",
                "N": w,
                "params": w * (p.d + 2) + 1,
                "train_mse": float(net[:, j, 0].mean()),
                "test_mse": float(net[:, j, 1].mean()),
                "test_mse_se": float(mean_se(net[:, j, 1])[1]),
            }
            for j, w in enumerate(p.widths)
        ]
        return {"rows": rows, "rf": rf, "net": net, "var_y": float(np.mean(var_y)), "p": p}

    def verdict(self, data):
        rf, net, p = data["rf"], data["net"], data["p"]
        N = np.array(p.features)
        k = int(np.argmin(np.abs(N + 1 - p.n)))  # the threshold N + 1 ≈ n
        below = [j for j in range(k) if j > 0]
        u = below[int(np.argmin(np.log10(rf[:, below, 1]).mean(0)))] if below else 0
        t = t_factor(len(rf) - 1, k=4)
        tn = t_factor(len(net) - 1, k=1)
        gaps = {
            "U: first over its minimum": _log_gap(rf[:, 0, 1], rf[:, u, 1], t),
            "peak over the U minimum": _log_gap(rf[:, k, 1], rf[:, u, 1], t),
            "peak over the widest": _log_gap(rf[:, k, 1], rf[:, -1, 1], t),
        }
        fits = net[:, :, 0].mean(0) < 0.01 * data["var_y"]
        kn = int(np.argmax(fits)) if fits.any() else len(p.widths) - 1
        gaps["trained: first fitting width over the widest"] = _log_gap(
            net[:, kn, 1], net[:, -1, 1], tn
        )
        interp = bool(np.all(rf[:, k:, 0] < 1e-8 * rf[:, 0, 0].mean()))
        ok = interp and fits.any() and all(g[2] for g in gaps.values()) and 0 < u < k
        summary = (
            f"random features: test MSE {rf[:, 0, 1].mean():.3g} (N={N[0]}) → "
            f"{rf[:, u, 1].mean():.3g} (N={N[u]}) → peak {rf[:, k, 1].mean():.3g} (N={N[k]}) → "
            f"{rf[:, -1, 1].mean():.3g} (N={N[-1]}); train MSE past N+1=n "
            f"≤ {rf[:, k:, 0].max():.1e}; trained network: fits from width {p.widths[kn]} "
            f"(test {net[:, kn, 1].mean():.3g}) to width {p.widths[-1]} "
            f"(test {net[:, -1, 1].mean():.3g}); log10 gaps: "
            + ", ".join(f"{name} {m:.2f} ± {se:.2f}" for name, (m, se, _) in gaps.items())
        )
        tol = (
            f"each log10 gap > t·SE over seeds (t = {t:.2f} for {len(rf)} feature draws, "
            f"{tn:.2f} for {len(net)} networks; α = 1%); interpolation: train MSE < 1e-8 × that "
            "at the smallest N; a network fits: train MSE < 1% of Var y"
        )
        return ok, summary, tol

    def figure(self, data, fig):
        rf, net, p = data["rf"], data["net"], data["p"]
        ax = fig.subplots(1, 2)
        _errorbars(ax[0], p.features, rf[:, :, 1], "test (mean ± SE)", "o-")
        _errorbars(ax[0], p.features, rf[:, :, 0], "train", "s", floor=1e-3)
        ax[0].axvline(p.n - 1, color="gray", ls=":", label="threshold N + 1 = n")
        ax[0].set(
            xscale="log",
            yscale="log",
            xlabel="random features N",
            ylabel="mean squared error",
            ylim=(5e-4, None),
            title=f"min-norm random ReLU features, n = {p.n}, {len(rf)} seeds",
        )
        params = np.array(p.widths) * (p.d + 2) + 1
        _errorbars(ax[1], params, net[:, :, 1], "test (mean ± SE)", "o-")
        _errorbars(ax[1], params, net[:, :, 0], "train", "s", floor=1e-4)
        ax[1].axvline(p.n, color="gray", ls=":", label="p = n")
        ax[1].set(
            xscale="log",
            yscale="log",
            xlabel="parameters p of the trained network",
            ylabel="mean squared error",
            ylim=(5e-5, None),
            title=f"trained 1-hidden-layer ReLU (Adam, {p.epochs} epochs)",
        )
        for a in ax:
            a.legend(fontsize=7)


@register
class EarlyStopping(Experiment):
    """Teacher tanh(1ᵀx/√d) + ½ sin(2x₁) plus noise, n points; a wide ReLU network, Adam."""

    name = "early-stopping"
    claim = (
        "training a wide network on few noisy points, the test error falls, then rises while the "
        "training error keeps falling (overfitting); the validation rule (patience, restore the "
        "best) stops near the test minimum, with a lower test error than training to the end"
    )
    params = (
        Param("n", int, 40, help="training (and validation) examples"),
        Param("d", int, 3, help="input dimension"),
        Param("width", int, 128, help="hidden width"),
        Param("epochs", int, 1500, 1000, "full-batch Adam epochs"),
        Param("patience", int, 100, help="epochs without a new best validation loss"),
        Param("seeds", int, 16, 12, "data and init seeds"),
        Param("noise", float, 0.5, help="label noise standard deviation"),
    )

    def measure(self, p, seed, progress):
        import ffnn

        runs = []
        for s in progress(range(p.seeds), "seeds"):
            rng = np.random.default_rng(seed * 1000 + s)
            X, y, _ = teacher_data(p.n, p.d, rng, noise=p.noise)
            Xv, yv, _ = teacher_data(p.n, p.d, rng, noise=p.noise)
            Xt, _, ft = teacher_data(500, p.d, rng, noise=p.noise)
            net = ffnn.mlp([p.d, p.width, 1], "relu", rng=seed * 1000 + s, dtype=np.float64)
            c = training_curves(net, X, y, Xv, yv, Xt, ft, epochs=p.epochs)
            c["stop"], c["best"] = patience_stop(c["val"], p.patience)
            runs.append(c)
        rows = [
            {
                "seed": i,
                "stop_epoch": c["stop"] + 1,
                "best_epoch": c["best"] + 1,
                "test_min_epoch": int(np.argmin(c["test"])) + 1,
                "test_min": float(c["test"].min()),
                "test_at_best": float(c["test"][c["best"]]),
                "test_end": float(c["test"][-1]),
                "train_at_best": float(c["train"][c["best"]]),
                "train_end": float(c["train"][-1]),
            }
            for i, c in enumerate(runs)
        ]
        return {"rows": rows, "runs": runs, "p": p}

    def verdict(self, data):
        rows, p = data["rows"], data["p"]
        col = {k: np.array([r[k] for r in rows]) for k in rows[0]}
        t = t_factor(len(rows) - 1, k=3)
        gain = _log_gap(col["test_end"], col["test_at_best"], t)
        rise = _log_gap(col["test_end"], col["test_min"], t)
        train_falls = _log_gap(col["train_at_best"], col["train_end"], t)
        regret = _log_gap(col["test_at_best"], col["test_min"], t)[0] / rise[0]
        ok = gain[2] and rise[2] and train_falls[2] and regret < 0.5
        summary = (
            f"test MSE (mean over seeds): minimum along training {col['test_min'].mean():.3g} "
            f"(median epoch {np.median(col['test_min_epoch']):.0f}), at the restored best "
            f"{col['test_at_best'].mean():.3g} (the rule stops at median epoch "
            f"{np.median(col['stop_epoch']):.0f}), at the end {col['test_end'].mean():.3g} "
            f"(epoch {p.epochs}); log10 gaps: end over restored {gain[0]:.2f} ± {gain[1]:.2f}, "
            f"end over minimum {rise[0]:.2f} ± {rise[1]:.2f}, train at the stop over train at "
            f"the end {train_falls[0]:.2f} ± {train_falls[1]:.2f}; the restored θ keeps "
            f"{100 * regret:.0f}% of the end's log excess over the minimum"
        )
        tol = (
            f"each paired log10 gap > t·SE over {len(rows)} seeds (t = {t:.2f}, α = 1% over 3); "
            "the restored θ keeps less than half of the end's log excess over the test minimum"
        )
        return ok, summary, tol

    def figure(self, data, fig):
        runs, p = data["runs"], data["p"]
        ax = fig.subplots(1, 2)
        c = runs[0]
        ep = np.arange(1, p.epochs + 1)
        for key, style in (("train", "C0-"), ("val", "C1-"), ("test", "C2-")):
            ax[0].plot(ep, c[key], style, lw=1, label=f"{key} MSE")
        ax[0].axvline(c["best"] + 1, color="k", ls="--", lw=0.8, label="restored best (val)")
        ax[0].axvline(c["stop"] + 1, color="gray", ls=":", lw=0.8, label="rule stops")
        ax[0].set(
            xscale="log",
            yscale="log",
            xlabel="epoch",
            ylabel="mean squared error",
            title=f"seed 0: width {p.width}, n = {p.n}, patience {p.patience}",
        )
        ax[0].legend(fontsize=7)
        m, se = mean_se([r["test"] for r in runs])
        ax[1].plot(ep, m, "C2-", label="test MSE, mean over seeds")
        ax[1].fill_between(ep, m - se, m + se, color="C2", alpha=0.3, label="± SE")
        for key, mk, lab in (
            ("best", "kv", "each seed: restored best"),
            ("stop", "k|", "each seed: rule stops"),
        ):
            at = np.array([r[key] for r in runs])
            ax[1].plot(at + 1, [r["test"][i] for r, i in zip(runs, at, strict=True)], mk, label=lab)
        ax[1].set(
            xscale="log",
            yscale="log",
            xlabel="epoch",
            ylabel="test MSE",
            title=f"{len(runs)} seeds",
        )
        ax[1].legend(fontsize=7)
