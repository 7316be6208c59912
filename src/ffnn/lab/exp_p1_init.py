"""Experiments: overparameterization, statistics at initialization, saturation (notes 000, 004)."""

from __future__ import annotations

import numpy as np

from ffnn.core.graph import mlp
from ffnn.core.init import Init
from ffnn.lab._registry import Experiment, Param, register
from ffnn.lab._stats import t_factor
from ffnn.lab.exp_p1_common import gd_history
from ffnn.lab.init_stats import (
    LayerStats,
    jacobian_norms,
    layer_statistics,
    mean_field,
    predicted_log_variance,
)
from ffnn.lab.jacobian import gradient_rank, param_jacobian
from ffnn.lab.saturation import SaturationCallback


@register
class Overparameterization(Experiment):
    """One-hidden-layer ReLU nets of growing width on n random points with random labels."""

    name = "overparameterization"
    claim = (
        "once p ≫ n the n per-example gradients ∂f(x_i)/∂θ are linearly independent (rank n, "
        "σ_min > 0 and growing with width) and gradient descent fits random labels (loss → 0); "
        "with p < n it cannot"
    )
    params = (
        Param(
            "widths",
            list[int],
            (1, 2, 3, 4, 8, 16, 32, 64, 128, 256, 1024),
            (1, 2, 4, 8, 32, 128),
            "hidden widths",
        ),
        Param("epochs", int, 4000, 1500, "full-batch GD steps per width"),
        Param("n", int, 20, help="data points (random inputs in d = 5, random labels)"),
    )
    figsize = (13, 3.8)

    def measure(self, p, seed, progress):
        rng = np.random.default_rng(seed)
        n, d = p.n, 5
        X = rng.standard_normal((n, d))
        y = rng.standard_normal((n, 1))
        rows = []
        for w in progress(p.widths, "widths"):
            net = mlp([d, w, 1], "relu", init=Init("he", C_b=0.1), rng=seed + 1, dtype=np.float64)
            r = gradient_rank(param_jacobian(net, X)[:, 0, :])
            # stable step for L = 1/n ‖f − y‖²: lr < n / λ_max(J Jᵀ)
            lr = 0.5 * n / r.sigma_max**2
            hist = gd_history(net, X, y, "mse", lr=lr, epochs=p.epochs)
            rows.append(
                {
                    "width": w,
                    "p": net.n_params,
                    "n": n,
                    "rank": r.rank,
                    "sigma_min": r.sigma_min,
                    "sigma_max": r.sigma_max,
                    "lr": lr,
                    "loss_start": hist[0]["train_loss"],
                    "loss_end": float(net.loss_and_grad(X, y, "mse")[0]),
                }
            )
        return {"rows": rows, "n": n, "epochs": p.epochs}

    def verdict(self, data):
        rows, n = data["rows"], data["n"]
        under = [r for r in rows if r["p"] < n]
        over = [r for r in rows if r["p"] >= 5 * n]
        if not under or len(over) < 2:
            return False, "needs widths with p < n and at least two with p ≥ 5n", ""
        sig = [r["sigma_min"] for r in over]
        ok = (
            all(r["rank"] < n for r in under)
            and all(r["rank"] == n for r in over)
            and sig[-1] > sig[0]
            and all(r["loss_end"] > 1e-2 * r["loss_start"] for r in under)
            and over[-1]["loss_end"] < 1e-4 * over[-1]["loss_start"]
        )
        summary = (
            f"p < n: rank {max(r['rank'] for r in under)} < {n}, loss stays ≥ "
            f"{min(r['loss_end'] for r in under):.2f}; p ≥ 5n: rank {n}, σ_min {sig[0]:.2g} → "
            f"{sig[-1]:.2g}, final loss {over[-1]['loss_end']:.1e} at width {over[-1]['width']}"
        )
        tol = "p < n: loss > 1% of its start; widest: loss < 1e-4 × its start; rank exact"
        return ok, summary, tol

    def figure(self, data, fig):
        rows, n = data["rows"], data["n"]
        ax = fig.subplots(1, 3)
        ps = [r["p"] for r in rows]
        ax[0].semilogx(ps, [r["rank"] for r in rows], "o-")
        ax[0].axhline(n, color="gray", ls="--", label="n")
        ax[0].axvline(n, color="gray", ls=":")
        ax[0].set(xlabel="parameters p", ylabel="rank of J (n × p)", title="rank")
        ax[0].legend()
        ax[1].loglog(ps, [max(r["sigma_min"], 1e-17) for r in rows], "o-")
        ax[1].set(xlabel="parameters p", ylabel="σ_min", title="σ_min of J")
        ax[2].loglog(ps, [max(r["loss_end"], 1e-30) for r in rows], "o-", label="after GD")
        ax[2].loglog(ps, [r["loss_start"] for r in rows], "s--", label="at init")
        ax[2].set(
            xlabel="parameters p",
            ylabel="training MSE",
            title=f"random labels ({data['epochs']} GD steps)",
        )
        ax[2].legend()


