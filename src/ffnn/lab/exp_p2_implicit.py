"""Experiments: implicit regularization — which global minimum training finds (notes 000)."""

from __future__ import annotations

from itertools import pairwise

import numpy as np

import ffnn
from ffnn.errors import FFNNError
from ffnn.lab._registry import Experiment, Param, register
from ffnn.lab.convergence import gradient_descent
from ffnn.lab.gd import gd
from ffnn.lab.hessian import Curvature
from ffnn.lab.implicit import (
    antisymmetric_network,
    empirical_kernel,
    kernel_change,
    min_norm_solution,
    relative_movement,
)
from ffnn.lab.spectrum import top_eigenvalues


def _min_norm_row(X, y, start, rng, steps):
    """GD on the linear model from θ_0 = 0 or random; its distances to A⁺y and the nearest fit."""
    n, d = X.shape
    A = np.hstack([X, np.ones((n, 1))])
    theta_mn = min_norm_solution(X, y)
    lr = 1.0 / np.linalg.eigvalsh(2 / n * A.T @ A)[-1]
    net = ffnn.mlp([d, 1], dtype=np.float64)
    theta0 = np.zeros(d + 1) if start == "zero" else rng.standard_normal(d + 1)
    net.theta[:] = theta0
    run = gradient_descent(net, X, y, "mse", lr, steps, theta_star=theta_mn)
    # the interpolant nearest θ_0: θ_0 + A⁺(y − A θ_0)
    nearest = theta0 + np.linalg.pinv(A) @ (y - A @ theta0)
    row = {
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
    return row, run.err / np.linalg.norm(theta_mn)


@register
class MinNorm(Experiment):
    """Linear network z = wᵀx + b, n < d; GD from zero and from a random start vs the pinv."""

    name = "min-norm"
    claim = (
        "GD from θ_0 = 0 on an underdetermined least-squares problem converges to the "
        "minimum-norm interpolant A⁺y (to 1e-6); from θ_0 ≠ 0 it finds the interpolant nearest "
        "θ_0 instead"
    )
    params = (
        Param("n", list[int], (10, 20, 50), (10,), "data points of each problem"),
        Param("d", list[int], (40, 100, 400), (40,), "input dimensions (d > n), paired with n"),
        Param("steps", int, 3000, help="GD steps"),
    )

    def measure(self, p, seed, progress):
        if len(p.n) != len(p.d):
            raise FFNNError(f"min-norm: n and d pair up; got {len(p.n)} n and {len(p.d)} d")
        rng = np.random.default_rng(seed)
        rows, curves = [], {}
        for n, d in progress(list(zip(p.n, p.d, strict=True)), "problems"):
            X = rng.standard_normal((n, d))
            y = rng.standard_normal(n)
            for start in ("zero", "random"):
                row, curves[(n, d, start)] = _min_norm_row(X, y, start, rng, p.steps)
                rows.append(row)
        return {"rows": rows, "curves": curves}

    def verdict(self, data):
        zero = [r for r in data["rows"] if r["start"] == "zero"]
        rand = [r for r in data["rows"] if r["start"] == "random"]
        ok = all(r["rel_dist_to_min_norm"] < 1e-6 and r["train_loss"] < 1e-12 for r in zero)
        ok &= all(r["rel_dist_to_nearest_interpolant"] < 1e-6 for r in rand)
        ok &= all(r["norm"] > r["min_norm"] * (1 + 1e-3) for r in rand)
        worst = max(r["rel_dist_to_min_norm"] for r in zero)
        summary = (
            f"from θ_0 = 0: max relative distance to A⁺y {worst:.1e} over {len(zero)} "
            f"problems; from random θ_0: distance to A⁺y ≥ "
            f"{min(r['rel_dist_to_min_norm'] for r in rand):.2f}, to θ_0 + A⁺(y − Aθ_0) ≤ "
            f"{max(r['rel_dist_to_nearest_interpolant'] for r in rand):.1e}"
        )
        tol = "relative distances < 1e-6, training loss < 1e-12; random starts' norm > ‖A⁺y‖"
        return bool(ok), summary, tol

    def figure(self, data, fig):
        rows = data["rows"]
        ax = fig.subplots(1, 2)
        for i, ((n, d, start), c) in enumerate(data["curves"].items()):
            ax[0].semilogy(
                c,
                color=f"C{i // 2}",
                ls="-" if start == "zero" else "--",
                label=f"n={n}, d={d}, θ_0 {start}",
            )
        ax[0].set(
            xlabel="GD step",
            ylabel="‖θ_t − A⁺y‖ / ‖A⁺y‖",
            title="distance to the min-norm solution",
        )
        ax[0].legend(fontsize=7)
        x = range(len(rows))
        ax[1].bar(
            x,
            [r["norm"] for r in rows],
            color=["C0" if r["start"] == "zero" else "C1" for r in rows],
        )
        ax[1].plot(x, [r["min_norm"] for r in rows], "k_", ms=30, mew=2, label="‖A⁺y‖")
        ax[1].set_xticks(x, [f"{r['n']}×{r['d']}\n{r['start']}" for r in rows], fontsize=7)
        ax[1].set(ylabel="‖θ_GD‖", title="norm of the interpolant GD found (all fit exactly)")
        ax[1].legend()


def _target(X):  # a single ReLU feature: what rich training can find
    return 2 * np.maximum(X[:, 0], 0)


def _train_to(net, X, y, lr, rel_tol, max_steps):
    """GD until L < rel_tol · L(θ_0); (final loss, steps taken)."""
    state = {}

    def stop(t, L, g):
        state.setdefault("L0", L)
        state["L"] = L
        return L < rel_tol * state["L0"]

    steps = gd(net, X, y, "mse", lr=lr, steps=max_steps, callback=stop)
    return state["L"], steps


@register
class RichLazy(Experiment):
    """Two-layer ReLU nets with f(θ_0) = 0 and weights α·(He draw), trained by GD to 1e-3·L_0."""

    name = "rich-lazy"
    claim = (
        "the initialization scale α sets the regime: parameters and the NTK move by O(1) at "
        "small α (rich, features learned) and hardly at all at large α (lazy: relative NTK "
        "change < 1%)"
    )
    params = (
        Param(
            "alphas",
            list[float],
            (0.03, 0.1, 0.3, 1.0, 3.0, 10.0),
            (0.03, 1.0, 10.0),
            "initialization scales α",
        ),
        Param("width", int, 100, help="hidden units per copy"),
        Param("max_steps", int, 50000, help="cap on the GD steps of one run"),
    )

    def measure(self, p, seed, progress):
        rng = np.random.default_rng(seed)
        n, d, m = 20, 5, p.width
        X, X_test = rng.standard_normal((n, d)), rng.standard_normal((500, d))
        y, y_test = _target(X), _target(X_test)
        rows = []
        for alpha in progress(p.alphas, "scales"):
            net, _ = antisymmetric_network(d, m, alpha, rng=seed + 1)
            theta0 = net.theta.copy()
            K0 = empirical_kernel(net, X)
            C = Curvature(net, X, y, "mse")
            # step size from the curvature at init (the NTK's scale grows like α²)
            lam = max(float(top_eigenvalues(C)[0]), 2 / n * float(np.linalg.eigvalsh(K0)[-1]))
            L, steps = _train_to(net, X, y, 0.5 / lam, 1e-3, p.max_steps)
            W0, b0 = theta0[: d * m].reshape(m, d), theta0[d * m : d * m + m]
            hidden0 = np.maximum(X @ W0.T + b0, 0)
            W, b = net.params[0]
            hidden = np.maximum(X @ W.T + b, 0)
            rows.append(
                {
                    "alpha": alpha,
                    "lr": 0.5 / lam,
                    "steps": steps,
                    "train_loss": float(L),
                    "relative_param_movement": relative_movement(theta0, net.theta),
                    "ntk_change": kernel_change(K0, empirical_kernel(net, X)),
                    "feature_change": float(
                        np.linalg.norm(hidden - hidden0) / np.linalg.norm(hidden0)
                    ),
                    "test_mse": float(np.mean((net(X_test)[:, 0] - y_test) ** 2)),
                }
            )
        return {"rows": rows, "mean_y2": float(np.mean(y**2)), "n": n}

    def verdict(self, data):
        rows = data["rows"]
        mv = [r["relative_param_movement"] for r in rows]
        dk = [r["ntk_change"] for r in rows]
        ok = all(a > b for a, b in pairwise(mv)) and all(a > b for a, b in pairwise(dk))
        ok &= dk[0] > 0.5 and mv[0] > 0.5 and dk[-1] < 0.01
        ok &= all(r["train_loss"] < 1e-3 * data["mean_y2"] for r in rows)
        summary = (
            f"α from {rows[0]['alpha']:g} to {rows[-1]['alpha']:g}: parameter movement "
            f"{mv[0]:.2f} → {mv[-1]:.1e}, NTK change {dk[0]:.2f} → {dk[-1]:.1e} (both "
            f"decreasing); test MSE {rows[0]['test_mse']:.3f} (rich) vs "
            f"{rows[-1]['test_mse']:.3f} (lazy)"
        )
        tol = "smallest α: movement and NTK change > 0.5; largest α: NTK change < 0.01"
        return bool(ok), summary, tol

    def figure(self, data, fig):
        rows = data["rows"]
        ax = fig.subplots(1, 2)
        a = [r["alpha"] for r in rows]
        ax[0].loglog(
            a, [r["relative_param_movement"] for r in rows], "o-", label="‖θ_T − θ_0‖ / ‖θ_0‖"
        )
        ax[0].loglog(
            a, [r["ntk_change"] for r in rows], "s-", label="‖K_T − K_0‖_F / ‖K_0‖_F (NTK)"
        )
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
            title=f"target 2·relu(x_1): every run fits the {data['n']} training points",
        )


