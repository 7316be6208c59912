"""Experiment: GD's steps to a tolerance, T = log(tol/err⁰)/log β from the Hessian (notes 004)."""

from __future__ import annotations

import numpy as np

import ffnn
from ffnn.lab._registry import Experiment, Param, register
from ffnn.lab.gd import gd
from ffnn.lab.steps import (
    contraction,
    gd_errors,
    hessian_extremes,
    predicted_steps,
    slope_fit,
    steps_to_tolerance,
)

_RATES = {
    "1/λ_max": lambda lo, hi: 1 / hi,
    "2/(λ_min+λ_max)": lambda lo, hi: 2 / (lo + hi),
    "1.9/λ_max": lambda lo, hi: 1.9 / hi,
}


def _problems(n: int, seed: int):
    """Least squares and logistic regression (no hidden layer) at their optimum θ*."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5)) * np.linspace(0.3, 1.5, 5)
    y = X @ rng.standard_normal(5) + 0.3 * rng.standard_normal(n)
    ls = ffnn.mlp([5, 1], dtype=np.float64)
    th = np.linalg.lstsq(np.c_[X, np.ones(n)], y, rcond=None)[0]
    ls.set_params([(th[:-1][None, :], th[-1:])])
    yb = (X @ rng.standard_normal(5) + rng.standard_normal(n) > 0).astype(float)[:, None]
    lg = ffnn.mlp([5, 1], output="sigmoid", rng=seed, dtype=np.float64)
    gd(lg, X, yb, "binary_cross_entropy", lr=2.0, steps=20000)  # to θ* (‖∇L‖ ~ 1e-16)
    return {"least squares": (ls, X, y, "mse"), "logistic": (lg, X, yb, "binary_cross_entropy")}


@register
class StepsToTolerance(Experiment):
    """Least squares and logistic regression on 5 anisotropic inputs; GD at three step sizes."""

    name = "steps-to-tolerance"
    claim = (
        "GD's error err^t = ‖θ_t − θ*‖ shrinks like β^t with β = max(|1 − ηλ_min|, |1 − ηλ_max|) "
        "from the Hessian's extreme eigenvalues: the steps to reach tol never exceed "
        "T = ⌈log(tol/err⁰)/log β⌉ and grow by −1/log β per factor e of tol"
    )
    params = (
        Param("n", int, 50, help="examples"),
        Param(
            "tols",
            list[float],
            (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10),
            help="tolerances on ‖θ_t − θ*‖",
        ),
        Param("steps", int, 6000, help="GD steps at most"),
    )
    figsize = (13, 4.2)

    def measure(self, p, seed, progress):
        rows, curves = [], {}
        for name, (net, X, y, loss) in progress(_problems(p.n, seed).items(), "problems"):
            theta_star = net.theta.copy()
            lo, hi = hessian_extremes(net, X, y, loss)
            for rate, f in _RATES.items():
                lr = f(lo, hi)
                beta = contraction(lr, lo, hi)
                net.initialize(seed + 1)
                err = gd_errors(net, X, y, loss, theta_star, lr=lr, steps=p.steps)
                T = steps_to_tolerance(err, p.tols)
                P = predicted_steps(beta, err[0], p.tols)
                slope, se = slope_fit(p.tols, T) if np.all(T >= 0) else (np.nan, np.nan)
                curves[(name, rate)] = {"err": err, "T": T, "P": P, "beta": beta}
                rows.append(
                    {
                        "problem": name,
                        "rate": rate,
                        "lr": lr,
                        "lambda_min": lo,
                        "lambda_max": hi,
                        "beta": beta,
                        "err0": float(err[0]),
                        "slope_measured": slope,
                        "slope_se": se,
                        "slope_predicted": -1 / np.log(beta),
                        **{f"T_{tol:g}": int(t) for tol, t in zip(p.tols, T, strict=True)},
                        **{f"pred_{tol:g}": int(t) for tol, t in zip(p.tols, P, strict=True)},
                    }
                )
        return {"rows": rows, "curves": curves, "p": p}

    def verdict(self, data):
        rows, curves, p = data["rows"], data["curves"], data["p"]
        span = np.log(max(p.tols) / min(p.tols))
        quant = 2 / span  # each T is a ceiling: within one step of a line, so the slope within this
        ok, parts = True, []
        for r in rows:
            c = curves[(r["problem"], r["rate"])]
            bound = bool(np.all((c["T"] >= 0) & (c["T"] <= c["P"])))
            close = abs(r["slope_measured"] - r["slope_predicted"]) <= quant
            ok &= bound and close
            parts.append(
                f"{r['problem']}, η = {r['rate']}: β = {r['beta']:.4f}, slope "
                f"{r['slope_measured']:.2f} vs −1/log β = {r['slope_predicted']:.2f}, "
                f"T(1e-10) = {c['T'][-1]} ≤ {c['P'][-1]}" + ("" if bound else " (BOUND FAILS)")
            )
        tol = (
            f"T_measured ≤ T_predicted at every tol; slope within 2/log(max tol / min tol) = "
            f"{quant:.3f} steps per nat (each T is an integer ceiling)"
        )
        return ok, "; ".join(parts), tol

    def figure(self, data, fig):
        curves, p = data["curves"], data["p"]
        ax = fig.subplots(1, 3)
        x = np.log10(1 / np.asarray(p.tols))
        for j, name in enumerate(("least squares", "logistic")):
            for i, rate in enumerate(_RATES):
                c = curves[(name, rate)]
                ax[j].plot(
                    x,
                    c["P"],
                    "-",
                    color=f"C{i}",
                    lw=1.5,
                    zorder=3,
                    label=f"predicted: η = {rate}, β = {c['beta']:.3f}",
                )
                ax[j].plot(
                    x,
                    c["T"],
                    "o",
                    color=f"C{i}",
                    mfc="none",
                    ms=7,
                    label="measured (circles)" if i == 0 else None,
                )
            ax[j].set(
                xlabel="log10(1 / tol)",
                ylabel="GD steps T to ‖θ_t − θ*‖ ≤ tol",
                title=f"{name} (no hidden layer)",
            )
            ax[j].legend(fontsize=6)
        for i, rate in enumerate(_RATES):
            c = curves[("least squares", rate)]
            t = np.arange(len(c["err"]))
            ax[2].semilogy(t, np.maximum(c["err"], 1e-300), color=f"C{i}", lw=1, label=rate)
            ax[2].semilogy(t, c["err"][0] * c["beta"] ** t, color=f"C{i}", ls="--", lw=1)
        err0 = curves[("least squares", "1/λ_max")]["err"][0]
        ax[2].set(
            ylim=(min(p.tols) / 10, 3 * err0),
            xlim=(0, 1.2 * max(curves[("least squares", "1/λ_max")]["T"])),
            xlabel="step t",
            ylabel="err^t = ‖θ_t − θ*‖",
            title="least squares: err^t; dashed err⁰ β^t",
        )
        ax[2].legend(fontsize=7)
