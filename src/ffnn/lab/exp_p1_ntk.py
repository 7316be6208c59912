"""Experiments: the neural tangent kernel (notes 000).

All networks here use the NTK parameterization (``Init(parameterization="ntk")``), the
convention whose infinite-width limit :mod:`ffnn.lab.kernels` computes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ffnn.core.graph import mlp
from ffnn.core.init import Init
from ffnn.lab._registry import ExperimentResult, experiment
from ffnn.lab.exp_p1_common import gd, loglog_slope, pyplot, save
from ffnn.lab.kernels import kernel_regression, kernels_for
from ffnn.lab.ntk import empirical_ntk


def _circle(n: int, rng) -> np.ndarray:
    t = np.sort(rng.uniform(0, 2 * np.pi, n))
    return np.stack([np.cos(t), np.sin(t)], axis=1) * np.sqrt(2.0)


CONV_CLAIM = (
    "the empirical NTK of a random network converges to the analytic infinite-width NTK as "
    "the width n grows, with relative error ∝ n^(-1/2) (ReLU and erf)"
)


@experiment("ntk-convergence", claim=CONV_CLAIM)
def run_convergence(out_dir: Path, *, quick: bool = False, progress: bool = True):
    """Two hidden layers, NTK parameterization; error averaged over random networks."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((24, 4))
    widths = [16, 64, 256] if quick else [16, 32, 64, 128, 256, 512, 1024, 2048]
    n_nets = 3 if quick else 4
    rows = []
    slopes = {}
    for act, C_W in [("relu", 2.0), ("erf", 1.5)]:
        init = Init(C_W, C_b=0.1, parameterization="ntk")
        errs = []
        for w in widths:
            e = []
            for s in range(n_nets):
                net = mlp([4, w, w, 1], act, init=init, rng=1000 * w + s, dtype=np.float64)
                if s == 0 and w == widths[0]:
                    _, theta_inf = kernels_for(net, X)
                theta = empirical_ntk(net, X)
                e.append(np.linalg.norm(theta - theta_inf) / np.linalg.norm(theta_inf))
            errs.append(float(np.mean(e)))
            rows.append({"activation": act, "width": w, "rel_error": errs[-1], "n_nets": n_nets})
        slopes[act] = loglog_slope(widths, errs)
    ok = all(-0.65 < s < -0.35 for s in slopes.values())
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for act in slopes:
        rs = [r for r in rows if r["activation"] == act]
        ax.loglog(
            [r["width"] for r in rs],
            [r["rel_error"] for r in rs],
            "o-",
            label=f"{act}: slope {slopes[act]:.2f}",
        )
    ref = np.array(widths, float)
    ax.loglog(ref, rows[0]["rel_error"] * (ref / ref[0]) ** -0.5, "k--", label="n^(-1/2)")
    ax.set(
        xlabel="hidden width n",
        ylabel="‖Θ_emp − Θ_∞‖_F / ‖Θ_∞‖_F",
        title="empirical NTK → analytic NTK",
    )
    ax.legend()
    files = [save(fig, out_dir, "ntk-convergence")]
    summary = ", ".join(f"{a}: slope {s:.2f}" for a, s in slopes.items()) + (
        f"; relative error at width {widths[-1]}: "
        + ", ".join(
            f"{r['activation']} {r['rel_error']:.3f}" for r in rows if r["width"] == widths[-1]
        )
    )
    res = ExperimentResult("ntk-convergence", CONV_CLAIM, ok, summary, rows, files)
    res.write_table(out_dir)
    return res


LAZY_CLAIM = (
    "during gradient descent the NTK of a wide network barely moves while a narrow network's "
    "kernel changes substantially; the relative change falls with width n (at least like "
    "n^(-1/2); for MSE the finite-width expansion of Dyer & Gur-Ari 2019 gives n^(-1))"
)


