"""Experiments: how a network represents f (notes 003, 004)."""

from __future__ import annotations

import numpy as np

from ffnn.core.graph import mlp
from ffnn.lab._figures import loglog_slope
from ffnn.lab._registry import Experiment, Param, register
from ffnn.lab.represent import (
    bump_network,
    count_pieces,
    interpolate,
    linear_pieces,
    relu_interpolant,
    sawtooth,
    sawtooth_deep,
    sawtooth_shallow,
    staircase,
    step_network,
)


@register
class PwlExact(Experiment):
    """Random piecewise-linear functions with m pieces, their ReLU networks, the max error."""

    name = "pwl-exact"
    claim = (
        "a one-hidden-layer ReLU network with weights set by formula equals any continuous "
        "piecewise-linear function exactly (to float precision)"
    )
    params = (
        Param("pieces", list[int], (1, 2, 4, 8, 16, 32, 64, 128), (1, 2, 4, 8, 16), "pieces m"),
    )
    figsize = (10, 4)

    def measure(self, p, seed, progress):
        rng = np.random.default_rng(seed)
        rows, examples = [], {}
        for m in progress(p.pieces, "pieces"):
            t = np.sort(rng.uniform(-5, 5, m + 1))
            t[0], t[-1] = -5.0, 5.0
            v = rng.standard_normal(m + 1)
            net = relu_interpolant(t, v)
            x = np.concatenate([np.linspace(-5, 5, 20001), t])
            err = np.max(np.abs(net(x[:, None])[:, 0] - np.interp(x, t, v)))
            # rounding bound of the output sum Σ_j W2_j relu(x - t_j) + b2 on |x| ≤ 5
            W2 = net.params[1][0]
            scale = np.sum(np.abs(W2)) * 10.0 + np.max(np.abs(v))
            rows.append(
                {
                    "pieces": m,
                    "hidden_units": net.widths[1],
                    "max_abs_error": float(err),
                    "error_in_eps_units": float(err / (np.finfo(float).eps * scale)),
                    "pieces_counted_grid": count_pieces(net, -5, 5),
                    "pieces_exact": len(linear_pieces(net, -5, 5)) - 1,
                }
            )
            examples[m] = (t, v, net)
        return {"rows": rows, "example": examples[min(examples, key=lambda m: abs(m - 8))]}

    def verdict(self, data):
        rows = data["rows"]
        ok = all(r["error_in_eps_units"] < 10 for r in rows)
        ok &= all(r["pieces_exact"] == r["pieces"] for r in rows)
        worst = max(r["error_in_eps_units"] for r in rows)
        summary = (
            f"max error {worst:.2f} × the float64 rounding scale over m ≤ {rows[-1]['pieces']} "
            "pieces; exact piece count = m for every m (the grid count misses pieces shorter "
            f"than two grid cells: {rows[-1]['pieces_counted_grid']} of {rows[-1]['pieces']} "
            "at the largest m)"
        )
        return ok, summary, "error < 10 × eps · (10 Σ|W2| + max|v|), piece count exactly m"

    def figure(self, data, fig):
        rows, (t, v, net) = data["rows"], data["example"]
        ax = fig.subplots(1, 2)
        x = np.linspace(-6, 6, 1000)
        ax[0].plot(x, net(x[:, None])[:, 0], label=f"ReLU network ({net.widths[1]} hidden units)")
        ax[0].plot(t, v, "o", label="breakpoints (t_j, v_j)")
        ax[0].set(title="a piecewise-linear f and its network", xlabel="x", ylabel="f(x)")
        ax[0].legend()
        ms_ = [r["pieces"] for r in rows]
        err = [max(r["max_abs_error"], 1e-17) for r in rows]
        ax[1].semilogy(ms_, err, "o-", label="max |net − f|")
        scale = [r["max_abs_error"] / max(r["error_in_eps_units"], 1e-30) for r in rows]
        ax[1].semilogy(ms_, scale, "--", color="gray", label="eps · (10 Σ|W2| + max|v|)")
        ax[1].set(xscale="log", xlabel="pieces m", ylabel="error", title="error vs float rounding")
        ax[1].legend()


def _f(x):
    return np.sin(2 * x) + 0.25 * x**2


