"""Experiments: two ReLUs make a sigmoidal unit; halfspace vs kernel vs network; width (003)."""

from __future__ import annotations

import numpy as np

from ffnn.lab._registry import Experiment, Param, register
from ffnn.lab._stats import mean_se, paired, t_factor
from ffnn.lab.learners import LEARNERS, compare_learners, disc_data, width_error
from ffnn.lab.two_relus import bump, bump_network_relu, ramp, ramp_network


@register
class TwoRelus(Experiment):
    """The ramp (2 ReLUs) and the bump (4 ReLUs) with weights set by formula, on a fine grid."""

    name = "two-relus"
    claim = (
        "two ReLUs put together make a sigmoidal unit, the ramp (relu(x − a) − relu(x − b))/(b − a)"
        ": exactly 0 left of a, 1 right of b; two ramps make a bump; so one hidden layer of ReLUs "
        "inherits the universality of sigmoidal networks"
    )
    params = (
        Param("a", float, -0.5, help="ramp start"),
        Param("b", float, 1.0, help="ramp end"),
        Param("grid", int, 4001, 401, "points on [−4, 4]"),
    )
    figsize = (11, 4)

    def measure(self, p, seed, progress):
        x = np.linspace(-4, 4, p.grid)
        r_net, b_net = ramp_network(p.a, p.b), bump_network_relu(-2, -1, 1, 2.5)
        r_out, b_out = r_net(x[:, None])[:, 0], b_net(x[:, None])[:, 0]
        far = r_net(np.array([[-1e6], [1e6]]))[:, 0]
        rows = [
            {
                "construction": "ramp",
                "hidden_units": r_net.widths[1],
                "max_error": float(np.abs(r_out - ramp(x, p.a, p.b)).max()),
                "value_at_minus_1e6": float(far[0]),
                "value_at_plus_1e6": float(far[1]),
            },
            {
                "construction": "bump",
                "hidden_units": b_net.widths[1],
                "max_error": float(np.abs(b_out - bump(x, -2, -1, 1, 2.5)).max()),
            },
        ]
        hidden = np.maximum(x[:, None] - np.array([p.a, p.b]), 0) / (p.b - p.a)
        return {"rows": rows, "x": x, "ramp": r_out, "bump": b_out, "hidden": hidden, "p": p}

    def verdict(self, data):
        r, b = data["rows"]
        tol = (
            16 * np.finfo(float).eps * 4 / (data["p"].b - data["p"].a)
        )  # a few roundings of |x|/(b−a)
        ok = r["max_error"] <= tol and b["max_error"] <= 4 * tol
        ok &= r["value_at_minus_1e6"] == 0 and abs(r["value_at_plus_1e6"] - 1) <= 1e-9
        ok &= r["hidden_units"] == 2 and b["hidden_units"] == 4
        summary = (
            f"ramp from {r['hidden_units']} ReLUs: max |net − formula| = {r['max_error']:.1e}, "
            f"value at −1e6: {r['value_at_minus_1e6']:g}, at +1e6: {r['value_at_plus_1e6']:.12g}; "
            f"bump from {b['hidden_units']} ReLUs: max error {b['max_error']:.1e}"
        )
        return (
            bool(ok),
            summary,
            (
                f"max error ≤ 16 ε · max|x|/(b − a) = {tol:.1e} (bump 4×); "
                "limits 0 exactly and 1 within 1e-9 (roundoff of 1e6/(b−a))"
            ),
        )

    def figure(self, data, fig):
        x, p = data["x"], data["p"]
        ax = fig.subplots(1, 2)
        ax[0].plot(x, data["hidden"][:, 0], "C0:", label="relu(x − a)/(b − a)")
        ax[0].plot(x, -data["hidden"][:, 1], "C1:", label="−relu(x − b)/(b − a)")
        ax[0].plot(
            x, ramp(x, p.a, p.b), "k-", lw=3, alpha=0.3, label="formula: clip((x−a)/(b−a), 0, 1)"
        )
        ax[0].plot(x, data["ramp"], "C3--", lw=1.5, label="network 1-2-1 (sum)")
        ax[0].set(
            ylim=(-1.6, 1.6),
            xlabel="x",
            ylabel="output",
            title=f"ramp: two ReLUs, a = {p.a}, b = {p.b}",
        )
        ax[0].legend(fontsize=7)
        ax[1].plot(x, bump(x, -2, -1, 1, 2.5), "k-", lw=3, alpha=0.3, label="ramp₋₂,₋₁ − ramp₁,₂.₅")
        ax[1].plot(x, data["bump"], "C3--", lw=1.5, label="network 1-4-1")
        ax[1].set(xlabel="x", ylabel="output", ylim=(-0.2, 1.3), title="bump: two ramps")
        ax[1].legend(fontsize=7)


