"""Experiments: how a network represents f (notes 003, 004)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ffnn.lab._registry import ExperimentResult, experiment
from ffnn.lab.exp_p1_common import loglog_slope, pyplot, save
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

PWL_CLAIM = (
    "a one-hidden-layer ReLU network with weights set by formula equals any continuous "
    "piecewise-linear function exactly (to float precision)"
)


@experiment("pwl-exact", claim=PWL_CLAIM)
def run_pwl(out_dir: Path, *, quick: bool = False, progress: bool = True) -> ExperimentResult:
    """Random piecewise-linear functions with m pieces, their ReLU networks, the max error."""
    rng = np.random.default_rng(0)
    ms = [1, 2, 4, 8, 16] if quick else [1, 2, 4, 8, 16, 32, 64, 128]
    rows, example = [], None
    for m in ms:
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
        if m == 8:
            example = (t, v, net)
    ok = all(r["error_in_eps_units"] < 10 for r in rows)
    ok &= all(r["pieces_exact"] == r["pieces"] for r in rows)
    plt = pyplot()
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    t, v, net = example
    x = np.linspace(-6, 6, 1000)
    ax[0].plot(x, net(x[:, None])[:, 0], label="ReLU network (10 hidden units)")
    ax[0].plot(t, v, "o", label="breakpoints (t_j, v_j)")
    ax[0].set(title="a piecewise-linear f and its network", xlabel="x")
    ax[0].legend()
    ms_ = [r["pieces"] for r in rows]
    ax[1].semilogy(ms_, [max(r["max_abs_error"], 1e-17) for r in rows], "o-", label="max |net − f|")
    scale = [r["max_abs_error"] / max(r["error_in_eps_units"], 1e-30) for r in rows]
    ax[1].semilogy(ms_, scale, "--", color="gray", label="eps · (10 Σ|W2| + max|v|)")
    ax[1].set(xscale="log", xlabel="pieces m", ylabel="error", title="error vs float rounding")
    ax[1].legend()
    files = [save(fig, out_dir, "pwl-exact")]
    worst = max(r["error_in_eps_units"] for r in rows)
    res = ExperimentResult(
        "pwl-exact",
        PWL_CLAIM,
        ok,
        f"max error {worst:.2f} × the float64 rounding scale over m ≤ {ms[-1]} pieces; "
        "exact piece count = m for every m (the grid count misses pieces shorter than two grid "
        f"cells: {rows[-1]['pieces_counted_grid']} of {rows[-1]['pieces']} at the largest m)",
        rows,
        files,
    )
    res.write_table(out_dir)
    return res


INTERP_CLAIM = (
    "interpolating a smooth f at k knots by a ReLU network, the sup error falls like k^-2 "
    "(bound h² max|f''|/8)"
)


@experiment("relu-interpolation", claim=INTERP_CLAIM)
def run_interp(out_dir: Path, *, quick: bool = False, progress: bool = True) -> ExperimentResult:
    """f(x) = sin(2x) + x²/4 on [−π, π] interpolated at k knots; sup error against k."""

    def f(x):
        return np.sin(2 * x) + 0.25 * x**2

    fpp_max = 4.0 + 0.5  # max |f''| ≤ 4 + 1/2
    a, b = -np.pi, np.pi
    ks = [4, 8, 16, 32, 64] if quick else [4, 8, 16, 32, 64, 128, 256, 512]
    x = np.linspace(a, b, 200001)
    rows = []
    for k in ks:
        net = interpolate(f, a, b, k)
        err = float(np.max(np.abs(net(x[:, None])[:, 0] - f(x))))
        h = (b - a) / (k - 1)
        rows.append(
            {
                "knots": k,
                "hidden_units": net.widths[1],
                "sup_error": err,
                "bound": h * h * fpp_max / 8,
            }
        )
    slope = loglog_slope([r["knots"] for r in rows[1:]], [r["sup_error"] for r in rows[1:]])
    ok = -2.3 < slope < -1.7 and all(r["sup_error"] <= r["bound"] * 1.0001 for r in rows)
    plt = pyplot()
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    for k in ks[:3]:
        net = interpolate(f, a, b, k)
        ax[0].plot(x[::100], net(x[::100, None])[:, 0], label=f"k = {k}")
    ax[0].plot(x[::100], f(x[::100]), "k--", label="f")
    ax[0].set(title="ReLU interpolants", xlabel="x")
    ax[0].legend()
    ax[1].loglog(ks, [r["sup_error"] for r in rows], "o-", label="measured")
    ax[1].loglog(ks, [r["bound"] for r in rows], "--", label="h² max|f''| / 8")
    ax[1].set(xlabel="knots k", ylabel="sup error", title=f"slope {slope:.2f}")
    ax[1].legend()
    files = [save(fig, out_dir, "relu-interpolation")]
    res = ExperimentResult(
        "relu-interpolation",
        INTERP_CLAIM,
        ok,
        f"log-log slope {slope:.2f}, error below the bound at every k",
        rows,
        files,
    )
    res.write_table(out_dir)
    return res


STEP_CLAIM = (
    "steep sigmoids σ(1000(x − 3)) are steps, their differences bumps, and a sum of k steps "
    "approximates a continuous f with sup error falling like 1/k"
)


@experiment("sigmoid-steps", claim=STEP_CLAIM)
def run_steps(out_dir: Path, *, quick: bool = False, progress: bool = True) -> ExperimentResult:
    """The notes' step (x − 3)·1000, a bump on (3, 7), and staircases of k steps for sin."""
    x = np.linspace(0, 10, 100001)
    step = step_network(3.0, 1000.0)(x[:, None])[:, 0]
    far = np.abs(x - 3) > 0.02
    step_err = float(np.max(np.abs(step - (x > 3))[far]))
    bump = bump_network(3.0, 7.0, 2.0, 1000.0)(x[:, None])[:, 0]
    far_b = (np.abs(x - 3) > 0.02) & (np.abs(x - 7) > 0.02)
    bump_err = float(np.max(np.abs(bump - 2.0 * ((x > 3) & (x < 7)))[far_b]))
    ks = [4, 8, 16, 32, 64] if quick else [4, 8, 16, 32, 64, 128, 256]
    a, b = 0.0, 2 * np.pi
    xs = np.linspace(a, b, 50001)
    rows = [
        {"kind": "step", "k": 1, "sup_error": step_err},
        {"kind": "bump", "k": 2, "sup_error": bump_err},
    ]
    errs = []
    for k in ks:
        err = float(np.max(np.abs(staircase(np.sin, a, b, k)(xs[:, None])[:, 0] - np.sin(xs))))
        errs.append(err)
        rows.append({"kind": "staircase", "k": k, "sup_error": err})
    slope = loglog_slope(ks, errs)
    ok = step_err < 1e-8 and bump_err < 1e-8 and -1.2 < slope < -0.8
    plt = pyplot()
    fig, ax = plt.subplots(1, 3, figsize=(13, 3.8))
    ax[0].plot(x, step, label="σ(1000(x−3))")
    ax[0].plot(x, bump, label="2[σ(1000(x−3)) − σ(1000(x−7))]")
    ax[0].set(title="step and bump", xlabel="x")
    ax[0].legend(fontsize=8)
    for k in ks[:3]:
        ax[1].plot(xs, staircase(np.sin, a, b, k)(xs[:, None])[:, 0], label=f"k = {k}")
    ax[1].plot(xs, np.sin(xs), "k--", label="sin")
    ax[1].set(title="sums of steps", xlabel="x")
    ax[1].legend(fontsize=8)
    ax[2].loglog(ks, errs, "o-")
    ax[2].set(title=f"sup error, slope {slope:.2f}", xlabel="steps k")
    files = [save(fig, out_dir, "sigmoid-steps")]
    res = ExperimentResult(
        "sigmoid-steps",
        STEP_CLAIM,
        ok,
        f"step error {step_err:.1e} and bump error {bump_err:.1e} away from "
        f"the jumps; staircase slope {slope:.2f}",
        rows,
        files,
    )
    res.write_table(out_dir)
    return res