@register
class ReluInterpolation(Experiment):
    """f(x) = sin(2x) + x²/4 on [−π, π] interpolated at k knots; sup error against k."""

    name = "relu-interpolation"
    claim = (
        "interpolating a smooth f at k knots by a ReLU network, the sup error falls like k^-2 "
        "(bound h² max|f''|/8)"
    )
    params = (
        Param("knots", list[int], (4, 8, 16, 32, 64, 128, 256, 512), (4, 8, 16, 32, 64), "k"),
    )
    figsize = (10, 4)

    def measure(self, p, seed, progress):
        fpp_max = 4.0 + 0.5  # max |f''| ≤ 4 + 1/2
        a, b = -np.pi, np.pi
        x = np.linspace(a, b, 200001)
        rows = []
        for k in progress(p.knots, "knots"):
            net = interpolate(_f, a, b, k)
            err = float(np.max(np.abs(net(x[:, None])[:, 0] - _f(x))))
            h = (b - a) / (k - 1)
            bound = h * h * fpp_max / 8
            rows.append(
                {"knots": k, "hidden_units": net.widths[1], "sup_error": err, "bound": bound}
            )
        slope = loglog_slope([r["knots"] for r in rows[1:]], [r["sup_error"] for r in rows[1:]])
        return {"rows": rows, "slope": slope, "x": x[::100], "knots": p.knots}

    def verdict(self, data):
        rows, slope = data["rows"], data["slope"]
        ok = -2.3 < slope < -1.7 and all(r["sup_error"] <= r["bound"] * 1.0001 for r in rows)
        summary = f"log-log slope {slope:.2f}, error below the bound at every k"
        return ok, summary, "slope in (−2.3, −1.7); sup error ≤ bound · (1 + 1e-4)"

    def figure(self, data, fig):
        rows, x, ks = data["rows"], data["x"], data["knots"]
        ax = fig.subplots(1, 2)
        for k in ks[:3]:
            ax[0].plot(x, interpolate(_f, -np.pi, np.pi, k)(x[:, None])[:, 0], label=f"k = {k}")
        ax[0].plot(x, _f(x), "k--", label="f")
        ax[0].set(title="ReLU interpolants", xlabel="x", ylabel="f(x)")
        ax[0].legend()
        ax[1].loglog(ks, [r["sup_error"] for r in rows], "o-", label="measured")
        ax[1].loglog(ks, [r["bound"] for r in rows], "--", label="h² max|f''| / 8")
        ax[1].set(xlabel="knots k", ylabel="sup error", title=f"slope {data['slope']:.2f}")
        ax[1].legend()


@register
class SigmoidSteps(Experiment):
    """The notes' step (x − 3)·1000, a bump on (3, 7), and staircases of k steps for sin."""

    name = "sigmoid-steps"
    claim = (
        "steep sigmoids σ(1000(x − 3)) are steps, their differences bumps, and a sum of k steps "
        "approximates a continuous f with sup error falling like 1/k"
    )
    params = (
        Param("steps", list[int], (4, 8, 16, 32, 64, 128, 256), (4, 8, 16, 32, 64), "steps k"),
    )
    figsize = (13, 3.8)

    def measure(self, p, seed, progress):
        x = np.linspace(0, 10, 100001)
        step = step_network(3.0, 1000.0)(x[:, None])[:, 0]
        far = np.abs(x - 3) > 0.02
        step_err = float(np.max(np.abs(step - (x > 3))[far]))
        bump = bump_network(3.0, 7.0, 2.0, 1000.0)(x[:, None])[:, 0]
        far_b = (np.abs(x - 3) > 0.02) & (np.abs(x - 7) > 0.02)
        bump_err = float(np.max(np.abs(bump - 2.0 * ((x > 3) & (x < 7)))[far_b]))
        xs = np.linspace(0.0, 2 * np.pi, 50001)
        rows = [
            {"kind": "step", "k": 1, "sup_error": step_err},
            {"kind": "bump", "k": 2, "sup_error": bump_err},
        ]
        stairs = {}
        for k in progress(p.steps, "steps"):
            stairs[k] = staircase(np.sin, 0.0, 2 * np.pi, k)(xs[:, None])[:, 0]
            err = float(np.max(np.abs(stairs[k] - np.sin(xs))))
            rows.append({"kind": "staircase", "k": k, "sup_error": err})
        slope = loglog_slope(p.steps, [r["sup_error"] for r in rows[2:]])
        return {
            "rows": rows,
            "slope": slope,
            "x": x,
            "step": step,
            "bump": bump,
            "xs": xs,
            "stairs": stairs,
        }

    def verdict(self, data):
        step_err, bump_err = data["rows"][0]["sup_error"], data["rows"][1]["sup_error"]
        slope = data["slope"]
        ok = step_err < 1e-8 and bump_err < 1e-8 and -1.2 < slope < -0.8
        summary = (
            f"step error {step_err:.1e} and bump error {bump_err:.1e} away from "
            f"the jumps; staircase slope {slope:.2f}"
        )
        return ok, summary, "step and bump errors < 1e-8 (|x − jump| > 0.02); slope in (−1.2, −0.8)"

    def figure(self, data, fig):
        x, xs, stairs = data["x"], data["xs"], data["stairs"]
        ax = fig.subplots(1, 3)
        ax[0].plot(x, data["step"], label="σ(1000(x−3))")
        ax[0].plot(x, data["bump"], label="2[σ(1000(x−3)) − σ(1000(x−7))]")
        ax[0].set(title="step and bump", xlabel="x", ylabel="network output")
        ax[0].legend(fontsize=8)
        for k in list(stairs)[:3]:
            ax[1].plot(xs, stairs[k], label=f"k = {k}")
        ax[1].plot(xs, np.sin(xs), "k--", label="sin")
        ax[1].set(title="sums of steps", xlabel="x", ylabel="f(x)")
        ax[1].legend(fontsize=8)
        ax[2].loglog(list(stairs), [r["sup_error"] for r in data["rows"][2:]], "o-")
        ax[2].set(
            title=f"sup error, slope {data['slope']:.2f}",
            xlabel="steps k",
            ylabel="sup |staircase − sin|",
        )


