"""Experiment: the Hessian spectrum of a trained network — a bulk near zero and a few outliers."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import ffnn
from ffnn.lab._registry import ExperimentResult, experiment
from ffnn.lab.exp_p2_common import pyplot, save
from ffnn.lab.hessian import Curvature
from ffnn.lab.spectrum import hutchinson_trace, min_eigenvalue, slq_density, top_eigenvalues

CLAIM = (
    "the loss Hessian of a trained classifier is a bulk of eigenvalues near zero plus a few large "
    "outliers (≲ the number of classes): > 90% of the spectral mass lies within |λ| < 5% of "
    "λ_max; Lanczos, SLQ and Hutchinson agree on its edge and trace"
)


@experiment("hessian-spectrum", claim=CLAIM)
def run(out_dir: Path, *, quick: bool = False, progress: bool = True) -> ExperimentResult:
    """digits, 64-h-10 ReLU + cross-entropy trained by SGD; spectrum of H on the training set."""
    from ffnn.data import load_dataset
    from ffnn.train import fit

    ds = load_dataset("digits", rng=0)
    X, y = ds.X / 16.0, ds.y
    idx = np.random.default_rng(0).permutation(len(X))[: (400 if quick else 1000)]
    X, y = X[idx], y[idx]
    hidden = 32 if quick else 64
    net = ffnn.mlp([64, hidden, 10], "relu", output="softmax", rng=0, dtype=np.float64)
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
        rng=0,
        progress=False,
    )
    C = Curvature(net, X, y, "cross_entropy")
    k = 15 if quick else 25
    top = top_eigenvalues(C, k=k, rng=1)
    lmax = float(top[0])
    lmin, _ = min_eigenvalue(C, rng=2)
    tr, tr_se = hutchinson_trace(C, n_probes=30 if quick else 60, rng=3)
    dens = slq_density(C, n_probes=4 if quick else 8, n_steps=40 if quick else 80, rng=4)
    bulk = dens.mass(-0.05 * lmax, 0.05 * lmax)
    n_out = int(np.sum(top > 0.05 * lmax))
    edge = dens.support[1]
    tr_slq = dens.trace()
    rows = [{"index": i + 1, "eigenvalue": float(v)} for i, v in enumerate(top)]
    rows.append({"index": "min", "eigenvalue": lmin})
    summary = {
        "p": net.n_params,
        "n": len(X),
        "train_loss": C.value,
        "lambda_max": lmax,
        "lambda_min": lmin,
        "outliers_above_5pct": n_out,
        "bulk_mass_within_5pct": bulk,
        "slq_right_edge": edge,
        "trace_hutchinson": tr,
        "trace_hutchinson_se": tr_se,
        "trace_slq": tr_slq,
        "hessian_vector_products": C.n_products,
    }
    for r in rows:
        r.update(summary)
    ok = bulk > 0.9 and n_out < k and n_out <= 15
    ok &= abs(edge - lmax) < 0.02 * lmax
    ok &= abs(tr - tr_slq) < 4 * tr_se + 0.1 * abs(tr)
    plt = pyplot()
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    lo, hi = dens.support
    span = hi - lo
    grid = np.linspace(lo - 0.05 * span, hi + 0.05 * span, 2000)
    sigma = span / 300
    ax[0].semilogy(grid, np.maximum(dens.evaluate(grid, sigma), 1e-10), lw=1)
    for i, lam in enumerate(top[:n_out]):
        ax[0].axvline(
            lam, color="C3", lw=0.6, ls="--", label="Lanczos top eigenvalues" if i == 0 else None
        )
    ax[0].set(
        xlabel="eigenvalue λ",
        ylabel="density (log)",
        ylim=(1e-6, None),
        title=f"SLQ density, p = {net.n_params}, n = {len(X)}",
    )
    ax[0].legend(fontsize=7)
    ax[1].semilogy(np.arange(1, k + 1), np.maximum(top, 1e-12), "o-")
    ax[1].axhline(0.05 * lmax, color="gray", ls=":", label="5% of λ_max")
    ax[1].set(xlabel="rank i", ylabel="λ_i", title=f"top {k} eigenvalues: {n_out} outliers")
    ax[1].legend(fontsize=7)
    files = [save(fig, out_dir, "hessian-spectrum")]
    res = ExperimentResult(
        "hessian-spectrum",
        CLAIM,
        bool(ok),
        f"λ_max = {lmax:.3f}, λ_min = {lmin:.2e}; {n_out} eigenvalues above 5% of λ_max; "
        f"{100 * bulk:.1f}% of the SLQ mass within ±5% λ_max; SLQ right edge {edge:.3f}; "
        f"trace: Hutchinson {tr:.2f} ± {tr_se:.2f}, SLQ {tr_slq:.2f}",
        rows,
        files,
    )
    res.write_table(out_dir)
    return res
