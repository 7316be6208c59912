"""Experiments: the neural tangent kernel (notes 000).

All networks here use the NTK parameterization (``Init(parameterization="ntk")``), the
convention whose infinite-width limit :mod:`ffnn.lab.kernels` computes.
"""

from __future__ import annotations

import numpy as np

from ffnn.core.graph import mlp
from ffnn.core.init import Init
from ffnn.lab._figures import loglog_slope
from ffnn.lab._registry import Experiment, Param, register
from ffnn.lab.exp_p1_common import gd_history
from ffnn.lab.kernels import kernel_regression, kernels_for
from ffnn.lab.ntk import empirical_ntk


def _circle(n: int, rng) -> np.ndarray:
    t = np.sort(rng.uniform(0, 2 * np.pi, n))
    return np.stack([np.cos(t), np.sin(t)], axis=1) * np.sqrt(2.0)


@register
class NtkConvergence(Experiment):
    """Two hidden layers, NTK parameterization; error averaged over random networks."""

    name = "ntk-convergence"
    claim = (
        "the empirical NTK of a random network converges to the analytic infinite-width NTK as "
        "the width n grows, with relative error ∝ n^(-1/2) (ReLU and erf)"
    )
    params = (
        Param(
            "widths",
            list[int],
            (16, 32, 64, 128, 256, 512, 1024, 2048),
            (16, 64, 256),
            "hidden widths n",
        ),
        Param("n_nets", int, 4, 3, "random networks averaged per width"),
    )
    figsize = (5.5, 4)

    def measure(self, p, seed, progress):
        X = np.random.default_rng(seed).standard_normal((24, 4))
        rows, slopes = [], {}
        for act, C_W in [("relu", 2.0), ("erf", 1.5)]:
            init = Init(C_W, C_b=0.1, parameterization="ntk")
            w0 = p.widths[0]
            _, theta_inf = kernels_for(mlp([4, w0, w0, 1], act, init=init), X)
            errs = []
            for w in progress(p.widths, f"{act} widths"):
                e = []
                for s in range(p.n_nets):
                    net = mlp(
                        [4, w, w, 1], act, init=init, rng=seed + 1000 * w + s, dtype=np.float64
                    )
                    theta = empirical_ntk(net, X)
                    e.append(np.linalg.norm(theta - theta_inf) / np.linalg.norm(theta_inf))
                errs.append(float(np.mean(e)))
                rows.append(
                    {"activation": act, "width": w, "rel_error": errs[-1], "n_nets": p.n_nets}
                )
            slopes[act] = loglog_slope(p.widths, errs)
        return {"rows": rows, "slopes": slopes, "widths": p.widths}

    def verdict(self, data):
        rows, slopes, widths = data["rows"], data["slopes"], data["widths"]
        ok = all(-0.65 < s < -0.35 for s in slopes.values())
        last = [f"{r['activation']} {r['rel_error']:.3f}" for r in rows if r["width"] == widths[-1]]
        summary = (
            ", ".join(f"{a}: slope {s:.2f}" for a, s in slopes.items())
            + f"; relative error at width {widths[-1]}: "
            + ", ".join(last)
        )
        return ok, summary, "log-log slope in (−0.65, −0.35) for each activation"

    def figure(self, data, fig):
        rows, slopes = data["rows"], data["slopes"]
        ax = fig.subplots()
        for act, s in slopes.items():
            rs = [r for r in rows if r["activation"] == act]
            ax.loglog(
                [r["width"] for r in rs],
                [r["rel_error"] for r in rs],
                "o-",
                label=f"{act}: slope {s:.2f}",
            )
        ref = np.array(data["widths"], float)
        ax.loglog(ref, rows[0]["rel_error"] * (ref / ref[0]) ** -0.5, "k--", label="n^(-1/2)")
        ax.set(
            xlabel="hidden width n",
            ylabel="‖Θ_emp − Θ_∞‖_F / ‖Θ_∞‖_F",
            title="empirical NTK → analytic NTK",
        )
        ax.legend()


