"""Experiments: overparameterization, statistics at initialization, saturation (notes 000, 004)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ffnn.core.graph import mlp
from ffnn.core.init import Init
from ffnn.lab._registry import ExperimentResult, experiment
from ffnn.lab.exp_p1_common import gd, pyplot, save
from ffnn.lab.init_stats import (
    LayerStats,
    jacobian_norms,
    layer_statistics,
    mean_field,
    predicted_log_variance,
)
from ffnn.lab.jacobian import gradient_rank, param_jacobian
from ffnn.lab.saturation import SaturationCallback

OVER_CLAIM = (
    "once p ≫ n the n per-example gradients ∂f(x_i)/∂θ are linearly independent (rank n, "
    "σ_min > 0 and growing with width) and gradient descent fits random labels (loss → 0); "
    "with p < n it cannot"
)


@experiment("overparameterization", claim=OVER_CLAIM)
def run_overparam(out_dir: Path, *, quick: bool = False, progress: bool = True):
    """One-hidden-layer ReLU nets of growing width on n = 20 random points with random labels."""
    rng = np.random.default_rng(0)
    n, d = 20, 5
    X = rng.standard_normal((n, d))
    y = rng.standard_normal((n, 1))
    widths = [1, 2, 4, 8, 32, 128] if quick else [1, 2, 3, 4, 8, 16, 32, 64, 128, 256, 1024]
    epochs = 1500 if quick else 4000
    rows = []
    for w in widths:
        net = mlp([d, w, 1], "relu", init=Init("he", C_b=0.1), rng=1, dtype=np.float64)
        J = param_jacobian(net, X)[:, 0, :]
        r = gradient_rank(J)
        # stable step for L = 1/n ‖f − y‖²: lr < n / λ_max(J Jᵀ)
        lr = 0.5 * n / r.sigma_max**2
        hist = gd(net, X, y, "mse", lr=lr, epochs=epochs)
        L_end = float(net.loss_and_grad(X, y, "mse")[0])
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
                "loss_end": L_end,
            }
        )
    under = [r for r in rows if r["p"] < n]
    over = [r for r in rows if r["p"] >= 5 * n]
    sig = [r["sigma_min"] for r in over]
    ok = (
        all(r["rank"] < n for r in under)
        and all(r["rank"] == n for r in over)
        and sig[-1] > sig[0]
        and all(r["loss_end"] > 1e-2 * r["loss_start"] for r in under)
        and over[-1]["loss_end"] < 1e-4 * over[-1]["loss_start"]
    )
    plt = pyplot()
    fig, ax = plt.subplots(1, 3, figsize=(13, 3.8))
    ps = [r["p"] for r in rows]
    ax[0].semilogx(ps, [r["rank"] for r in rows], "o-")
    ax[0].axhline(n, color="gray", ls="--", label="n")
    ax[0].axvline(n, color="gray", ls=":")
    ax[0].set(xlabel="parameters p", ylabel="rank of J (n × p)", title="rank")
    ax[0].legend()
    ax[1].loglog(ps, [max(r["sigma_min"], 1e-17) for r in rows], "o-")
    ax[1].set(xlabel="parameters p", title="σ_min of J")
    ax[2].loglog(ps, [max(r["loss_end"], 1e-30) for r in rows], "o-", label="after GD")
    ax[2].loglog(ps, [r["loss_start"] for r in rows], "s--", label="at init")
    ax[2].set(xlabel="parameters p", title=f"training loss, random labels ({epochs} GD steps)")
    ax[2].legend()
    files = [save(fig, out_dir, "overparameterization")]
    summary = (
        f"p < n: rank {max(r['rank'] for r in under)} < {n}, loss stays ≥ "
        f"{min(r['loss_end'] for r in under):.2f}; p ≥ 5n: rank {n}, σ_min {sig[0]:.2g} → "
        f"{sig[-1]:.2g}, final loss {over[-1]['loss_end']:.1e} at width {over[-1]['width']}"
    )
    res = ExperimentResult("overparameterization", OVER_CLAIM, ok, summary, rows, files)
    res.write_table(out_dir)
    return res


SIGNAL_CLAIM = (
    "He initialization keeps the ReLU signal q^(l) constant with depth (LeCun halves it per "
    "layer, C_W = 3 grows it 1.5×), as mean-field theory predicts; for tanh with C_b = 0, "
    "C_W = 1 is the edge of chaos: gradients vanish geometrically for C_W < 1, grow for C_W > 1, "
    "and change only slowly at C_W = 1"
)


@experiment("signal-propagation", claim=SIGNAL_CLAIM)
def run_signal(out_dir: Path, *, quick: bool = False, progress: bool = True):
    """Mean squared pre-activation and δ per layer at init (averaged over a few networks),
    measured against mean field; verdict within a factor 3 at the last layer."""
    rng = np.random.default_rng(0)
    depth, width, n, n_nets = (30, 96, 16, 2) if quick else (60, 256, 64, 4)
    n0 = 32
    X = rng.standard_normal((n, n0))
    q0 = float(np.mean(X * X))
    rows, curves = [], {}
    for act, C_W in [
        ("relu", 1.0),
        ("relu", 2.0),
        ("relu", 3.0),
        ("tanh", 0.5),
        ("tanh", 1.0),
        ("tanh", 2.0),
    ]:
        # average over a few random networks: one network's q^(l) carries a finite-width
        # fluctuation of relative size ~ √(5 L / (n · width)), see jacobian-fluctuation
        stats = []
        for _ in range(n_nets):
            net = mlp([n0] + [width] * depth + [1], act, init=Init(C_W), rng=rng, dtype=np.float64)
            stats.append(layer_statistics(net, X))
        st = LayerStats(
            *(np.mean([getattr(t, f) for t in stats], axis=0) for f in ("q_z", "q_x", "q_delta"))
        )
        q_mf, chi = mean_field(act, C_W, 0.0, depth, q0)
        curves[(act, C_W)] = (st, q_mf)
        # gradient factor per layer, q_delta^(l) / q_delta^(l+1), over the deeper half of the
        # hidden layers (l > L/2), where q^(l) is near its fixed point
        qd = st.q_delta[:depth]
        half = depth // 2
        per_layer = float(np.exp(np.mean(np.log(qd[half:-1] / qd[half + 1 :]))))
        for l in range(depth + 1):
            rows.append(
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
            )

    def ratio(a, c):
        st, _ = curves[(a, c)]
        return st.q_z[depth - 1] / st.q_z[0]

    def gfac(a, c):
        return next(
            r["grad_factor_per_layer"] for r in rows if r["activation"] == a and r["C_W"] == c
        )

    L1 = depth - 1
    he, lecun, big = ratio("relu", 2.0), ratio("relu", 1.0), ratio("relu", 3.0)
    ok = 1 / 3 < he < 3 and 1 / 3 < lecun / 0.5**L1 < 3 and 1 / 3 < big / 1.5**L1 < 3
    g_lo, g_edge, g_hi = gfac("tanh", 0.5), gfac("tanh", 1.0), gfac("tanh", 2.0)
    ok &= g_lo < 0.6 and g_hi > 1.03 and abs(np.log(g_edge)) < min(-np.log(g_lo), np.log(g_hi))
    plt = pyplot()
    fig, ax = plt.subplots(1, 3, figsize=(14, 4))
    ls = np.arange(1, depth + 2)
    for (a, c), (st, q_mf) in curves.items():
        k = 0 if a == "relu" else 1
        (line,) = ax[k].semilogy(ls, st.q_z, "o", ms=3, label=f"{a}, C_W = {c:g} (measured)")
        ax[k].semilogy(ls, q_mf, "-", color=line.get_color(), lw=1)
        if a == "tanh":
            ax[2].semilogy(
                ls, st.q_delta, "o-", ms=3, color=line.get_color(), label=f"tanh, C_W = {c:g}"
            )
    ax[0].set(title="ReLU: q^(l) = mean (z^(l))²  (lines: mean field)", xlabel="layer l")
    ax[1].set(title="tanh: q^(l) (lines: mean field)", xlabel="layer l")
    ax[2].set(title="tanh: backward ‖δ^(l)‖² (edge of chaos at C_W = 1)", xlabel="layer l")
    for a_ in ax:
        a_.legend(fontsize=7)
    files = [save(fig, out_dir, "signal-propagation")]
    summary = (
        f"ReLU q^(L)/q^(1): He {he:.2f}, LeCun {lecun:.2e} (0.5^{L1} = {0.5**L1:.2e}), C_W=3 "
        f"{big:.2e} (1.5^{L1} = {1.5**L1:.2e}); tanh gradient factor per layer: C_W=0.5 "
        f"{g_lo:.3f}, C_W=1 {g_edge:.3f}, C_W=2 {g_hi:.3f}"
    )
    res = ExperimentResult("signal-propagation", SIGNAL_CLAIM, ok, summary, rows, files)
    res.write_table(out_dir)
    return res


FLUCT_CLAIM = (
    "for He-initialized ReLU networks, the fluctuation of ‖∂z^(L+1)/∂x‖² across random "
    "networks grows with depth/width: Var/mean² ≈ exp(5 Σ_l 1/n_l) − 1 (Hanin & Nica), "
    "≈ 5L/n for L ≪ n (the notes' C_0 · L/n)"
)


@experiment("jacobian-fluctuation", claim=FLUCT_CLAIM)
def run_fluct(out_dir: Path, *, quick: bool = False, progress: bool = True):
    """Grid of depths and widths; many random networks per cell; constant of β fitted."""
    depths = [1, 2, 4, 8] if quick else [1, 2, 4, 8, 16]
    widths = [16, 64] if quick else [16, 32, 64, 128]
    n_nets = 300 if quick else 1000
    n0 = 10
    rng = np.random.default_rng(0)
    rows = []
    for n in widths:
        for L in depths:
            arch = [n0] + [n] * L + [1]
            v = jacobian_norms(arch, n_nets, rng=rng)
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
    beta = np.array([r["beta"] for r in rows])
    from scipy import special

    s2 = np.array([r["var_log"] for r in rows]) - float(special.polygamma(1, n0 / 2))
    c_all = float(beta @ s2 / (beta @ beta))
    wide = np.array([r["width"] >= 64 for r in rows])
    c_wide = float(beta[wide] @ s2[wide] / (beta[wide] @ beta[wide]))
    mono = all(np.all(np.diff([r["var_log"] for r in rows if r["width"] == n]) > 0) for n in widths)
    ok = mono and 4.0 < c_wide < 7.0
    plt = pyplot()
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    for n in widths:
        rs = [r for r in rows if r["width"] == n]
        (line,) = ax[0].plot(
            [r["beta"] for r in rs], [r["var_log"] for r in rs], "o", label=f"width {n}"
        )
        ax[0].plot(
            [r["beta"] for r in rs],
            [r["var_log_predicted"] for r in rs],
            "-",
            color=line.get_color(),
            lw=1,
        )
        ax[1].loglog(
            [r["beta"] for r in rs],
            [r["var_over_mean2"] for r in rs],
            "o",
            color=line.get_color(),
            label=f"width {n}",
        )
    bb = np.linspace(0, beta.max(), 50)
    ax[0].plot(bb, 5 * bb + special.polygamma(1, n0 / 2), "k--", label="5β + ψ'(n_0/2)")
    ax[0].set(
        xlabel="β = L / n",
        ylabel="Var log ‖∂z/∂x‖²",
        title=f"fitted constant {c_wide:.2f} (width ≥ 64), {c_all:.2f} (all)",
    )
    ax[0].legend(fontsize=7)
    bb = np.geomspace(beta.min(), beta.max(), 50)
    ax[1].loglog(bb, np.expm1(5 * bb + 2 / n0), "k--", label="exp(5β + 2/n_0) − 1")
    ax[1].set(xlabel="β = L / n", ylabel="Var / mean² of ‖∂z/∂x‖²", title="relative variance")
    ax[1].legend(fontsize=7)
    files = [save(fig, out_dir, "jacobian-fluctuation")]
    summary = (
        f"Var log‖∂z/∂x‖² increases with depth at every width: {mono}; fitted "
        f"Var log = c·β + ψ'(n_0/2): c = {c_wide:.2f} (widths ≥ 64), {c_all:.2f} (all widths; "
        "finite-width layers add more than 5/n each); literature large-width constant 5"
    )
    res = ExperimentResult("jacobian-fluctuation", FLUCT_CLAIM, ok, summary, rows, files)
    res.write_table(out_dir)
    return res


SAT_CLAIM = (
    "a sigmoid network with badly scaled hidden weights has most units saturated (σ' ≈ 0), "
    "they stay saturated, and it learns slowly; a well scaled one does not"
)


@experiment("saturation", claim=SAT_CLAIM)
def run_saturation(out_dir: Path, *, quick: bool = False, progress: bool = True):
    """Same data, same GD; a sigmoid net with C_W = 16 (= 1/σ'(0)²) against the same net with
    its hidden-layer weights and biases 10× too large (output layer unchanged)."""
    rng = np.random.default_rng(0)
    n = 128
    X = rng.uniform(-2, 2, (n, 2))
    y = np.sin(2 * X[:, :1]) * np.cos(X[:, 1:])
    epochs = 1500 if quick else 2000
    rows, hists = [], {}
    good_label, bad_label = "well scaled (C_W = 16)", "hidden layers 10× too large"
    for label, factor in [(good_label, 1.0), (bad_label, 10.0)]:
        net = mlp([2, 16, 16, 1], "sigmoid", init=Init(16.0), rng=1, dtype=np.float64)
        for W, b in net.params[:-1]:
            W *= factor
            b *= factor
        cb = SaturationCallback(X, threshold=1e-2)
        hist = gd(net, X, y, "mse", lr=0.05, epochs=epochs, callbacks=[cb])
        hists[label] = hist
        for h in hist[:: max(1, epochs // 100)]:
            rows.append({"net": label, **h})
    good, bad = hists[good_label], hists[bad_label]
    ok = (
        bad[0]["saturation_2"] > 0.5
        and bad[-1]["saturation_2"] > 0.5
        and good[0]["saturation_2"] < 0.2
        and bad[-1]["train_loss"] > 2 * good[-1]["train_loss"]
    )
    plt = pyplot()
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    for label, h in hists.items():
        ep = [r["epoch"] for r in h]
        (line,) = ax[0].semilogy(ep, [r["train_loss"] for r in h], label=label)
        ax[1].plot(
            ep,
            [r["saturation_1"] for r in h],
            "--",
            color=line.get_color(),
            label=f"{label}, layer 1",
        )
        ax[1].plot(
            ep,
            [r["saturation_2"] for r in h],
            "-",
            color=line.get_color(),
            label=f"{label}, layer 2",
        )
    ax[0].set(xlabel="epoch (full-batch GD, lr 0.05)", ylabel="training MSE", title="loss")
    ax[0].legend(fontsize=8)
    ax[1].set(
        xlabel="epoch",
        ylabel="fraction with σ'(z) < 0.01 · max σ'",
        title="saturation",
        ylim=(-0.02, 1.02),
    )
    ax[1].legend(fontsize=7)
    files = [save(fig, out_dir, "saturation")]
    summary = (
        f"saturated fraction of layer 2 at init / end: badly scaled {bad[0]['saturation_2']:.2f}"
        f" / {bad[-1]['saturation_2']:.2f}, well scaled {good[0]['saturation_2']:.2f} / "
        f"{good[-1]['saturation_2']:.2f}; training loss after {epochs} epochs: badly scaled "
        f"{bad[-1]['train_loss']:.4f}, well scaled {good[-1]['train_loss']:.4f}"
    )
    res = ExperimentResult("saturation", SAT_CLAIM, ok, summary, rows, files)
    res.write_table(out_dir)
    return res