@register
class DepthVsWidth(Experiment):
    """Deep sawtooth against the shallow network with the same function; pieces counted."""

    name = "depth-vs-width"
    claim = (
        "composing the tent map k times, k hidden ReLU layers of width 2 make 2^k linear pieces, "
        "while one hidden layer needs about 2^k units for the same function"
    )
    params = (Param("max_depth", int, 12, 6, "compose the tent map k = 1..max_depth times"),)
    figsize = (10, 4)

    def measure(self, p, seed, progress):
        x = np.linspace(0, 1, 4097)
        rows = []
        for k in progress(range(1, p.max_depth + 1), "depth"):
            deep, shallow = sawtooth_deep(k), sawtooth_shallow(k)
            grid = max(2**16, 2 ** (k + 4))
            rows.append(
                {
                    "k": k,
                    "pieces_deep_exact": len(linear_pieces(deep, 0, 1)) - 1,
                    "pieces_deep_grid": count_pieces(deep, 0, 1, grid),
                    "pieces_shallow_exact": len(linear_pieces(shallow, 0, 1)) - 1,
                    "deep_hidden_units": 2 * k,
                    "deep_params": deep.n_params,
                    "shallow_hidden_units": shallow.widths[1],
                    "shallow_params": shallow.n_params,
                    "max_diff": float(np.max(np.abs(deep(x[:, None]) - shallow(x[:, None])))),
                    "deep_error": float(np.max(np.abs(deep(x[:, None])[:, 0] - sawtooth(x, k)))),
                }
            )
        # a one-hidden-layer ReLU net with m units has at most m + 1 pieces: check on random nets
        rng = np.random.default_rng(seed)
        bound_ok = True
        for m in (4, 16, 64):
            for _ in range(3):
                net = mlp([1, m, 1], "relu", init="he", rng=rng, dtype=np.float64)
                net.params[0][1][:] = rng.uniform(-1, 1, m)
                bound_ok &= len(linear_pieces(net, -3, 3)) - 1 <= m + 1
        return {"rows": rows, "bound_ok": bool(bound_ok), "x": x}

    def verdict(self, data):
        rows, bound_ok, last = data["rows"], data["bound_ok"], data["rows"][-1]
        ok = bound_ok and all(
            r["pieces_deep_exact"] == 2 ** r["k"] == r["pieces_deep_grid"]
            and r["pieces_deep_exact"] == r["pieces_shallow_exact"]
            and r["max_diff"] < 1e-8
            for r in rows
        )
        summary = (
            f"k = {last['k']}: {last['pieces_deep_exact']} pieces from "
            f"{last['deep_hidden_units']} units in {last['k']} layers; one layer needs "
            f"{last['shallow_hidden_units']} units ({last['shallow_params']} vs "
            f"{last['deep_params']} parameters); random one-layer nets with m units stay within "
            f"m + 1 pieces: {bound_ok}"
        )
        return ok, summary, "piece counts exactly 2^k; deep and shallow nets differ < 1e-8"

    def figure(self, data, fig):
        rows, x = data["rows"], data["x"]
        ax = fig.subplots(1, 2)
        for k in (1, 2, 3, 5):
            ax[0].plot(x, sawtooth_deep(k)(x[:, None])[:, 0], label=f"k = {k}")
        ax[0].set(title="tent map composed k times", xlabel="x", ylabel="f(x)")
        ax[0].legend(fontsize=8)
        kk = [r["k"] for r in rows]
        ax[1].semilogy(kk, [r["pieces_deep_exact"] for r in rows], "o-", label="pieces (counted)")
        ax[1].semilogy(kk, [r["deep_hidden_units"] for r in rows], "s-", label="hidden units, deep")
        shallow = [r["shallow_hidden_units"] for r in rows]
        ax[1].semilogy(kk, shallow, "^-", label="hidden units, one layer")
        ax[1].set(
            xlabel="k (depth of the deep net)",
            ylabel="count",
            title="depth buys pieces exponentially",
        )
        ax[1].legend(fontsize=8)