@register
class NtkLazy(Experiment):
    """Train ReLU nets of several widths by GD on the same regression; ‖Θ_T − Θ_0‖ / ‖Θ_0‖."""

    name = "ntk-lazy"
    claim = (
        "during gradient descent the NTK of a wide network barely moves while a narrow network's "
        "kernel changes substantially; the relative change falls with width n (at least like "
        "n^(-1/2); for MSE the finite-width expansion of Dyer & Gur-Ari 2019 gives n^(-1))"
    )
    params = (
        Param(
            "widths",
            list[int],
            (8, 16, 32, 64, 128, 256, 512, 1024),
            (8, 32, 128, 512),
            "hidden widths n",
        ),
        Param("epochs", int, 1000, 400, "full-batch GD steps"),
    )
    figsize = (5.5, 4)

    def measure(self, p, seed, progress):
        n = 16
        X = _circle(n, np.random.default_rng(seed))
        t = np.arctan2(X[:, 1], X[:, 0])
        y = (np.sin(2 * t) + 0.5 * np.cos(3 * t))[:, None]
        init = Init(2.0, C_b=0.1, parameterization="ntk")
        rows = []
        for w in progress(p.widths, "widths"):
            net = mlp([2, w, w, 1], "relu", init=init, rng=seed + w, dtype=np.float64)
            theta0 = empirical_ntk(net, X)
            lr = 0.5 * n / np.linalg.eigvalsh(theta0)[-1]
            hist = gd_history(net, X, y, "mse", lr=lr, epochs=p.epochs)
            change = np.linalg.norm(empirical_ntk(net, X) - theta0) / np.linalg.norm(theta0)
            rows.append(
                {
                    "width": w,
                    "rel_kernel_change": float(change),
                    "loss_start": hist[0]["train_loss"],
                    "loss_end": hist[-1]["train_loss"],
                    "lr": lr,
                }
            )
        ch = [r["rel_kernel_change"] for r in rows]
        slope = loglog_slope(p.widths[1:], ch[1:])
        return {"rows": rows, "slope": slope, "epochs": p.epochs}

    def verdict(self, data):
        rows, slope = data["rows"], data["slope"]
        ch = [r["rel_kernel_change"] for r in rows]
        ok = ch[-1] < ch[0] / 5 and slope < -0.3
        ok &= rows[-1]["loss_end"] < 0.1 * rows[-1]["loss_start"]
        summary = (
            f"relative kernel change {ch[0]:.3f} at width {rows[0]['width']} → {ch[-1]:.4f} at "
            f"width {rows[-1]['width']} (slope {slope:.2f}); final loss at the widest "
            f"{rows[-1]['loss_end']:.1e}"
        )
        tol = "change falls > 5× over the widths, slope < −0.3, widest loss < 10% of its start"
        return ok, summary, tol

    def figure(self, data, fig):
        rows, slope = data["rows"], data["slope"]
        widths = [r["width"] for r in rows]
        ch = [r["rel_kernel_change"] for r in rows]
        ax = fig.subplots()
        ax.loglog(widths, ch, "o-", label=f"measured, slope {slope:.2f}")
        ref = np.array(widths, float)
        ax.loglog(ref, ch[1] * (ref / ref[1]) ** -0.5, "k:", label="n^(-1/2)")
        ax.loglog(ref, ch[1] * (ref / ref[1]) ** -1.0, "k--", label="n^(-1)")
        ax.set(
            xlabel="hidden width n",
            ylabel="‖Θ_T − Θ_0‖_F / ‖Θ_0‖_F",
            title=f"NTK change over {data['epochs']} GD steps",
        )
        ax.legend()