@register
class HalfspaceKernelNetwork(Experiment):
    """Labels 1 inside a disc of half the square's area, x ~ U[−1, 1]²; three learners, seeds."""

    name = "halfspace-kernel-network"
    claim = (
        "on data no halfspace separates (a disc), a linear classifier stays near chance while "
        "kernel regression with the analytic NTK and a trained one-hidden-layer network both "
        "classify well, on the same training set"
    )
    params = (
        Param("n", int, 200, 150, "training examples"),
        Param("seeds", int, 6, 4, "data and init seeds"),
        Param("width", int, 64, 32, "hidden width of the trained network"),
        Param("epochs", int, 1500, 800, "full-batch Adam epochs (linear and network)"),
    )
    figsize = (13, 4)

    def measure(self, p, seed, progress):
        acc, first = {k: [] for k in LEARNERS}, None
        for s in progress(range(p.seeds), "seeds"):
            rng = np.random.default_rng(seed * 1000 + s)
            X, y = disc_data(p.n, rng)
            Xt, yt = disc_data(2000, rng)
            res = compare_learners(
                X, y, Xt, yt, seed=seed * 1000 + s, width=p.width, epochs=p.epochs
            )
            for k in LEARNERS:
                acc[k].append(res[k][0])
            if first is None:
                first = (X, y, {k: v[1] for k, v in res.items()})
        rows = [
            {
                "learner": k,
                "test_accuracy": float(np.mean(a)),
                "se": float(mean_se(a)[1]),
                "per_seed": [round(v, 4) for v in a],
            }
            for k, a in acc.items()
        ]
        return {"rows": rows, "acc": acc, "first": first, "p": p}

    def verdict(self, data):
        acc = data["acc"]
        k = len(acc["linear"])
        t = t_factor(k - 1, k=2)
        gaps = {m: paired(acc[m], acc["linear"]) for m in ("ntk", "network")}
        m_lin = float(np.mean(acc["linear"]))
        ok = all(g > t * se and g > 0.2 for g, se in gaps.values()) and m_lin < 0.7
        ok &= all(np.mean(acc[m]) > 0.9 for m in ("ntk", "network"))
        summary = ", ".join(
            f"{r['learner']}: test accuracy {r['test_accuracy']:.3f} ± {r['se']:.3f}"
            for r in data["rows"]
        )
        summary += "; over linear: " + ", ".join(
            f"{m} +{g:.3f} ± {se:.3f}" for m, (g, se) in gaps.items()
        )
        tol = (
            f"paired gains > t·SE over {k} seeds (t = {t:.2f}, α = 1% over 2) and > 0.2; "
            "linear < 0.7 (chance 0.5); NTK and network > 0.9"
        )
        return bool(ok), summary, tol

    def figure(self, data, fig):
        X, y, preds = data["first"]
        ax = fig.subplots(1, 4)
        g = np.linspace(-1, 1, 150)
        G = np.array(np.meshgrid(g, g)).reshape(2, -1).T
        names = {
            "linear": "halfspace (no hidden layer)",
            "ntk": "analytic NTK regression",
            "network": f"trained 2-{data['p'].width}-1 ReLU",
        }
        for a, k in zip(ax[:3], LEARNERS, strict=True):
            a.contourf(
                g,
                g,
                preds[k](G).reshape(150, 150),
                levels=[-0.5, 0.5, 1.5],
                colors=["#dde", "#fdd"],
            )
            a.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", s=6)
            a.add_patch(_circle())
            a.set(xlabel="x₁", ylabel="x₂", title=names[k], aspect="equal")
        m = [r["test_accuracy"] for r in data["rows"]]
        se = [r["se"] for r in data["rows"]]
        ax[3].bar(range(3), m, yerr=se, capsize=4, color=["C7", "C0", "C2"])
        ax[3].axhline(0.5, color="gray", ls=":", label="chance")
        ax[3].set_xticks(range(3), ["linear", "NTK", "network"])
        ax[3].set(
            ylim=(0, 1.05),
            ylabel="test accuracy (mean ± SE)",
            title=f"{len(data['acc']['linear'])} seeds",
        )
        ax[3].legend(fontsize=7)


