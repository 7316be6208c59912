"""Experiments: GD's rate near a minimum, its stability limit, saddle plateaus (notes 004)."""

from __future__ import annotations

import numpy as np

import ffnn
from ffnn.lab._figures import colors
from ffnn.lab._registry import Experiment, Param, register
from ffnn.lab.convergence import (
    detect_plateaus,
    escape_steps,
    find_minimum,
    gradient_descent,
    linearized_errors,
    measured_rate,
    predicted_rate,
)
from ffnn.lab.exp_p2_common import teacher_data
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


def _nudge(net0, scale: float, seed: int):
    """A copy of net0 moved by scale · u, u a random unit vector; and that step e_0."""
    u = np.random.default_rng(seed).standard_normal(net0.n_params)
    e0 = scale * u / np.linalg.norm(u)
    net = net0.copy()
    net.theta += e0
    return net, e0


@register
class GdRate(Experiment):
    """Start GD at θ* + ε u, measure (err_T/err_{T/2})^{2/T}, compare with ρ(η) from H(θ*)."""

    name = "gd-rate"
    claim = (
        "near a minimum GD's error contracts per step by ρ = max(|1−ηλ_min|, |1−ηλ_max|), "
        "λ the Hessian's extreme eigenvalues (notes 004: err_{t+1}/err_t ≤ β < 1)"
    )
    params = (
        Param(
            "fractions",
            list[float],
            (0.25, 0.5, 0.9, 0.99995, 1.001, 1.01),
            (0.9, 1.01),
            "learning rates η as fractions of 2/λ_max",
        ),
        Param("max_steps", int, 60000, 10000, "cap on the GD steps of one run"),
    )

    def measure(self, p, seed, progress):
        X, y, net0, H, info = _minimum(60, 2, 2, seed=seed)
        lam = info["eigenvalues"]
        lmin, lmax = float(lam[0]), float(lam[-1])
        rows, curves = [], []
        for f in progress(p.fractions, "learning rates"):
            lr = f * (2 / lmax)
            rho = predicted_rate(lr, lmin, lmax)
            T = int(np.clip(6 / abs(1 - rho), 1000, p.max_steps))
            net, e0 = _nudge(net0, 1e-7, seed + 1)
            run = gradient_descent(net, X, y, "mse", lr, T, theta_star=net0.theta, blowup=1e4)
            meas = measured_rate(run.err)
            rows.append(
                {
                    "eta": lr,
                    "eta_over_2_div_lambda_max": f,
                    "lambda_min": lmin,
                    "lambda_max": lmax,
                    "rho_predicted": rho,
                    "rho_measured": meas,
                    "log_rate_rel_error": abs(np.log(meas) / np.log(rho) - 1),
                    "steps": run.steps,
                    "diverged": run.diverged,
                }
            )
            curves.append((f, run.err / run.err[0], linearized_errors(H, e0, lr, run.steps)))
        return {"rows": rows, "curves": curves, "lmin": lmin, "lmax": lmax, "info": info}

    def verdict(self, data):
        rows, lmin, lmax = data["rows"], data["lmin"], data["lmax"]
        ok = all(r["log_rate_rel_error"] < 0.05 for r in rows)
        ok &= all((r["rho_measured"] < 1) == (r["eta_over_2_div_lambda_max"] < 1) for r in rows)
        worst = max(r["log_rate_rel_error"] for r in rows)
        summary = (
            f"λ_min = {lmin:.3g}, λ_max = {lmax:.3g} at θ* (‖∇L‖ = "
            f"{data['info']['grad_norm']:.1e}); over {len(rows)} learning rates the measured "
            f"log-rate is within {100 * worst:.2f}% of log ρ(η); the error shrinks for every "
            "η < 2/λ_max and grows for every η > 2/λ_max"
        )
        return ok, summary, "|log ρ_measured / log ρ_predicted − 1| < 5% at every η"

    def figure(self, data, fig):
        rows, lmin, lmax = data["rows"], data["lmin"], data["lmax"]
        ax = fig.subplots(1, 2)
        for i, (f, err, lin) in enumerate(data["curves"]):
            ax[0].semilogy(err, color=f"C{i}", lw=1.2, label=f"η = {f:g}·2/λ_max")
            ax[0].semilogy(lin / lin[0], color=f"C{i}", ls="--", lw=0.8)
        ax[0].set(
            xlabel="step t",
            ylabel="‖θ_t − θ*‖ / ‖θ_0 − θ*‖",
            title="GD near a minimum (dashed: ‖(I − ηH)^t e_0‖)",
            xscale="symlog",
        )
        ax[0].legend(fontsize=7)
        eta_crit = 2 / lmax
        grid = np.linspace(0.02, 1.02, 400) * eta_crit
        pred = [1 - predicted_rate(g, lmin, lmax) for g in grid]
        ax[1].plot(grid / eta_crit, pred, "k-", lw=1, label="1 − ρ predicted from λ_min, λ_max")
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
            title=f"κ = λ_max/λ_min = {lmax / lmin:.0f}",
        )
        ax[1].set_yscale("symlog", linthresh=1e-5)
        ax[1].legend(fontsize=7)