DEPTH_CLAIM = (
    "composing the tent map k times, k hidden ReLU layers of width 2 make 2^k linear pieces, "
    "while one hidden layer needs about 2^k units for the same function"
)


@experiment("depth-vs-width", claim=DEPTH_CLAIM)
def run_depth(out_dir: Path, *, quick: bool = False, progress: bool = True) -> ExperimentResult:
    """Deep sawtooth against the shallow network with the same function; pieces counted."""
    ks = range(1, 7) if quick else range(1, 13)
    x = np.linspace(0, 1, 4097)
    rows = []
    for k in ks:
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
    rng = np.random.default_rng(0)
    from ffnn.core.graph import mlp

    bound_ok = True
    for m in (4, 16, 64):
        for _ in range(3):
            net = mlp([1, m, 1], "relu", init="he", rng=rng, dtype=np.float64)
            net.params[0][1][:] = rng.uniform(-1, 1, m)
            bound_ok &= len(linear_pieces(net, -3, 3)) - 1 <= m + 1
    ok = bound_ok and all(
        r["pieces_deep_exact"] == 2 ** r["k"] == r["pieces_deep_grid"] == r["pieces_shallow_exact"]
        and r["max_diff"] < 1e-8
        for r in rows
    )
    plt = pyplot()
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    for k in (1, 2, 3, 5):
        ax[0].plot(x, sawtooth_deep(k)(x[:, None])[:, 0], label=f"k = {k}")
    ax[0].set(title="tent map composed k times", xlabel="x")
    ax[0].legend(fontsize=8)
    kk = [r["k"] for r in rows]
    ax[1].semilogy(kk, [r["pieces_deep_exact"] for r in rows], "o-", label="pieces (counted)")
    ax[1].semilogy(kk, [r["deep_hidden_units"] for r in rows], "s-", label="hidden units, deep")
    ax[1].semilogy(
        kk, [r["shallow_hidden_units"] for r in rows], "^-", label="hidden units, one layer"
    )
    ax[1].set(xlabel="k (depth of the deep net)", title="depth buys pieces exponentially")
    ax[1].legend(fontsize=8)
    files = [save(fig, out_dir, "depth-vs-width")]
    last = rows[-1]
    res = ExperimentResult(
        "depth-vs-width",
        DEPTH_CLAIM,
        ok,
        f"k = {last['k']}: {last['pieces_deep_exact']} pieces from {last['deep_hidden_units']} "
        f"units in {last['k']} layers; one layer needs {last['shallow_hidden_units']} units "
        f"({last['shallow_params']} vs {last['deep_params']} parameters); random one-layer nets "
        f"with m units stay within m + 1 pieces: {bound_ok}",
        rows,
        files,
    )
    res.write_table(out_dir)
    return res
