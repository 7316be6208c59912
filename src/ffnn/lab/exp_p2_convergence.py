"""Experiments: GD's rate near a minimum, its stability limit, saddle plateaus (notes 004)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import ffnn
from ffnn.lab._registry import ExperimentResult, experiment
from ffnn.lab.convergence import (
    detect_plateaus,
    escape_steps,
    find_minimum,
    gradient_descent,
    linearized_errors,
    measured_rate,
    predicted_rate,
)
from ffnn.lab.exp_p2_common import pyplot, save, teacher_data
from ffnn.lab.hessian import Curvature
from ffnn.lab.spectrum import min_eigenvalue


def _minimum(n: int, d: int, width: int, seed: int = 0):
    """A student d-width-1 tanh network at an isolated minimum of the MSE on teacher data."""
    X, y, teacher = teacher_data(n, d, width, seed=seed)
    net = teacher.copy()
    net.theta += 0.3 * np.random.default_rng(seed + 7).standard_normal(net.n_params)
    info = find_minimum(net, X, y, "mse")
    H = Curvature(net, X, y, "mse").full()
    return X, y, net, H, info


RATE_CLAIM = (
    "near a minimum GD's error contracts per step by ρ = max(|1−ηλ_min|, |1−ηλ_max|), "
    "λ the Hessian's extreme eigenvalues (notes 004: err_{t+1}/err_t ≤ β < 1)"
)


@experiment("gd-rate", claim=RATE_CLAIM)
def run_rate(out_dir: Path, *, quick: bool = False, progress: bool = True) -> ExperimentResult:
    """Start GD at θ* + ε u, measure (err_T/err_{T/2})^{2/T}, compare with ρ(η) from H(θ*)."""
    X, y, net0, H, info = _minimum(60, 2, 2)
    lam = info["eigenvalues"]
    lmin, lmax = float(lam[0]), float(lam[-1])
    theta_star = net0.theta.copy()
    u = np.random.default_rng(1).standard_normal(net0.n_params)
    e0 = 1e-7 * u / np.linalg.norm(u)
    eta_crit = 2 / lmax
    fracs = [0.9, 1.01] if quick else [0.25, 0.5, 0.9, 0.99995, 1.001, 1.01]
    t_cap = 10000 if quick else 60000
    rows, curves = [], []
    for f in fracs:
        lr = f * eta_crit
        rho = predicted_rate(lr, lmin, lmax)
        T = int(np.clip(6 / abs(1 - rho), 1000, t_cap))
        net = net0.copy()
        net.theta += e0
        run = gradient_descent(net, X, y, "mse", lr, T, theta_star=theta_star, blowup=1e4)
        meas = measured_rate(run.err)
        rel = abs(np.log(meas) / np.log(rho) - 1)
        rows.append(
            {
                "eta": lr,
                "eta_over_2_div_lambda_max": f,
                "lambda_min": lmin,
                "lambda_max": lmax,
                "rho_predicted": rho,
                "rho_measured": meas,
                "log_rate_rel_error": rel,
                "steps": run.steps,
                "diverged": run.diverged,
            }
        )
        curves.append((f, run.err / run.err[0], linearized_errors(H, e0, lr, run.steps)))
    ok = all(r["log_rate_rel_error"] < 0.05 for r in rows)
    ok &= all((r["rho_measured"] < 1) == (r["eta_over_2_div_lambda_max"] < 1) for r in rows)
    plt = pyplot()
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    for i, (f, err, lin) in enumerate(curves):
        ax[0].semilogy(err, color=f"C{i}", lw=1.2, label=f"η = {f:g}·2/λ_max")
        ax[0].semilogy(lin / lin[0], color=f"C{i}", ls="--", lw=0.8)
    ax[0].set(
        xlabel="step t",
        ylabel="‖θ_t − θ*‖ / ‖θ_0 − θ*‖",
        title="GD near a minimum (dashed: ‖(I − ηH)^t e_0‖)",
        xscale="symlog",
    )
    ax[0].legend(fontsize=7)
    grid = np.linspace(0.02, 1.02, 400) * eta_crit
    ax[1].plot(
        grid / eta_crit,
        [1 - predicted_rate(g, lmin, lmax) for g in grid],
        "k-",
        lw=1,
        label="1 − ρ predicted from λ_min, λ_max",
    )
    ax[1].plot(
        [r["eta_over_2_div_lambda_max"] for r in rows],
        [1 - r["rho_measured"] for r in rows],
        "o",
        color="C3",
        label="1 − ρ measured",
    )
    ax[1].axvline(1.0, color="gray", ls=":", label="η = 2/λ_max")
    ax[1].set(
        xlabel="η / (2/λ_max)",
        ylabel="1 − ρ  (per-step decrease of the error)",
        yscale="symlog",
        title=f"κ = λ_max/λ_min = {lmax / lmin:.0f}",
    )
    ax[1].set_yscale("symlog", linthresh=1e-5)
    ax[1].legend(fontsize=7)
    files = [save(fig, out_dir, "gd-rate")]
    worst = max(r["log_rate_rel_error"] for r in rows)
    res = ExperimentResult(
        "gd-rate",
        RATE_CLAIM,
        ok,
        f"λ_min = {lmin:.3g}, λ_max = {lmax:.3g} at θ* (‖∇L‖ = {info['grad_norm']:.1e}); over "
        f"{len(rows)} learning rates the measured log-rate is within {100 * worst:.2f}% of "
        "log ρ(η); the error shrinks for every η < 2/λ_max and grows for every η > 2/λ_max",
        rows,
        files,
    )
    res.write_table(out_dir)
    return res


STABILITY_CLAIM = (
    "GD started next to a minimum θ* returns to it for every η < 2/λ_max(θ*) and is thrown out "
    "of it for every η > 2/λ_max(θ*)"
)


@experiment("stability-limit", claim=STABILITY_CLAIM)
def run_stability(out_dir: Path, *, quick: bool = False, progress: bool = True) -> ExperimentResult:
    """Sweep η across 2/λ_max from θ* + ε u and record err_T/err_0 and the loss."""
    X, y, net0, H, info = _minimum(100, 3, 3)
    lam = info["eigenvalues"]
    lmax = float(lam[-1])
    theta_star = net0.theta.copy()
    u = np.random.default_rng(2).standard_normal(net0.n_params)
    e0 = 1e-3 * u / np.linalg.norm(u)
    fracs = (
        [0.9, 0.98, 1.02, 1.1]
        if quick
        else [0.8, 0.85, 0.9, 0.95, 0.98, 0.99, 1.01, 1.02, 1.05, 1.1, 1.15, 1.2]
    )
    T = 1000 if quick else 3000
    rows, curves = [], {}
    for f in fracs:
        lr = f * 2 / lmax
        net = net0.copy()
        net.theta += e0
        run = gradient_descent(net, X, y, "mse", lr, T, theta_star=theta_star, blowup=1e4)
        growth = run.err[-1] / run.err[0]
        rows.append(
            {
                "eta_over_2_div_lambda_max": float(f),
                "eta": lr,
                "lambda_max": lmax,
                "error_growth": float(growth),
                "steps_run": run.steps,
                "escaped": bool(run.diverged or growth > 10),
                "final_loss_minus_min": float(run.loss[-1] - info["loss"]),
            }
        )
        curves[float(f)] = run.loss - info["loss"]
    ok = all((r["error_growth"] < 1) == (r["eta_over_2_div_lambda_max"] < 1) for r in rows)
    ok &= all(r["escaped"] == (r["eta_over_2_div_lambda_max"] > 1) for r in rows)
    plt = pyplot()
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    xs = [r["eta_over_2_div_lambda_max"] for r in rows]
    ax[0].semilogy(xs, [r["error_growth"] for r in rows], "o-")
    ax[0].axvline(1.0, color="C3", ls="--", label="η = 2/λ_max(θ*)")
    ax[0].axhline(1.0, color="gray", ls=":")
    ax[0].set(
        xlabel="η / (2/λ_max)",
        ylabel="‖θ_T − θ*‖ / ‖θ_0 − θ*‖",
        title=f"after {T} steps (or at blow-up)",
    )
    ax[0].legend()
    show = [f for f in curves if f in (fracs[0], fracs[len(fracs) // 2 - 1], fracs[-1])]
    for f in show:
        ax[1].semilogy(np.maximum(curves[f], 1e-18), label=f"η = {f:g}·2/λ_max")
    ax[1].set(xlabel="step", ylabel="L(θ_t) − L(θ*)", title="loss above the minimum")
    ax[1].legend()
    files = [save(fig, out_dir, "stability-limit")]
    res = ExperimentResult(
        "stability-limit",
        STABILITY_CLAIM,
        ok,
        f"λ_max(θ*) = {lmax:.4g}; error shrinks for the {sum(x < 1 for x in xs)} rates below "
        f"2/λ_max = {2 / lmax:.4g} and grows (≥ 10× or blow-up) for the "
        f"{sum(x > 1 for x in xs)} rates above it",
        rows,
        files,
    )
    res.write_table(out_dir)
    return res


SADDLE_CLAIM = (
    "a plateau (‖∇L‖ ≈ 0 far above the final loss) after an all-small initialization is a "
    "saddle: the Hessian there has λ_min < 0 and GD leaves after ≈ log(1/ε)/log(1 + η|λ_min|) "
    "steps from scale ε"
)


@experiment("saddle-plateau", claim=SADDLE_CLAIM)
def run_saddle(out_dir: Path, *, quick: bool = False, progress: bool = True) -> ExperimentResult:
    """Train 2-4-1 tanh nets from weights ε·N(0, 1/n_in) for several ε; time the escape."""
    X, y, _ = teacher_data(60, 2, 3, noise=0.0, seed=3, scale=2.0)
    width, lr = 4, 0.05
    # the saddle: all weights 0, output bias = mean(y); there ∇L = 0
    s = ffnn.mlp([2, width, 1], "tanh", rng=0, dtype=np.float64)
    s.theta[:] = 0
    s.params[-1][1][:] = y.mean()
    Cs = Curvature(s, X, y, "mse")
    lam_s = float(np.linalg.eigvalsh(Cs.full())[0])
    L_saddle = Cs.value
    epss = [1e-2, 1e-4, 1e-6, 1e-8] if quick else [1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8]
    steps = 1500 if quick else 2500
    rows, runs = [], {}
    for eps in epss:
        net = ffnn.mlp([2, width, 1], "tanh", rng=2, dtype=np.float64, init=ffnn.Init("lecun"))
        net.theta *= eps
        run = gradient_descent(net, X, y, "mse", lr, steps)
        L_final = run.loss[-1]
        esc = int(np.argmax(run.loss < (L_saddle + L_final) / 2))
        rows.append(
            {
                "eps": eps,
                "escape_step": esc,
                "escape_predicted": escape_steps(lr, lam_s, eps),
                "final_loss": float(L_final),
                "saddle_loss": L_saddle,
                "lambda_min_saddle": lam_s,
            }
        )
        runs[eps] = run
    # the plateau of the smallest scale, and the Hessian in its middle
    eps = epss[-1]
    run = runs[eps]
    pl = detect_plateaus(
        run.loss,
        run.grad_norm,
        grad_tol=1e-3 * run.grad_norm.max(),
        loss_gap=0.5 * (L_saddle - run.loss[-1]),
        min_length=20,
    )
    lam_mid = grad_mid = float("nan")
    if pl:
        mid = (pl[0].start + pl[0].end) // 2
        net = ffnn.mlp([2, width, 1], "tanh", rng=2, dtype=np.float64, init=ffnn.Init("lecun"))
        net.theta *= eps
        snap = gradient_descent(net, X, y, "mse", lr, mid, snapshot_at=(mid,)).snapshots[mid]
        net.theta[:] = snap
        Cm = Curvature(net, X, y, "mse")
        lam_mid = min_eigenvalue(Cm)[0]
        grad_mid = float(np.linalg.norm(Cm.gradient))
    logs = np.log(1 / np.array(epss))
    slope = float(np.polyfit(logs, [r["escape_step"] for r in rows], 1)[0])
    slope_pred = float(1 / np.log1p(lr * abs(lam_s)))
    for r in rows:
        r["escape_slope_measured"] = slope
        r["escape_slope_predicted"] = slope_pred
    ok = bool(pl) and lam_mid < 0 and abs(slope / slope_pred - 1) < 0.1
    ok &= abs(lam_mid - lam_s) < 0.05 * abs(lam_s) if pl else False
    plt = pyplot()
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    for i, e in enumerate(epss):
        ax[0].semilogy(
            runs[e].loss, color=plt.cm.viridis(i / max(1, len(epss) - 1)), label=f"ε = {e:g}"
        )
    for p in pl:
        ax[0].axvspan(p.start, p.end, color="C3", alpha=0.15)
    ax[0].axhline(L_saddle, color="gray", ls=":", label="L at the saddle")
    ax[0].set(
        xlabel="step",
        ylabel="training loss",
        title=f"plateau (shaded, ε = {eps:g}): λ_min = {lam_mid:.3f}, ‖∇L‖ = {grad_mid:.0e}",
    )
    ax[0].legend(fontsize=7, ncol=2)
    ax[1].plot(logs / np.log(10), [r["escape_step"] for r in rows], "o", label="measured")
    ax[1].plot(
        logs / np.log(10),
        [r["escape_predicted"] for r in rows],
        "--",
        label="log(1/ε) / log(1 + η|λ_min|)",
    )
    ax[1].set(
        xlabel="log10(1/ε)",
        ylabel="steps to leave the plateau",
        title=f"escape: slope {slope:.1f} vs predicted {slope_pred:.1f} steps per e-fold",
    )
    ax[1].legend()
    files = [save(fig, out_dir, "saddle-plateau")]
    res = ExperimentResult(
        "saddle-plateau",
        SADDLE_CLAIM,
        bool(ok),
        f"saddle (W = 0, b_out = mean y): λ_min = {lam_s:.4f}; plateau of "
        f"{pl[0].length if pl else 0} steps at ε = {eps:g} with ‖∇L‖ = {grad_mid:.1e}, "
        f"λ_min = {lam_mid:.4f} there; escape "
        f"time grows by {slope:.2f} steps per e-fold of 1/ε (predicted {slope_pred:.2f})",
        rows,
        files,
    )
    res.write_table(out_dir)
    return res