@register
class StabilityLimit(Experiment):
    """Sweep η across 2/λ_max from θ* + ε u and record err_T/err_0 and the loss."""

    name = "stability-limit"
    claim = (
        "GD started next to a minimum θ* returns to it for every η < 2/λ_max(θ*) and is thrown "
        "out of it for every η > 2/λ_max(θ*)"
    )
    params = (
        Param(
            "fractions",
            list[float],
            (0.8, 0.85, 0.9, 0.95, 0.98, 0.99, 1.01, 1.02, 1.05, 1.1, 1.15, 1.2),
            (0.9, 0.98, 1.02, 1.1),
            "learning rates η as fractions of 2/λ_max",
        ),
        Param("steps", int, 3000, 1000, "GD steps per run"),
    )

    def measure(self, p, seed, progress):
        X, y, net0, H, info = _minimum(100, 3, 3, seed=seed)
        lmax = float(info["eigenvalues"][-1])
        rows, curves = [], {}
        for f in progress(p.fractions, "learning rates"):
            lr = f * 2 / lmax
            net, _ = _nudge(net0, 1e-3, seed + 2)
            run = gradient_descent(net, X, y, "mse", lr, p.steps, theta_star=net0.theta, blowup=1e4)
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
        return {"rows": rows, "curves": curves, "lmax": lmax, "steps": p.steps}

    def verdict(self, data):
        rows, lmax = data["rows"], data["lmax"]
        ok = all((r["error_growth"] < 1) == (r["eta_over_2_div_lambda_max"] < 1) for r in rows)
        ok &= all(r["escaped"] == (r["eta_over_2_div_lambda_max"] > 1) for r in rows)
        xs = [r["eta_over_2_div_lambda_max"] for r in rows]
        summary = (
            f"λ_max(θ*) = {lmax:.4g}; error shrinks for the {sum(x < 1 for x in xs)} rates below "
            f"2/λ_max = {2 / lmax:.4g} and grows (≥ 10× or blow-up) for the "
            f"{sum(x > 1 for x in xs)} rates above it"
        )
        return ok, summary, "below 2/λ_max: error shrinks; above: it grows ≥ 10× or blows up"

    def figure(self, data, fig):
        rows, curves = data["rows"], data["curves"]
        ax = fig.subplots(1, 2)
        xs = [r["eta_over_2_div_lambda_max"] for r in rows]
        ax[0].semilogy(xs, [r["error_growth"] for r in rows], "o-")
        ax[0].axvline(1.0, color="C3", ls="--", label="η = 2/λ_max(θ*)")
        ax[0].axhline(1.0, color="gray", ls=":")
        ax[0].set(
            xlabel="η / (2/λ_max)",
            ylabel="‖θ_T − θ*‖ / ‖θ_0 − θ*‖",
            title=f"after {data['steps']} steps (or at blow-up)",
        )
        ax[0].legend()
        fracs = list(curves)
        for f in dict.fromkeys((fracs[0], fracs[len(fracs) // 2 - 1], fracs[-1])):
            ax[1].semilogy(np.maximum(curves[f], 1e-18), label=f"η = {f:g}·2/λ_max")
        ax[1].set(xlabel="step", ylabel="L(θ_t) − L(θ*)", title="loss above the minimum")
        ax[1].legend()


def _small_net(width: int, eps: float, seed: int):
    net = ffnn.mlp([2, width, 1], "tanh", rng=seed, dtype=np.float64, init=ffnn.Init("lecun"))
    net.theta *= eps
    return net


@register
class SaddlePlateau(Experiment):
    """Train 2-4-1 tanh nets from weights ε·N(0, 1/n_in) for several ε; time the escape."""

    name = "saddle-plateau"
    claim = (
        "a plateau (‖∇L‖ ≈ 0 far above the final loss) after an all-small initialization is a "
        "saddle: the Hessian there has λ_min < 0 and GD leaves after ≈ "
        "log(1/ε)/log(1 + η|λ_min|) steps from scale ε"
    )
    params = (
        Param(
            "eps",
            list[float],
            (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8),
            (1e-2, 1e-4, 1e-6, 1e-8),
            "initial scales ε",
        ),
        Param("steps", int, 2500, 1500, "GD steps per run"),
        Param("lr", float, 0.05, help="GD learning rate"),
    )
    width = 4

    def _saddle(self, X, y):
        # the saddle: all weights 0, output bias = mean(y); there ∇L = 0
        s = ffnn.mlp([2, self.width, 1], "tanh", rng=0, dtype=np.float64)
        s.theta[:] = 0
        s.params[-1][1][:] = y.mean()
        Cs = Curvature(s, X, y, "mse")
        return float(np.linalg.eigvalsh(Cs.full())[0]), Cs.value

    def _at_plateau(self, X, y, pl, eps, lr, seed):
        """λ_min and ‖∇L‖ in the middle of the first plateau of the run from scale eps."""
        if not pl:
            return float("nan"), float("nan")
        mid = (pl[0].start + pl[0].end) // 2
        net = _small_net(self.width, eps, seed + 2)
        net.theta[:] = gradient_descent(net, X, y, "mse", lr, mid, snapshot_at=(mid,)).snapshots[
            mid
        ]
        Cm = Curvature(net, X, y, "mse")
        return min_eigenvalue(Cm)[0], float(np.linalg.norm(Cm.gradient))

    def measure(self, p, seed, progress):
        X, y, _ = teacher_data(60, 2, 3, noise=0.0, seed=seed + 3, scale=2.0)
        lam_s, L_saddle = self._saddle(X, y)
        rows, runs = [], {}
        for eps in progress(p.eps, "scales"):
            run = gradient_descent(
                _small_net(self.width, eps, seed + 2), X, y, "mse", p.lr, p.steps
            )
            L_final = run.loss[-1]
            rows.append(
                {
                    "eps": eps,
                    "escape_step": int(np.argmax(run.loss < (L_saddle + L_final) / 2)),
                    "escape_predicted": escape_steps(p.lr, lam_s, eps),
                    "final_loss": float(L_final),
                    "saddle_loss": L_saddle,
                    "lambda_min_saddle": lam_s,
                }
            )
            runs[eps] = run
        # the plateau of the smallest scale, and the Hessian in its middle
        eps = p.eps[-1]
        run = runs[eps]
        pl = detect_plateaus(
            run.loss,
            run.grad_norm,
            grad_tol=1e-3 * run.grad_norm.max(),
            loss_gap=0.5 * (L_saddle - run.loss[-1]),
            min_length=20,
        )
        lam_mid, grad_mid = self._at_plateau(X, y, pl, eps, p.lr, seed)
        logs = np.log(1 / np.array(p.eps))
        slope = float(np.polyfit(logs, [r["escape_step"] for r in rows], 1)[0])
        slope_pred = float(1 / np.log1p(p.lr * abs(lam_s)))
        for r in rows:
            r["escape_slope_measured"] = slope
            r["escape_slope_predicted"] = slope_pred
        return {
            "rows": rows,
            "runs": runs,
            "plateaus": pl,
            "lam_s": lam_s,
            "L_saddle": L_saddle,
            "lam_mid": lam_mid,
            "grad_mid": grad_mid,
            "slope": slope,
            "slope_pred": slope_pred,
            "eps": eps,
            "logs": logs,
        }

    def verdict(self, data):
        pl, lam_mid, lam_s = data["plateaus"], data["lam_mid"], data["lam_s"]
        slope, slope_pred = data["slope"], data["slope_pred"]
        ok = bool(pl) and lam_mid < 0 and abs(slope / slope_pred - 1) < 0.1
        ok &= abs(lam_mid - lam_s) < 0.05 * abs(lam_s) if pl else False
        summary = (
            f"saddle (W = 0, b_out = mean y): λ_min = {lam_s:.4f}; plateau of "
            f"{pl[0].length if pl else 0} steps at ε = {data['eps']:g} with ‖∇L‖ = "
            f"{data['grad_mid']:.1e}, λ_min = {lam_mid:.4f} there; escape time grows by "
            f"{slope:.2f} steps per e-fold of 1/ε (predicted {slope_pred:.2f})"
        )
        tol = "λ_min at the plateau within 5% of the saddle's; escape slope within 10%"
        return bool(ok), summary, tol

    def figure(self, data, fig):
        rows, runs, logs = data["rows"], data["runs"], data["logs"]
        ax = fig.subplots(1, 2)
        for c, (e, run) in zip(colors(len(runs)), runs.items(), strict=True):
            ax[0].semilogy(run.loss, color=c, label=f"ε = {e:g}")
        for pl in data["plateaus"]:
            ax[0].axvspan(pl.start, pl.end, color="C3", alpha=0.15)
        ax[0].axhline(data["L_saddle"], color="gray", ls=":", label="L at the saddle")
        ax[0].set(
            xlabel="step",
            ylabel="training loss",
            title=f"plateau (shaded, ε = {data['eps']:g}): λ_min = {data['lam_mid']:.3f}, "
            f"‖∇L‖ = {data['grad_mid']:.0e}",
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
            title=f"escape: slope {data['slope']:.1f} vs predicted "
            f"{data['slope_pred']:.1f} steps per e-fold",
        )
        ax[1].legend()