_SIGNAL_CASES = [
    ("relu", 1.0),
    ("relu", 2.0),
    ("relu", 3.0),
    ("tanh", 0.5),
    ("tanh", 1.0),
    ("tanh", 2.0),
]


def _signal_rows(act, C_W, st, q_mf, chi, depth):
    # gradient factor per layer, q_delta^(l) / q_delta^(l+1), over the deeper half of the
    # hidden layers (l > L/2), where q^(l) is near its fixed point
    qd = st.q_delta[:depth]
    half = depth // 2
    per_layer = float(np.exp(np.mean(np.log(qd[half:-1] / qd[half + 1 :]))))
    return [
        {
            "activation": act,
            "C_W": C_W,
            "layer": l + 1,
            "q_z": st.q_z[l],
            "q_z_mean_field": q_mf[l],
            "q_delta": st.q_delta[l],
            "chi_mean_field": chi[l] if l < depth else None,
            "grad_factor_per_layer": per_layer,
        }
        for l in range(depth + 1)
    ]


def _log_ratio_se(a, b) -> tuple[float, float, np.ndarray]:
    """log(mean a / mean b) over networks, its standard error (ratio estimator), and a: (n,)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    d = a / a.mean() - b / b.mean()  # log(ā/b̄) − log(μ_a/μ_b) ≈ mean of d (delta method)
    return float(np.log(a.mean() / b.mean())), float(d.std(ddof=1) / np.sqrt(d.size)), a


@register
class SignalPropagation(Experiment):
    """Mean squared pre-activation and δ per layer at init (averaged over a few networks),
    measured against mean field."""

    name = "signal-propagation"
    claim = (
        "He initialization keeps the ReLU signal q^(l) constant with depth (LeCun halves it per "
        "layer, C_W = 3 grows it 1.5×), as mean-field theory predicts; for tanh with C_b = 0, "
        "C_W = 1 is the edge of chaos: gradients vanish geometrically for C_W < 1, grow for "
        "C_W > 1, and change only slowly at C_W = 1"
    )
    params = (
        Param("depth", int, 60, 30, "hidden layers L"),
        Param("width", int, 256, 96, "hidden width n"),
        Param("n", int, 64, 16, "inputs (x ~ N(0, I_32))"),
        Param("n_nets", int, 12, 8, "random networks averaged per case"),
    )
    figsize = (14, 4)

    def measure(self, p, seed, progress):
        rng = np.random.default_rng(seed)
        depth, n0 = p.depth, 32
        X = rng.standard_normal((p.n, n0))
        q0 = float(np.mean(X * X))
        rows, curves, ends = [], {}, {}
        for act, C_W in progress(_SIGNAL_CASES, "cases"):
            # average over a few random networks: one network's q^(l) carries a finite-width
            # fluctuation of relative size ~ √(5 L / (n · width)), see jacobian-fluctuation
            stats = []
            for _ in range(p.n_nets):
                arch = [n0] + [p.width] * depth + [1]
                net = mlp(arch, act, init=Init(C_W), rng=rng, dtype=np.float64)
                stats.append(layer_statistics(net, X))
            fields = ("q_z", "q_x", "q_delta")
            st = LayerStats(*(np.mean([getattr(t, f) for t in stats], axis=0) for f in fields))
            q_mf, chi = mean_field(act, C_W, 0.0, depth, q0)
            curves[(act, C_W)] = (st, q_mf)
            rows += _signal_rows(act, C_W, st, q_mf, chi, depth)
            ends[(act, C_W)] = _log_ratio_se(
                [t.q_z[depth - 1] for t in stats], [t.q_z[0] for t in stats]
            )
        return {"rows": rows, "curves": curves, "depth": depth, "ends": ends}

    def verdict(self, data):
        rows, curves, depth = data["rows"], data["curves"], data["depth"]

        def ratio(a, c):
            st, _ = curves[(a, c)]
            return st.q_z[depth - 1] / st.q_z[0]

        def gfac(a, c):
            return next(
                r["grad_factor_per_layer"] for r in rows if r["activation"] == a and r["C_W"] == c
            )

        L1 = depth - 1
        he, lecun, big = ratio("relu", 2.0), ratio("relu", 1.0), ratio("relu", 3.0)
        # log of the ratio of means over the networks against mean field, within t·SE (the SE of
        # a ratio estimator over n_nets networks; Student t, α = 1% over the three cases)
        n_nets = len(data["ends"][("relu", 2.0)][2])
        t = t_factor(n_nets - 1, k=3)
        se = {c: data["ends"][("relu", c)][1] for c in (1.0, 2.0, 3.0)}
        dev = {1.0: np.log(lecun / 0.5**L1), 2.0: np.log(he), 3.0: np.log(big / 1.5**L1)}
        ok = all(abs(dev[c]) <= t * se[c] for c in dev)
        g_lo, g_edge, g_hi = gfac("tanh", 0.5), gfac("tanh", 1.0), gfac("tanh", 2.0)
        ok &= g_lo < 0.6 and g_hi > 1.03 and abs(np.log(g_edge)) < min(-np.log(g_lo), np.log(g_hi))
        summary = (
            f"ReLU q^(L)/q^(1): He {he:.2f}, LeCun {lecun:.2e} (0.5^{L1} = {0.5**L1:.2e}), C_W=3 "
            f"{big:.2e} (1.5^{L1} = {1.5**L1:.2e}); |log(measured / mean field)| "
            + ", ".join(f"C_W={c:g}: {abs(dev[c]):.2f} (SE {se[c]:.2f})" for c in dev)
            + "; tanh gradient factor per layer: C_W=0.5 "
            f"{g_lo:.3f}, C_W=1 {g_edge:.3f}, C_W=2 {g_hi:.3f}"
        )
        tol = (
            f"ReLU: |log(q^(L)/q^(1) measured / mean field)| ≤ t·SE over {n_nets} networks "
            f"(t = {t:.2f}, α = 1% over 3 cases); tanh factor < 0.6 (C_W = 0.5), "
            "> 1.03 (C_W = 2), nearest 1 at C_W = 1"
        )
        return ok, summary, tol

    def figure(self, data, fig):
        curves, depth = data["curves"], data["depth"]
        ax = fig.subplots(1, 3)
        ls = np.arange(1, depth + 2)
        for (a, c), (st, q_mf) in curves.items():
            k = 0 if a == "relu" else 1
            (line,) = ax[k].semilogy(ls, st.q_z, "o", ms=3, label=f"{a}, C_W = {c:g} (measured)")
            ax[k].semilogy(ls, q_mf, "-", color=line.get_color(), lw=1)
            if a == "tanh":
                ax[2].semilogy(
                    ls, st.q_delta, "o-", ms=3, color=line.get_color(), label=f"tanh, C_W = {c:g}"
                )
        ax[0].set(
            title="ReLU: q^(l) = mean (z^(l))²  (lines: mean field)",
            xlabel="layer l",
            ylabel="q^(l)",
        )
        ax[1].set(title="tanh: q^(l) (lines: mean field)", xlabel="layer l", ylabel="q^(l)")
        ax[2].set(
            title="tanh: backward ‖δ^(l)‖² (edge of chaos at C_W = 1)",
            xlabel="layer l",
            ylabel="mean (δ^(l))²",
        )
        for a_ in ax:
            a_.legend(fontsize=7)


@register
class JacobianFluctuation(Experiment):
    """Grid of depths and widths; many random networks per cell; constant of β fitted."""

    name = "jacobian-fluctuation"
    claim = (
        "for He-initialized ReLU networks, the fluctuation of ‖∂z^(L+1)/∂x‖² across random "
        "networks grows with depth/width: Var/mean² ≈ exp(5 Σ_l 1/n_l) − 1 (Hanin & Nica), "
        "≈ 5L/n for L ≪ n (the notes' C_0 · L/n)"
    )
    params = (
        Param("depths", list[int], (1, 2, 4, 8, 16), (1, 2, 4, 8), "hidden layers L"),
        Param("widths", list[int], (16, 32, 64, 128), (16, 64), "hidden widths n"),
        Param("n_nets", int, 1000, 300, "random networks per cell"),
    )
    figsize = (11, 4)
    n0 = 10

    def measure(self, p, seed, progress):
        rng = np.random.default_rng(seed)
        rows = []
        cells = [(n, L) for n in p.widths for L in p.depths]
        for n, L in progress(cells, "cells"):
            arch = [self.n0] + [n] * L + [1]
            v = jacobian_norms(arch, p.n_nets, rng=rng)
            v = v[v > 0]  # a network whose ReLUs are all off has zero gradient (prob ≤ 2^-n)
            logv = np.log(v)
            rows.append(
                {
                    "depth": L,
                    "width": n,
                    "beta": L / n,
                    "n_nets": int(v.size),
                    "mean": float(v.mean()),
                    "var_over_mean2": float(v.var() / v.mean() ** 2),
                    "var_log": float(logv.var()),
                    "var_log_predicted": predicted_log_variance(arch),
                    "lognormal_ratio": float(np.expm1(logv.var())),
                }
            )
        from scipy import special

        beta = np.array([r["beta"] for r in rows])
        s2 = np.array([r["var_log"] for r in rows]) - float(special.polygamma(1, self.n0 / 2))
        wide = np.array([r["width"] >= 64 for r in rows])
        return {
            "rows": rows,
            "widths": p.widths,
            "c_all": float(beta @ s2 / (beta @ beta)),
            "c_wide": float(beta[wide] @ s2[wide] / (beta[wide] @ beta[wide])),
        }

    def verdict(self, data):
        rows, c_wide, c_all = data["rows"], data["c_wide"], data["c_all"]
        mono = all(
            np.all(np.diff([r["var_log"] for r in rows if r["width"] == n]) > 0)
            for n in data["widths"]
        )
        ok = bool(mono) and 4.0 < c_wide < 7.0
        summary = (
            f"Var log‖∂z/∂x‖² increases with depth at every width: {mono}; fitted "
            f"Var log = c·β + ψ'(n_0/2): c = {c_wide:.2f} (widths ≥ 64), {c_all:.2f} (all "
            "widths; finite-width layers add more than 5/n each); literature large-width "
            "constant 5"
        )
        return ok, summary, "fitted c (widths ≥ 64) in (4, 7); increasing with depth"

    def figure(self, data, fig):
        from scipy import special

        rows, n0 = data["rows"], self.n0
        ax = fig.subplots(1, 2)
        for n in data["widths"]:
            rs = [r for r in rows if r["width"] == n]
            b = [r["beta"] for r in rs]
            (line,) = ax[0].plot(b, [r["var_log"] for r in rs], "o", label=f"width {n}")
            pred = [r["var_log_predicted"] for r in rs]
            ax[0].plot(b, pred, "-", color=line.get_color(), lw=1)
            rel = [r["var_over_mean2"] for r in rs]
            ax[1].loglog(b, rel, "o", color=line.get_color(), label=f"width {n}")
        beta = np.array([r["beta"] for r in rows])
        bb = np.linspace(0, beta.max(), 50)
        ax[0].plot(bb, 5 * bb + special.polygamma(1, n0 / 2), "k--", label="5β + ψ'(n_0/2)")
        ax[0].set(
            xlabel="β = L / n",
            ylabel="Var log ‖∂z/∂x‖²",
            title=f"fitted constant {data['c_wide']:.2f} (width ≥ 64), {data['c_all']:.2f} (all)",
        )
        ax[0].legend(fontsize=7)
        bb = np.geomspace(beta.min(), beta.max(), 50)
        ax[1].loglog(bb, np.expm1(5 * bb + 2 / n0), "k--", label="exp(5β + 2/n_0) − 1")
        ax[1].set(xlabel="β = L / n", ylabel="Var / mean² of ‖∂z/∂x‖²", title="relative variance")
        ax[1].legend(fontsize=7)


_GOOD, _BAD = "well scaled (C_W = 16)", "hidden layers 10× too large"


@register
class Saturation(Experiment):
    """Same data, same GD; a sigmoid net with C_W = 16 (= 1/σ'(0)²) against the same net with
    its hidden-layer weights and biases 10× too large (output layer unchanged)."""

    name = "saturation"
    claim = (
        "a sigmoid network with badly scaled hidden weights has most units saturated (σ' ≈ 0), "
        "they stay saturated, and it learns slowly; a well scaled one does not"
    )
    params = (
        Param("epochs", int, 2000, 1500, "full-batch GD steps"),
        Param("lr", float, 0.05, help="GD learning rate"),
        Param("factor", float, 10.0, help="scale of the badly scaled hidden layers"),
    )
    figsize = (11, 4)

    def measure(self, p, seed, progress):
        rng = np.random.default_rng(seed)
        X = rng.uniform(-2, 2, (128, 2))
        y = np.sin(2 * X[:, :1]) * np.cos(X[:, 1:])
        rows, hists = [], {}
        for label, factor in progress([(_GOOD, 1.0), (_BAD, p.factor)], "networks"):
            net = mlp([2, 16, 16, 1], "sigmoid", init=Init(16.0), rng=seed + 1, dtype=np.float64)
            for W, b in net.params[:-1]:
                W *= factor
                b *= factor
            cb = SaturationCallback(X, threshold=1e-2)
            hist = gd_history(net, X, y, "mse", lr=p.lr, epochs=p.epochs, callbacks=[cb])
            hists[label] = hist
            rows += [{"net": label, **h} for h in hist[:: max(1, p.epochs // 100)]]
        return {"rows": rows, "hists": hists, "lr": p.lr, "epochs": p.epochs}

    def verdict(self, data):
        good, bad = data["hists"][_GOOD], data["hists"][_BAD]
        ok = (
            bad[0]["saturation_2"] > 0.5
            and bad[-1]["saturation_2"] > 0.5
            and good[0]["saturation_2"] < 0.2
            and bad[-1]["train_loss"] > 2 * good[-1]["train_loss"]
        )
        summary = (
            f"saturated fraction of layer 2 at init / end: badly scaled "
            f"{bad[0]['saturation_2']:.2f} / {bad[-1]['saturation_2']:.2f}, well scaled "
            f"{good[0]['saturation_2']:.2f} / {good[-1]['saturation_2']:.2f}; training loss after "
            f"{data['epochs']} epochs: badly scaled {bad[-1]['train_loss']:.4f}, well scaled "
            f"{good[-1]['train_loss']:.4f}"
        )
        tol = "badly scaled > 50% saturated at init and end, well scaled < 20%; loss ratio > 2"
        return ok, summary, tol

    def figure(self, data, fig):
        ax = fig.subplots(1, 2)
        for label, h in data["hists"].items():
            ep = [r["epoch"] for r in h]
            (line,) = ax[0].semilogy(ep, [r["train_loss"] for r in h], label=label)
            for l, ls in ((1, "--"), (2, "-")):
                ax[1].plot(
                    ep,
                    [r[f"saturation_{l}"] for r in h],
                    ls,
                    color=line.get_color(),
                    label=f"{label}, layer {l}",
                )
        ax[0].set(
            xlabel=f"epoch (full-batch GD, lr {data['lr']:g})", ylabel="training MSE", title="loss"
        )
        ax[0].legend(fontsize=8)
        ax[1].set(
            xlabel="epoch",
            ylabel="fraction with σ'(z) < 0.01 · max σ'",
            title="saturation",
            ylim=(-0.02, 1.02),
        )
        ax[1].legend(fontsize=7)