@experiment("ntk-lazy", claim=LAZY_CLAIM)
def run_lazy(out_dir: Path, *, quick: bool = False, progress: bool = True):
    """Train ReLU nets of several widths by GD on the same regression; ‖Θ_T − Θ_0‖ / ‖Θ_0‖."""
    rng = np.random.default_rng(0)
    n = 16
    X = _circle(n, rng)
    t = np.arctan2(X[:, 1], X[:, 0])
    y = (np.sin(2 * t) + 0.5 * np.cos(3 * t))[:, None]
    widths = [8, 32, 128, 512] if quick else [8, 16, 32, 64, 128, 256, 512, 1024]
    epochs = 400 if quick else 1000
    init = Init(2.0, C_b=0.1, parameterization="ntk")
    rows = []
    for w in widths:
        net = mlp([2, w, w, 1], "relu", init=init, rng=w, dtype=np.float64)
        theta0 = empirical_ntk(net, X)
        lr = 0.5 * n / np.linalg.eigvalsh(theta0)[-1]
        hist = gd(net, X, y, "mse", lr=lr, epochs=epochs)
        thetaT = empirical_ntk(net, X)
        change = float(np.linalg.norm(thetaT - theta0) / np.linalg.norm(theta0))
        rows.append(
            {
                "width": w,
                "rel_kernel_change": change,
                "loss_start": hist[0]["train_loss"],
                "loss_end": hist[-1]["train_loss"],
                "lr": lr,
            }
        )
    ch = [r["rel_kernel_change"] for r in rows]
    slope = loglog_slope(widths[1:], ch[1:])
    ok = ch[-1] < ch[0] / 5 and slope < -0.3 and rows[-1]["loss_end"] < 0.1 * rows[-1]["loss_start"]
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.loglog(widths, ch, "o-", label=f"measured, slope {slope:.2f}")
    ref = np.array(widths, float)
    ax.loglog(ref, ch[1] * (ref / ref[1]) ** -0.5, "k:", label="n^(-1/2)")
    ax.loglog(ref, ch[1] * (ref / ref[1]) ** -1.0, "k--", label="n^(-1)")
    ax.set(
        xlabel="hidden width n",
        ylabel="‖Θ_T − Θ_0‖_F / ‖Θ_0‖_F",
        title=f"NTK change over {epochs} GD steps",
    )
    ax.legend()
    files = [save(fig, out_dir, "ntk-lazy")]
    summary = (
        f"relative kernel change {ch[0]:.3f} at width {widths[0]} → {ch[-1]:.4f} at width "
        f"{widths[-1]} (slope {slope:.2f}); final loss at the widest "
        f"{rows[-1]['loss_end']:.1e}"
    )
    res = ExperimentResult("ntk-lazy", LAZY_CLAIM, ok, summary, rows, files)
    res.write_table(out_dir)
    return res


REG_CLAIM = (
    "a very wide network trained by gradient descent on MSE converges to the kernel regression "
    "predictor of the analytic NTK, f(x) = Θ(x, X) Θ(X, X)⁻¹ y (for the centered network "
    "f − f_0)"
)


@experiment("ntk-regression", claim=REG_CLAIM)
def run_regression(out_dir: Path, *, quick: bool = False, progress: bool = True):
    """One hidden ReLU layer, NTK parameterization, trained on f(x; θ) − f(x; θ_0)."""
    rng = np.random.default_rng(0)
    n = 12
    X = _circle(n, rng)
    t = np.arctan2(X[:, 1], X[:, 0])
    y = (np.sin(t) + 0.5 * np.cos(2 * t))[:, None]
    tt = np.linspace(-np.pi, np.pi, 200)
    Xs = np.stack([np.cos(tt), np.sin(tt)], axis=1) * np.sqrt(2.0)
    widths = [32, 256, 2048] if quick else [32, 128, 512, 2048, 8192]
    epochs = 1500 if quick else 3000
    init = Init(2.0, C_b=0.1, parameterization="ntk")
    K, theta = kernels_for(mlp([2, 8, 1], "relu", init=init), X)
    _, theta_s = kernels_for(mlp([2, 8, 1], "relu", init=init), Xs, X)
    f_ntk = kernel_regression(theta_s, theta, y)[:, 0]
    lr = 0.5 * n / np.linalg.eigvalsh(theta)[-1]
    rows, preds = [], {}
    for w in widths:
        net = mlp([2, w, 1], "relu", init=init, rng=w, dtype=np.float64)
        f0_train, f0_test = net(X), net(Xs)
        # train the centered network f − f_0 towards y: same as fitting y + f_0 with f
        hist = gd(net, X, y + f0_train, "mse", lr=lr, epochs=epochs)
        pred = (net(Xs) - f0_test)[:, 0]
        preds[w] = pred
        err = float(np.linalg.norm(pred - f_ntk) / np.linalg.norm(f_ntk))
        rows.append(
            {
                "width": w,
                "rel_distance_to_ntk_predictor": err,
                "train_loss_end": hist[-1]["train_loss"],
                "lr": lr,
                "epochs": epochs,
            }
        )
    errs = [r["rel_distance_to_ntk_predictor"] for r in rows]
    ok = errs[-1] < 0.1 and errs[-1] < errs[0] / 3
    plt = pyplot()
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    ax[0].plot(tt, f_ntk, "k-", lw=2, label="analytic NTK regression")
    for w in (widths[0], widths[-1]):
        ax[0].plot(tt, preds[w], "--", label=f"network, width {w}")
    ax[0].plot(t, y[:, 0], "o", color="C3", label="training points")
    ax[0].set(xlabel="angle of x on the circle", title="trained network vs kernel predictor")
    ax[0].legend(fontsize=8)
    ax[1].loglog(widths, errs, "o-")
    ax[1].set(
        xlabel="hidden width n",
        ylabel="‖f_net − f_NTK‖ / ‖f_NTK‖ (test grid)",
        title="distance to the NTK predictor",
    )
    files = [save(fig, out_dir, "ntk-regression")]
    summary = (
        f"relative distance to the NTK predictor: {errs[0]:.3f} at width {widths[0]} → "
        f"{errs[-1]:.4f} at width {widths[-1]}"
    )
    res = ExperimentResult("ntk-regression", REG_CLAIM, ok, summary, rows, files)
    res.write_table(out_dir)
    return res
