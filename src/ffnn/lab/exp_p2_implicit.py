"""Experiments: implicit regularization — which global minimum training finds (notes 000)."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np

import ffnn
from ffnn.lab._registry import ExperimentResult, experiment
from ffnn.lab.convergence import gradient_descent
from ffnn.lab.exp_p2_common import pyplot, save
from ffnn.lab.hessian import Curvature
from ffnn.lab.implicit import (
    antisymmetric_network,
    empirical_kernel,
    kernel_change,
    min_norm_solution,
    relative_movement,
)
from ffnn.lab.spectrum import top_eigenvalues

MIN_NORM_CLAIM = (
    "GD from θ_0 = 0 on an underdetermined least-squares problem converges to the minimum-norm "
    "interpolant A⁺y (to 1e-6); from θ_0 ≠ 0 it finds the interpolant nearest θ_0 instead"
)


@experiment("min-norm", claim=MIN_NORM_CLAIM)
def run_min_norm(out_dir: Path, *, quick: bool = False, progress: bool = True) -> ExperimentResult:
    """Linear network z = wᵀx + b, n < d; GD from zero and from a random start vs the pinv."""
    rng = np.random.default_rng(0)
    sizes = [(10, 40)] if quick else [(10, 40), (20, 100), (50, 400)]
    rows, curves = [], {}
    for n, d in sizes:
        X = rng.standard_normal((n, d))
        y = rng.standard_normal(n)
        A = np.hstack([X, np.ones((n, 1))])
        theta_mn = min_norm_solution(X, y)
        lr = 1.0 / np.linalg.eigvalsh(2 / n * A.T @ A)[-1]
        for start in ("zero", "random"):
            net = ffnn.mlp([d, 1], dtype=np.float64)
            theta0 = np.zeros(d + 1) if start == "zero" else rng.standard_normal(d + 1)
            net.theta[:] = theta0
            run = gradient_descent(net, X, y, "mse", lr, 3000, theta_star=theta_mn)
            # the interpolant nearest θ_0: θ_0 + A⁺(y − A θ_0)
            nearest = theta0 + np.linalg.pinv(A) @ (y - A @ theta0)
            rows.append(
                {
                    "n": n,
                    "d": d,
                    "start": start,
                    "train_loss": float(run.loss[-1]),
                    "rel_dist_to_min_norm": float(run.err[-1] / np.linalg.norm(theta_mn)),
                    "rel_dist_to_nearest_interpolant": float(
                        np.linalg.norm(net.theta - nearest) / np.linalg.norm(nearest)
                    ),
                    "norm": float(np.linalg.norm(net.theta)),
                    "min_norm": float(np.linalg.norm(theta_mn)),
                }
            )
            curves[(n, d, start)] = run.err / np.linalg.norm(theta_mn)
    zero = [r for r in rows if r["start"] == "zero"]
    rand = [r for r in rows if r["start"] == "random"]
    ok = all(r["rel_dist_to_min_norm"] < 1e-6 and r["train_loss"] < 1e-12 for r in zero)
    ok &= all(r["rel_dist_to_nearest_interpolant"] < 1e-6 for r in rand)
    ok &= all(r["norm"] > r["min_norm"] * (1 + 1e-3) for r in rand)
    plt = pyplot()
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    for i, ((n, d, start), c) in enumerate(curves.items()):
        ax[0].semilogy(
            c,
            color=f"C{i // 2}",
            ls="-" if start == "zero" else "--",
            label=f"n={n}, d={d}, θ_0 {start}",
        )
    ax[0].set(
        xlabel="GD step", ylabel="‖θ_t − A⁺y‖ / ‖A⁺y‖", title="distance to the min-norm solution"
    )
    ax[0].legend(fontsize=7)
    labels = [f"{r['n']}×{r['d']}\n{r['start']}" for r in rows]
    ax[1].bar(
        range(len(rows)),
        [r["norm"] for r in rows],
        color=["C0" if r["start"] == "zero" else "C1" for r in rows],
    )
    ax[1].plot(range(len(rows)), [r["min_norm"] for r in rows], "k_", ms=30, mew=2, label="‖A⁺y‖")
    ax[1].set_xticks(range(len(rows)), labels, fontsize=7)
    ax[1].set(ylabel="‖θ_GD‖", title="norm of the interpolant GD found (all fit exactly)")
    ax[1].legend()
    files = [save(fig, out_dir, "min-norm")]
    worst = max(r["rel_dist_to_min_norm"] for r in zero)
    res = ExperimentResult(
        "min-norm",
        MIN_NORM_CLAIM,
        bool(ok),
        f"from θ_0 = 0: max relative distance to A⁺y {worst:.1e} over {len(zero)} problems; "
        f"from random θ_0: distance to A⁺y ≥ "
        f"{min(r['rel_dist_to_min_norm'] for r in rand):.2f}, to θ_0 + A⁺(y − Aθ_0) ≤ "
        f"{max(r['rel_dist_to_nearest_interpolant'] for r in rand):.1e}",
        rows,
        files,
    )
    res.write_table(out_dir)
    return res


RICH_LAZY_CLAIM = (
    "the initialization scale α sets the regime: parameters and the NTK move by O(1) at small α "
    "(rich, features learned) and hardly at all at large α (lazy: relative NTK change < 1%)"
)


@experiment("rich-lazy", claim=RICH_LAZY_CLAIM)
def run_rich_lazy(out_dir: Path, *, quick: bool = False, progress: bool = True) -> ExperimentResult:
    """Two-layer ReLU nets with f(θ_0) = 0 and weights α·(He draw), trained by GD to 1e-3·L_0."""
    rng = np.random.default_rng(0)
    n, d, m = 20, 5, 100
    X, X_test = rng.standard_normal((n, d)), rng.standard_normal((500, d))

    def target(X):  # a single ReLU feature: what rich training can find
        return 2 * np.maximum(X[:, 0], 0)

    y, y_test = target(X), target(X_test)
    alphas = [0.03, 1.0, 10.0] if quick else [0.03, 0.1, 0.3, 1.0, 3.0, 10.0]
    rows = []
    for alpha in alphas:
        net, _ = antisymmetric_network(d, m, alpha, rng=1)
        theta0 = net.theta.copy()
        K0 = empirical_kernel(net, X)
        C = Curvature(net, X, y, "mse")
        # step size from the curvature at init (the NTK's scale grows like α²)
        lam = max(float(top_eigenvalues(C)[0]), 2 / n * float(np.linalg.eigvalsh(K0)[-1]))
        lr = 0.5 / lam
        L0 = C.value
        buf = net.gradient_buffer()
        steps = 0
        L, g = net.loss_and_grad(X, y, "mse", out=buf)
        while L >= 1e-3 * L0 and steps < 50000:
            net.theta -= lr * g
            steps += 1
            L, g = net.loss_and_grad(X, y, "mse", out=buf)
        hidden0 = np.maximum(X @ theta0[: d * m].reshape(m, d).T + theta0[d * m : d * m + m], 0)
        W, b = net.params[0]
        hidden = np.maximum(X @ W.T + b, 0)
        rows.append(
            {
                "alpha": alpha,
                "lr": lr,
                "steps": steps,
                "train_loss": float(L),
                "relative_param_movement": relative_movement(theta0, net.theta),
                "ntk_change": kernel_change(K0, empirical_kernel(net, X)),
                "feature_change": float(np.linalg.norm(hidden - hidden0) / np.linalg.norm(hidden0)),
                "test_mse": float(np.mean((net(X_test)[:, 0] - y_test) ** 2)),
            }
        )
    mv = [r["relative_param_movement"] for r in rows]
    dk = [r["ntk_change"] for r in rows]
    ok = all(a > b for a, b in pairwise(mv)) and all(a > b for a, b in pairwise(dk))
    ok &= dk[0] > 0.5 and mv[0] > 0.5 and dk[-1] < 0.01
    ok &= all(r["train_loss"] < 1e-3 * np.mean(y**2) for r in rows)
    plt = pyplot()
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    a = [r["alpha"] for r in rows]
    ax[0].loglog(a, mv, "o-", label="‖θ_T − θ_0‖ / ‖θ_0‖")
    ax[0].loglog(a, dk, "s-", label="‖K_T − K_0‖_F / ‖K_0‖_F (NTK)")
    ax[0].loglog(a, [r["feature_change"] for r in rows], "^-", label="hidden-feature change")
    ax[0].set(
        xlabel="initialization scale α",
        ylabel="relative change",
        title="rich (small α) vs lazy (large α) training",
    )
    ax[0].legend(fontsize=8)
    ax[1].semilogx(a, [r["test_mse"] for r in rows], "o-", color="C3")
    ax[1].set(
        xlabel="initialization scale α",
        ylabel="test MSE",
        title="target 2·relu(x_1): every run fits the 20 training points",
    )
    files = [save(fig, out_dir, "rich-lazy")]
    res = ExperimentResult(
        "rich-lazy",
        RICH_LAZY_CLAIM,
        bool(ok),
        f"α from {a[0]:g} to {a[-1]:g}: parameter movement {mv[0]:.2f} → {mv[-1]:.1e}, NTK "
        f"change {dk[0]:.2f} → {dk[-1]:.1e} (both decreasing); test MSE "
        f"{rows[0]['test_mse']:.3f} (rich) vs {rows[-1]['test_mse']:.3f} (lazy)",
        rows,
        files,
    )
    res.write_table(out_dir)
    return res


OPTIMIZER_CLAIM = (
    "optimizers reach different global minima of the same training loss: smaller SGD batches "
    "find flatter minima (lower λ_max) than full-batch GD at the same η, and GD's minimum obeys "
    "λ_max ≤ 2/η"
)


@experiment("optimizer-minima", claim=OPTIMIZER_CLAIM)
def run_optimizer_minima(
    out_dir: Path, *, quick: bool = False, progress: bool = True
) -> ExperimentResult:
    """digits, 64-64-10 ReLU, cross-entropy: GD, SGD (128, 32, 8) and Adam stopped at L = 0.02."""
    from ffnn.data import load_dataset
    from ffnn.train import fit

    ds = load_dataset("digits", rng=0)
    X, y = ds.X / 16.0, ds.y
    idx = np.random.default_rng(0).permutation(len(X))
    n_train = 300 if quick else 500
    tr, te = idx[:n_train], idx[n_train:]
    lr, target = 0.5, 0.02
    runs = [
        ("GD (full batch)", None, "sgd", lr),
        ("SGD batch 128", 128, "sgd", lr),
        ("SGD batch 32", 32, "sgd", lr),
        ("SGD batch 8", 8, "sgd", lr),
        ("Adam batch 32", 32, "adam", 1e-3),
    ]
    if quick:
        runs = [runs[0], runs[3]]
    seeds = [0] if quick else [0, 1]
    rows = []
    for name, bs, opt, eta in runs:
        for seed in seeds:
            net = ffnn.mlp([64, 64, 10], "relu", output="softmax", rng=seed, dtype=np.float64)
            theta0 = net.theta.copy()
            if bs is None:  # exact full-batch GD
                buf = net.gradient_buffer()
                for _ in range(20000):
                    L, g = net.loss_and_grad(X[tr], y[tr], "cross_entropy", out=buf)
                    if L < target:
                        break
                    net.theta -= eta * g
            else:
                fit(
                    net,
                    X[tr],
                    y[tr],
                    "cross_entropy",
                    optimizer=opt,
                    lr=eta,
                    batch_size=bs,
                    epochs=2000,
                    tol_loss=target,
                    rng=seed,
                    progress=False,
                )
            C = Curvature(net, X[tr], y[tr], "cross_entropy")
            lam = float(top_eigenvalues(C, rng=seed)[0])
            rows.append(
                {
                    "optimizer": name,
                    "batch_size": bs or n_train,
                    "lr": eta,
                    "seed": seed,
                    "train_loss": C.value,
                    "lambda_max": lam,
                    "two_over_lr": 2 / eta,
                    "param_norm": float(np.linalg.norm(net.theta)),
                    "distance_from_init": float(np.linalg.norm(net.theta - theta0)),
                    "test_error": float(np.mean(net(X[te]).argmax(1) != y[te])),
                }
            )

    def mean(name, key):
        return float(np.mean([r[key] for r in rows if r["optimizer"] == name]))

    names = [r[0] for r in runs]
    sgd = [nm for nm in names if nm.startswith(("GD", "SGD"))]
    sharp = [mean(nm, "lambda_max") for nm in sgd]
    ok = all(a > b for a, b in pairwise(sharp))
    ok &= all(r["lambda_max"] <= 2 / lr for r in rows if r["optimizer"].startswith("GD"))
    ok &= all(r["train_loss"] < 1.5 * target for r in rows)
    plt = pyplot()
    fig, ax = plt.subplots(1, 3, figsize=(13, 4))
    for k, (key, lab) in enumerate(
        [("lambda_max", "sharpness λ_max(H)"), ("param_norm", "‖θ‖"), ("test_error", "test error")]
    ):
        vals = [mean(nm, key) for nm in names]
        ax[k].bar(range(len(names)), vals, color=[f"C{i}" for i in range(len(names))])
        for r in rows:
            ax[k].plot(names.index(r["optimizer"]), r[key], "k.", ms=5)
        ax[k].set_xticks(range(len(names)), [nm.replace(" ", "\n", 1) for nm in names], fontsize=7)
        ax[k].set(title=lab)
    ax[0].axhline(2 / lr, color="C3", ls="--", label=f"2/η = {2 / lr:g} (SGD/GD)")
    ax[0].legend(fontsize=7)
    fig.suptitle(f"digits, 64-64-10 ReLU, all stopped at training loss {target}")
    files = [save(fig, out_dir, "optimizer-minima")]
    res = ExperimentResult(
        "optimizer-minima",
        OPTIMIZER_CLAIM,
        bool(ok),
        "mean λ_max: "
        + ", ".join(f"{nm} {mean(nm, 'lambda_max'):.2f}" for nm in names)
        + "; test error: "
        + ", ".join(f"{nm} {mean(nm, 'test_error'):.3f}" for nm in names),
        rows,
        files,
    )
    res.write_table(out_dir)
    return res