def _circle():
    from matplotlib.patches import Circle

    return Circle((0, 0), np.sqrt(2 / np.pi), fill=False, ls="--", color="k", lw=1)


@register
class WidthApproximation(Experiment):
    """1-N-1 tanh networks trained (Adam, cosine) on f(x) = sin(3x) + ½cos(5x) on [−1, 1]."""

    name = "width-approximation"
    claim = (
        "universal approximation by training, not only by construction: trained one-hidden-layer "
        "networks approximate a smooth target better as the width grows (the RMS error falls "
        "with width, on a log-log slope below zero)"
    )
    params = (
        Param("widths", list[int], (1, 2, 4, 8, 16, 32, 64), (1, 4, 16), "hidden widths N"),
        Param("seeds", int, 4, 3, "init seeds per width"),
        Param("epochs", int, 3000, 1500, "full-batch Adam epochs"),
    )
    figsize = (7, 4.5)

    def measure(self, p, seed, progress):
        err = np.array(
            [
                width_error(p.widths, seed * 1000 + s, epochs=p.epochs)
                for s in progress(range(p.seeds), "seeds")
            ]
        )
        m, se = mean_se(err)
        slopes = [np.polyfit(np.log(p.widths), np.log(e), 1)[0] for e in err]
        rows = [
            {"width": w, "rms_error": float(a), "se": float(b)}
            for w, a, b in zip(p.widths, m, se, strict=True)
        ]
        return {"rows": rows, "err": err, "slopes": slopes, "p": p}

    def verdict(self, data):
        err, slopes = data["err"], np.array(data["slopes"])
        k = len(slopes)
        t = t_factor(k - 1, k=2)
        s, s_se = mean_se(slopes)
        drop, drop_se = paired(np.log10(err[:, 0]), np.log10(err[:, -1]))
        ok = s < -t * s_se and drop > t * drop_se and drop > 1
        w = data["p"].widths
        summary = (
            f"RMS error {err[:, 0].mean():.3g} at width {w[0]} → {err[:, -1].mean():.3g} "
            f"at width {w[-1]}; log10 drop {drop:.2f} ± {drop_se:.2f}; log-log slope "
            f"{s:.2f} ± {s_se:.2f}"
        )
        tol = (
            f"slope < −t·SE and drop > t·SE over {k} seeds (t = {t:.2f}, α = 1% over 2); "
            "drop > 1 decade"
        )
        return bool(ok), summary, tol

    def figure(self, data, fig):
        err, p = data["err"], data["p"]
        ax = fig.subplots(1, 1)
        m, se = mean_se(err)
        ax.errorbar(
            p.widths, m, yerr=se, fmt="o-", capsize=3, label=f"mean ± SE ({len(err)} seeds)"
        )
        s = float(np.mean(data["slopes"]))
        c = np.exp(np.mean(np.log(m)) - s * np.mean(np.log(p.widths)))
        ax.plot(
            p.widths,
            c * np.asarray(p.widths, float) ** s,
            "k--",
            lw=1,
            label=f"fitted slope {s:.2f}",
        )
        ax.set(
            xscale="log",
            yscale="log",
            xlabel="hidden width N",
            ylabel="RMS error on [−1, 1]",
            title="trained 1-N-1 tanh on sin(3x) + ½cos(5x)",
        )
        ax.legend(fontsize=8)