def _optimizer_runs(batches, adam):
    runs = [
        ("GD (full batch)" if b == 0 else f"SGD batch {b}", b or None, "sgd", None) for b in batches
    ]
    return runs + ([("Adam batch 32", 32, "adam", 1e-3)] if adam else [])


def _fit_to(net, X, y, name, bs, opt, eta, target, seed):
    """Train net to a training loss of ``target``: exact GD (bs None) or minibatch ``fit``."""
    from ffnn.train import fit

    if bs is None:
        gd(net, X, y, "cross_entropy", lr=eta, steps=20000, callback=lambda t, L, g: L < target)
        return
    fit(
        net,
        X,
        y,
        "cross_entropy",
        optimizer=opt,
        lr=eta,
        batch_size=bs,
        epochs=2000,
        tol_loss=target,
        rng=seed,
        progress=False,
    )


@register
class OptimizerMinima(Experiment):
    """digits, 64-64-10 ReLU, cross-entropy: GD, SGD (128, 32, 8) and Adam stopped at L = 0.02."""

    name = "optimizer-minima"
    claim = (
        "optimizers reach different global minima of the same training loss: smaller SGD "
        "batches find flatter minima (lower λ_max) than full-batch GD at the same η, and GD's "
        "minimum obeys λ_max ≤ 2/η"
    )
    params = (
        Param(
            "batches",
            list[int],
            (0, 128, 32, 8),
            (0, 8),
            "SGD batch sizes, decreasing (0: full-batch GD)",
        ),
        Param("adam", bool, True, False, "add Adam (batch 32, η = 1e-3)"),
        Param("n_seeds", int, 2, 1, "seeds per optimizer"),
        Param("n_train", int, 500, 300, "training examples of digits"),
        Param("lr", float, 0.5, help="GD and SGD learning rate η"),
        Param("target", float, 0.02, help="training loss at which every run stops"),
    )
    figsize = (13, 4)

    def measure(self, p, seed, progress):
        from ffnn.data import load_dataset

        ds = load_dataset("digits", rng=0)
        X, y = ds.X / 16.0, ds.y
        idx = np.random.default_rng(seed).permutation(len(X))
        tr, te = idx[: p.n_train], idx[p.n_train :]
        runs = [
            (nm, bs, opt, eta or p.lr) for nm, bs, opt, eta in _optimizer_runs(p.batches, p.adam)
        ]
        rows = []
        cells = [(run, s) for run in runs for s in range(seed, seed + p.n_seeds)]
        for (name, bs, opt, eta), s in progress(cells, "runs"):
            net = ffnn.mlp([64, 64, 10], "relu", output="softmax", rng=s, dtype=np.float64)
            theta0 = net.theta.copy()
            _fit_to(net, X[tr], y[tr], name, bs, opt, eta, p.target, s)
            C = Curvature(net, X[tr], y[tr], "cross_entropy")
            rows.append(
                {
                    "optimizer": name,
                    "batch_size": bs or p.n_train,
                    "lr": eta,
                    "seed": s,
                    "train_loss": C.value,
                    "lambda_max": float(top_eigenvalues(C, rng=s)[0]),
                    "two_over_lr": 2 / eta,
                    "param_norm": float(np.linalg.norm(net.theta)),
                    "distance_from_init": float(np.linalg.norm(net.theta - theta0)),
                    "test_error": float(np.mean(net(X[te]).argmax(1) != y[te])),
                }
            )
        return {"rows": rows, "names": [r[0] for r in runs], "lr": p.lr, "target": p.target}

    @staticmethod
    def _mean(rows, name, key):
        return float(np.mean([r[key] for r in rows if r["optimizer"] == name]))

    def verdict(self, data):
        rows, names, lr, target = data["rows"], data["names"], data["lr"], data["target"]
        sgd = [nm for nm in names if nm.startswith(("GD", "SGD"))]
        sharp = [self._mean(rows, nm, "lambda_max") for nm in sgd]
        ok = all(a > b for a, b in pairwise(sharp))
        ok &= all(r["lambda_max"] <= 2 / lr for r in rows if r["optimizer"].startswith("GD"))
        ok &= all(r["train_loss"] < 1.5 * target for r in rows)
        summary = (
            "mean λ_max: "
            + ", ".join(f"{nm} {self._mean(rows, nm, 'lambda_max'):.2f}" for nm in names)
            + "; test error: "
            + ", ".join(f"{nm} {self._mean(rows, nm, 'test_error'):.3f}" for nm in names)
        )
        tol = "mean λ_max strictly falling with the batch; GD's λ_max ≤ 2/η; loss < 1.5 × target"
        return bool(ok), summary, tol

    def figure(self, data, fig):
        rows, names, lr = data["rows"], data["names"], data["lr"]
        ax = fig.subplots(1, 3)
        panels = [
            ("lambda_max", "sharpness λ_max(H)"),
            ("param_norm", "‖θ‖"),
            ("test_error", "test error"),
        ]
        for k, (key, lab) in enumerate(panels):
            vals = [self._mean(rows, nm, key) for nm in names]
            ax[k].bar(range(len(names)), vals, color=[f"C{i}" for i in range(len(names))])
            for r in rows:
                ax[k].plot(names.index(r["optimizer"]), r[key], "k.", ms=5)
            ticks = [nm.replace(" ", "\n", 1) for nm in names]
            ax[k].set_xticks(range(len(names)), ticks, fontsize=7)
            ax[k].set(title=lab, ylabel=lab)
        ax[0].axhline(2 / lr, color="C3", ls="--", label=f"2/η = {2 / lr:g} (SGD/GD)")
        ax[0].legend(fontsize=7)
        fig.suptitle(f"digits, 64-64-10 ReLU, all stopped at training loss {data['target']}")
