"""Experiment: the Hessian spectrum of a trained network — a bulk near zero and a few outliers."""

from __future__ import annotations

import numpy as np

import ffnn
from ffnn.lab._registry import Experiment, Param, register
from ffnn.lab._stats import t_factor
from ffnn.lab.hessian import Curvature
from ffnn.lab.spectrum import hutchinson_trace, min_eigenvalue, slq_density, top_eigenvalues


def _trained_net(n: int, hidden: int, seed: int):
    """digits (n examples), 64-hidden-10 ReLU + cross-entropy trained by SGD to L ≤ 0.05."""
    from ffnn.data import load_dataset
    from ffnn.train import fit

    ds = load_dataset("digits", rng=0)
    idx = np.random.default_rng(seed).permutation(len(ds.X))[:n]
    X, y = ds.X[idx] / 16.0, ds.y[idx]
    net = ffnn.mlp([64, hidden, 10], "relu", output="softmax", rng=seed, dtype=np.float64)
    fit(
        net,
        X,
        y,
        "cross_entropy",
        optimizer="sgd",
        lr=0.1,
        batch_size=32,
        epochs=200,
        tol_loss=0.05,
        rng=seed,
        progress=False,
    )
    return net, X, y


def _slq_trace_se(dens) -> float:
    """Standard error of SLQ's trace: each probe's p Σ_j τ_j² θ_j = p vᵀHv/‖v‖² is one sample."""
    per_probe = [dens.p * np.sum(w * th) for th, w in zip(dens.nodes, dens.weights, strict=True)]
    return float(np.std(per_probe, ddof=1) / np.sqrt(len(per_probe)))


@register
class HessianSpectrum(Experiment):
    """digits, 64-h-10 ReLU + cross-entropy trained by SGD; spectrum of H on the training set."""

    name = "hessian-spectrum"
    claim = (
        "the loss Hessian of a trained classifier is a bulk of eigenvalues near zero plus a few "
        "large outliers (≲ the number of classes): > 90% of the spectral mass lies within "
        "|λ| < 5% of λ_max; Lanczos, SLQ and Hutchinson agree on its edge and trace"
    )
    params = (
        Param("n", int, 1000, 400, "training examples of digits"),
        Param("hidden", int, 64, 32, "hidden width"),
        Param("k", int, 25, 15, "top eigenvalues by Lanczos"),
        Param("probes", int, 60, 30, "Hutchinson probes"),
        Param("slq_probes", int, 8, help="SLQ probe vectors"),
        Param("slq_steps", int, 80, 40, "Lanczos steps per SLQ probe"),
    )

    def measure(self, p, seed, progress):
        net, X, y = _trained_net(p.n, p.hidden, seed)
        C = Curvature(net, X, y, "cross_entropy")
        tools = {
            "top": lambda: top_eigenvalues(C, k=p.k, rng=seed + 1),
            "min": lambda: min_eigenvalue(C, rng=seed + 2)[0],
            "trace": lambda: hutchinson_trace(C, n_probes=p.probes, rng=seed + 3),
            "slq": lambda: slq_density(C, n_probes=p.slq_probes, n_steps=p.slq_steps, rng=seed + 4),
        }
        out = {key: f() for key, f in progress(tools.items(), "spectrum tools", total=len(tools))}
        top, lmin, (tr, tr_se), dens = out["top"], out["min"], out["trace"], out["slq"]
        lmax = float(top[0])
        summary = {
            "p": net.n_params,
            "n": len(X),
            "train_loss": C.value,
            "lambda_max": lmax,
            "lambda_min": lmin,
            "outliers_above_5pct": int(np.sum(top > 0.05 * lmax)),
            "bulk_mass_within_5pct": dens.mass(-0.05 * lmax, 0.05 * lmax),
            "slq_right_edge": dens.support[1],
            "trace_hutchinson": tr,
            "trace_hutchinson_se": tr_se,
            "trace_slq": dens.trace(),
            "trace_slq_se": _slq_trace_se(dens),
            "probes_min": min(p.probes, p.slq_probes),
            "hessian_vector_products": C.n_products,
        }
        rows = [{"index": i + 1, "eigenvalue": float(v), **summary} for i, v in enumerate(top)]
        rows.append({"index": "min", "eigenvalue": lmin, **summary})
        return {"rows": rows, "s": summary, "top": top, "dens": dens, "k": p.k}

    def verdict(self, data):
        s, k = data["s"], data["k"]
        lmax, bulk, n_out, edge = (
            s["lambda_max"],
            s["bulk_mass_within_5pct"],
            s["outliers_above_5pct"],
            s["slq_right_edge"],
        )
        tr, tr_se, tr_slq = s["trace_hutchinson"], s["trace_hutchinson_se"], s["trace_slq"]
        # both are means over independent probes: their difference has SE √(se_H² + se_SLQ²)
        t = t_factor(s["probes_min"] - 1)
        tr_tol = t * float(np.hypot(tr_se, s["trace_slq_se"]))
        ok = bulk > 0.9 and n_out < k and n_out <= 15
        ok &= abs(edge - lmax) < 0.02 * lmax
        ok &= abs(tr - tr_slq) <= tr_tol
        summary = (
            f"λ_max = {lmax:.3f}, λ_min = {s['lambda_min']:.2e}; {n_out} eigenvalues above 5% "
            f"of λ_max; {100 * bulk:.1f}% of the SLQ mass within ±5% λ_max; SLQ right edge "
            f"{edge:.3f}; trace: Hutchinson {tr:.2f} ± {tr_se:.2f}, SLQ {tr_slq:.2f} ± "
            f"{s['trace_slq_se']:.2f}"
        )
        tol = (
            "bulk mass > 90%; ≤ 15 outliers; SLQ edge within 2% of λ_max; traces within "
            f"t·√(se_H² + se_SLQ²) = {tr_tol:.2f} (t = {t:.2f}: Student, {s['probes_min'] - 1} "
            "dof, α = 1%)"
        )
        return bool(ok), summary, tol

    def figure(self, data, fig):
        s, top, dens, k = data["s"], data["top"], data["dens"], data["k"]
        lmax, n_out = s["lambda_max"], s["outliers_above_5pct"]
        ax = fig.subplots(1, 2)
        lo, hi = dens.support
        span = hi - lo
        grid = np.linspace(lo - 0.05 * span, hi + 0.05 * span, 2000)
        ax[0].semilogy(grid, np.maximum(dens.evaluate(grid, span / 300), 1e-10), lw=1)
        for i, lam in enumerate(top[:n_out]):
            ax[0].axvline(
                lam,
                color="C3",
                lw=0.6,
                ls="--",
                label="Lanczos top eigenvalues" if i == 0 else None,
            )
        ax[0].set(
            xlabel="eigenvalue λ",
            ylabel="density (log)",
            ylim=(1e-6, None),
            title=f"SLQ density, p = {s['p']}, n = {s['n']}",
        )
        ax[0].legend(fontsize=7)
        ax[1].semilogy(np.arange(1, k + 1), np.maximum(top, 1e-12), "o-")
        ax[1].axhline(0.05 * lmax, color="gray", ls=":", label="5% of λ_max")
        ax[1].set(xlabel="rank i", ylabel="λ_i", title=f"top {k} eigenvalues: {n_out} outliers")
        ax[1].legend(fontsize=7)