@register
class NtkRegression(Experiment):
    """One hidden ReLU layer, NTK parameterization, trained on f(x; θ) − f(x; θ_0)."""

    name = "ntk-regression"
    claim = (
        "a very wide network trained by gradient descent on MSE converges to the kernel "
        "regression predictor of the analytic NTK, f(x) = Θ(x, X) Θ(X, X)⁻¹ y (for the "
        "centered network f − f_0)"
    )
    params = (
        Param("widths", list[int], (32, 128, 512, 2048, 8192), (32, 256, 2048), "hidden widths"),
        Param("epochs", int, 3000, 1500, "full-batch GD steps"),
    )
    figsize = (11, 4)

    def measure(self, p, seed, progress):
        n = 12
        X = _circle(n, np.random.default_rng(seed))
        t = np.arctan2(X[:, 1], X[:, 0])
        y = (np.sin(t) + 0.5 * np.cos(2 * t))[:, None]
        tt = np.linspace(-np.pi, np.pi, 200)
        Xs = np.stack([np.cos(tt), np.sin(tt)], axis=1) * np.sqrt(2.0)
        init = Init(2.0, C_b=0.1, parameterization="ntk")
        _, theta = kernels_for(mlp([2, 8, 1], "relu", init=init), X)
        _, theta_s = kernels_for(mlp([2, 8, 1], "relu", init=init), Xs, X)
        f_ntk = kernel_regression(theta_s, theta, y)[:, 0]
        lr = 0.5 * n / np.linalg.eigvalsh(theta)[-1]
        rows, preds = [], {}
        for w in progress(p.widths, "widths"):
            net = mlp([2, w, 1], "relu", init=init, rng=seed + w, dtype=np.float64)
            f0_train, f0_test = net(X), net(Xs)
            # train the centered network f − f_0 towards y: same as fitting y + f_0 with f
            hist = gd_history(net, X, y + f0_train, "mse", lr=lr, epochs=p.epochs)
            preds[w] = (net(Xs) - f0_test)[:, 0]
            err = float(np.linalg.norm(preds[w] - f_ntk) / np.linalg.norm(f_ntk))
            rows.append(
                {
                    "width": w,
                    "rel_distance_to_ntk_predictor": err,
                    "train_loss_end": hist[-1]["train_loss"],
                    "lr": lr,
                    "epochs": p.epochs,
                }
            )
        return {"rows": rows, "preds": preds, "f_ntk": f_ntk, "tt": tt, "t": t, "y": y}

    def verdict(self, data):
        rows = data["rows"]
        errs = [r["rel_distance_to_ntk_predictor"] for r in rows]
        ok = errs[-1] < 0.1 and errs[-1] < errs[0] / 3
        summary = (
            f"relative distance to the NTK predictor: {errs[0]:.3f} at width "
            f"{rows[0]['width']} → {errs[-1]:.4f} at width {rows[-1]['width']}"
        )
        return ok, summary, "widest < 0.1 and < 1/3 of the narrowest's distance"

    def figure(self, data, fig):
        rows, preds, tt = data["rows"], data["preds"], data["tt"]
        widths = [r["width"] for r in rows]
        ax = fig.subplots(1, 2)
        ax[0].plot(tt, data["f_ntk"], "k-", lw=2, label="analytic NTK regression")
        for w in (widths[0], widths[-1]):
            ax[0].plot(tt, preds[w], "--", label=f"network, width {w}")
        ax[0].plot(data["t"], data["y"][:, 0], "o", color="C3", label="training points")
        ax[0].set(
            xlabel="angle of x on the circle",
            ylabel="f(x) − f_0(x)",
            title="trained network vs kernel predictor",
        )
        ax[0].legend(fontsize=8)
        ax[1].loglog(widths, [r["rel_distance_to_ntk_predictor"] for r in rows], "o-")
        ax[1].set(
            xlabel="hidden width n",
            ylabel="‖f_net − f_NTK‖ / ‖f_NTK‖ (test grid)",
            title="distance to the NTK predictor",
        )
