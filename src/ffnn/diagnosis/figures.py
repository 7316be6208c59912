"""The diagnosis's figure: loss and gradient norm, saturation per layer, top of the spectrum.

Matplotlib's object API only (``matplotlib.figure.Figure``): the user's backend is never touched.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ffnn.diagnosis.report import Diagnosis

__all__ = ["diagnosis_figure", "save_figure"]


def _curves(ax, history) -> None:
    ep = history["epoch"]
    for key, label in (("train_loss", "train"), ("val_loss", "validation")):
        if key in history:
            ax.plot(ep, [np.nan if v is None else v for v in history[key]], label=label)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss L(θ)")
    ax.legend(loc="upper right")
    if "grad_norm" in history:
        ax2 = ax.twinx()
        ax2.plot(ep, history["grad_norm"], color="gray", ls=":", label="‖∇L‖")
        ax2.set_yscale("log")
        ax2.set_ylabel("gradient norm ‖∇L‖ (dotted)")
    ax.set_title("T, O: loss and gradient norm")


def _saturation(ax, diagnosis: Diagnosis) -> None:
    rows = {k: v for k, v in diagnosis["S"].measurements.items() if "saturated" in k}
    names = [k.split(" ")[0] for k in rows]
    x = np.arange(len(names))
    for i, label in enumerate(("σ' ≈ 0 now (pairs)", "σ' ≈ 0 at init", "dead units")):
        ax.bar(x + (i - 1) * 0.27, [v[i] for v in rows.values()], 0.27, label=label)
    ax.set_xticks(x, names, rotation=30, ha="right")
    ax.set_ylim(0, 1.15)
    ax.set_ylabel("fraction")
    ax.set_title("S: saturation per hidden layer")
    ax.legend(loc="upper right", fontsize="small")


def _spectrum(ax, diagnosis: Diagnosis, top: list[float], lr: float | None) -> None:
    k = np.arange(1, len(top) + 1)
    pos = [max(v, 1e-12) for v in top]
    ax.semilogy(k, pos, "o", label="top eigenvalues λ_k")
    if lr:
        ax.axhline(2 / lr, color="red", ls="--", label=f"2/η = {2 / lr:.3g} (GD's limit)")
    lam_min = diagnosis["L"].measurements.get("lambda_min")
    if lam_min is not None:
        ax.text(0.02, 0.03, f"λ_min = {lam_min:.3g}", transform=ax.transAxes)
    ax.set_xticks(k)
    ax.set_xlabel("k")
    ax.set_ylabel("Hessian eigenvalue (log scale)")
    ax.set_title("T, L: the top of the Hessian spectrum")
    ax.legend(loc="center right", fontsize="small")


def diagnosis_figure(diagnosis: Diagnosis, history=None, *, fig=None):
    """A Figure with up to three panels (loss/gradient curves, saturation, spectrum)."""
    from matplotlib.figure import Figure

    top = diagnosis.context.get("top_eigenvalues") or []
    panels = [
        p
        for p, ok in (
            ("curves", history is not None and len(history)),
            ("saturation", True),
            ("spectrum", bool(top)),
        )
        if ok
    ]
    fig = fig or Figure(figsize=(5 * len(panels), 4), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, panel in zip(axes, panels, strict=True):
        if panel == "curves":
            _curves(ax, history)
        elif panel == "saturation":
            _saturation(ax, diagnosis)
        else:
            _spectrum(ax, diagnosis, top, diagnosis.context.get("lr"))
    return fig


def save_figure(diagnosis: Diagnosis, path: str | Path, history=None) -> Path:
    """Write :func:`diagnosis_figure` as a PNG atomically; returns the path."""
    import io as _io

    from ffnn.io import atomic_write_bytes

    buf = _io.BytesIO()
    diagnosis_figure(diagnosis, history).savefig(buf, format="png", dpi=110)
    atomic_write_bytes(path, buf.getvalue())
    return Path(path)
