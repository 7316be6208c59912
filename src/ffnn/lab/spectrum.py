"""The spectrum of a matrix-free symmetric operator H: (p, p), such as the loss Hessian.

Everything here needs only products H v (:class:`ffnn.lab.hessian.Curvature` or any
``scipy.sparse.linalg.LinearOperator``):

* :func:`top_eigenvalues`, :func:`min_eigenvalue`, :func:`extreme_eigenvalues` — Lanczos (ARPACK's
  ``eigsh``): λ_max is the sharpness; a negative λ_min marks a saddle.
* :func:`hutchinson_trace` — tr H = E[vᵀ H v] for random v with E[v vᵀ] = I (Rademacher).
* :func:`slq_density` — stochastic Lanczos quadrature: m Lanczos steps from a random unit v give a
  tridiagonal T_m whose eigenvalues θ_j and squared first eigenvector components τ_j² form a
  quadrature rule with vᵀ f(H) v ≈ Σ_j τ_j² f(θ_j); averaged over probes this is the eigenvalue
  density φ(t) = 1/p Σ_i δ(t − λ_i), drawn with Gaussian broadening of width σ.
* :func:`draw_spectrum` — the density (log scale) with the top eigenvalues marked, on an Axes;
  :func:`plot_spectrum` saves it as a PNG.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.linalg import eigh_tridiagonal
from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, aslinearoperator, eigsh

from ffnn.errors import FFNNError

__all__ = [
    "as_operator",
    "top_eigenvalues",
    "min_eigenvalue",
    "extreme_eigenvalues",
    "hutchinson_trace",
    "lanczos",
    "SpectralDensity",
    "slq_density",
    "draw_spectrum",
    "plot_spectrum",
]


def as_operator(H) -> LinearOperator:
    """A float64 LinearOperator from a Curvature, a LinearOperator or a dense (p, p) array."""
    from ffnn.lab.hessian import Curvature

    if isinstance(H, Curvature):
        return H.operator("hessian")
    if isinstance(H, LinearOperator):
        return H
    if isinstance(H, np.ndarray):
        if H.ndim != 2 or H.shape[0] != H.shape[1]:
            raise FFNNError(f"a matrix given as the operator must be square, got {H.shape}")
        return aslinearoperator(H.astype(np.float64, copy=False))
    raise FFNNError(
        f"expected a Curvature, a scipy LinearOperator or a square array, got {type(H).__name__}"
    )


def _default_tol(op: LinearOperator) -> float:
    curv = getattr(op, "curvature", None)
    return 1e-5 if curv is not None and curv.dtype == np.float32 else 1e-10


def _v0(p: int, rng) -> np.ndarray:
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    return rng.standard_normal(p)


def _eigsh(op, k, which, tol, rng, maxiter, vectors):
    p = op.shape[0]
    if p <= max(2 * k + 1, 3) or k >= p:
        A = op @ np.eye(p)
        w, V = np.linalg.eigh((A + A.T) / 2)
        idx = np.argsort(w)
        idx = idx[::-1][:k] if which == "LA" else idx[:k]
        return w[idx], V[:, idx]
    tol = _default_tol(op) if tol is None else tol
    ncv = min(p - 1, max(2 * k + 1, 20))
    try:
        w, V = eigsh(
            op,
            k=k,
            which=which,
            tol=tol,
            v0=_v0(p, rng),
            ncv=ncv,
            maxiter=maxiter,
            return_eigenvectors=True,
        )
    except ArpackNoConvergence as e:  # keep what converged, if anything
        if len(e.eigenvalues) == 0:
            raise FFNNError(
                f"Lanczos did not converge in maxiter={maxiter} restarts; raise maxiter or tol"
            ) from None
        w, V = e.eigenvalues, e.eigenvectors
    order = np.argsort(w)[::-1] if which == "LA" else np.argsort(w)
    return w[order], V[:, order]


def top_eigenvalues(
    H,
    k: int = 1,
    *,
    tol: float | None = None,
    rng=0,
    maxiter: int | None = None,
    return_vectors: bool = False,
):
    """The k largest (algebraic) eigenvalues λ_1 ≥ … ≥ λ_k of H, by Lanczos.

    Returns an array (k,), or (eigenvalues (k,), eigenvectors (p, k)) with ``return_vectors``.
    λ_1 of the loss Hessian is the sharpness; gradient descent is stable only for η < 2 / λ_1.
    """
    op = as_operator(H)
    if not 1 <= k <= op.shape[0]:
        raise FFNNError(f"k must lie in 1..{op.shape[0]}, got {k}")
    w, V = _eigsh(op, k, "LA", tol, rng, maxiter, return_vectors)
    return (w, V) if return_vectors else w


def min_eigenvalue(H, *, tol: float | None = None, rng=0, maxiter: int | None = None):
    """The most negative (smallest algebraic) eigenvalue λ_min of H and its eigenvector (p,).

    At a critical point, λ_min < 0 means a saddle: moving along the eigenvector lowers the loss.
    """
    w, V = _eigsh(as_operator(H), 1, "SA", tol, rng, maxiter, True)
    return float(w[0]), V[:, 0]


def extreme_eigenvalues(H, *, tol: float | None = None, rng=0) -> tuple[float, float]:
    """(λ_min, λ_max) of H."""
    op = as_operator(H)
    return min_eigenvalue(op, tol=tol, rng=rng)[0], float(top_eigenvalues(op, tol=tol, rng=rng)[0])


def hutchinson_trace(H, n_probes: int = 64, *, rng=0) -> tuple[float, float]:
    """Hutchinson's estimate of tr H = E[vᵀ H v] with Rademacher v; returns (mean, std. error)."""
    op = as_operator(H)
    if n_probes < 2:
        raise FFNNError(f"n_probes must be at least 2 (for the error bar), got {n_probes}")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    p = op.shape[0]
    samples = np.empty(n_probes)
    for i in range(n_probes):
        v = rng.choice([-1.0, 1.0], size=p)
        samples[i] = v @ (op @ v)
    return float(samples.mean()), float(samples.std(ddof=1) / np.sqrt(n_probes))


def lanczos(H, v0: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """m steps of Lanczos from v0 with full reorthogonalization.

    Returns the diagonal alpha (m',) and off-diagonal beta (m'-1,) of the tridiagonal T = Qᵀ H Q,
    with m' ≤ m (fewer if the Krylov space is exhausted).
    """
    op = as_operator(H)
    p = op.shape[0]
    m = min(m, p)
    Q = np.zeros((m, p))
    alpha, beta = np.zeros(m), np.zeros(m)
    q = np.asarray(v0, dtype=np.float64) / np.linalg.norm(v0)
    for j in range(m):
        Q[j] = q
        w = op @ q
        alpha[j] = q @ w
        w -= alpha[j] * q + (beta[j - 1] * Q[j - 1] if j > 0 else 0)
        w -= Q[: j + 1].T @ (Q[: j + 1] @ w)  # full reorthogonalization (twice is enough)
        w -= Q[: j + 1].T @ (Q[: j + 1] @ w)
        beta[j] = np.linalg.norm(w)
        if beta[j] < 1e-10 * max(abs(alpha[: j + 1]).max(), 1e-300):
            return alpha[: j + 1], beta[:j]
        q = w / beta[j]
    return alpha, beta[: m - 1]


@dataclass
class SpectralDensity:
    """Quadrature nodes θ and weights τ² of each probe: nodes[i], weights[i] of length m_i."""

    nodes: list[np.ndarray]
    weights: list[np.ndarray]
    p: int

    def evaluate(self, grid: np.ndarray, sigma: float) -> np.ndarray:
        """φ(t) = 1/n_probes Σ_probes Σ_j τ_j² N(t; θ_j, σ²) on the grid: a density in t."""
        grid = np.asarray(grid, dtype=np.float64)
        out = np.zeros_like(grid)
        for th, w in zip(self.nodes, self.weights, strict=True):
            out += (w[None, :] * np.exp(-0.5 * ((grid[:, None] - th[None, :]) / sigma) ** 2)).sum(1)
        return out / (len(self.nodes) * sigma * np.sqrt(2 * np.pi))

    def moment(self, k: int = 1) -> float:
        """1/p tr H^k ≈ mean over probes of Σ_j τ_j² θ_j^k."""
        return float(
            np.mean([np.sum(w * th**k) for th, w in zip(self.nodes, self.weights, strict=True)])
        )

    def trace(self) -> float:
        return self.p * self.moment(1)

    def mass(self, lo: float, hi: float) -> float:
        """Fraction of the eigenvalues in [lo, hi] (the quadrature weight there)."""
        return float(
            np.mean(
                [
                    np.sum(w[(th >= lo) & (th <= hi)])
                    for th, w in zip(self.nodes, self.weights, strict=True)
                ]
            )
        )

    @property
    def support(self) -> tuple[float, float]:
        return float(min(t.min() for t in self.nodes)), float(max(t.max() for t in self.nodes))


def slq_density(H, n_probes: int = 8, n_steps: int = 64, *, rng=0) -> SpectralDensity:
    """Stochastic Lanczos quadrature estimate of the eigenvalue density of H.

    Each probe v ~ N(0, I)/‖·‖ gives T_m = Lanczos(H, v, m) = U diag(θ) Uᵀ; the nodes are θ and the
    weights τ_j² = U[0, j]² (they sum to one). Extreme eigenvalues are resolved after a few
    steps; the bulk needs more steps and probes.
    """
    op = as_operator(H)
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    nodes, weights = [], []
    for _ in range(n_probes):
        a, b = lanczos(op, rng.standard_normal(op.shape[0]), n_steps)
        th, U = eigh_tridiagonal(a, b) if len(a) > 1 else (a, np.ones((1, 1)))
        nodes.append(th)
        weights.append(U[0] ** 2)
    return SpectralDensity(nodes, weights, op.shape[0])


def draw_spectrum(
    density: SpectralDensity,
    ax=None,
    *,
    top: np.ndarray | None = None,
    sigma: float | None = None,
    title: str = "Hessian eigenvalue density (SLQ)",
):
    """Draw the broadened density φ(λ) on a log scale, the top eigenvalues marked; the Axes.

    ``ax`` None draws on a new Axes (see :mod:`ffnn.plot`); the backend is never switched.
    """
    from ffnn.plot import _axes

    lo, hi = density.support
    if top is not None and len(top):
        hi = max(hi, float(np.max(top)))
    span = max(hi - lo, 1e-12)
    sigma = sigma or span / 200
    grid = np.linspace(lo - 0.05 * span, hi + 0.05 * span, 2000)
    phi = density.evaluate(grid, sigma)
    ax = _axes(ax, (7, 4))
    ax.semilogy(grid, np.maximum(phi, 1e-12), lw=1.2, label=f"SLQ density (σ = {sigma:.2g})")
    if top is not None:
        for i, lam in enumerate(np.atleast_1d(top)):
            ax.axvline(
                lam, color="C3", lw=0.8, ls="--", label="top eigenvalues" if i == 0 else None
            )
    ax.set_ylim(bottom=max(1e-8, phi.max() * 1e-9))
    ax.set_xlabel("eigenvalue λ")
    ax.set_ylabel("density φ(λ)")
    ax.set_title(title)
    ax.legend()
    return ax


def plot_spectrum(
    density: SpectralDensity,
    path: str | Path,
    *,
    top: np.ndarray | None = None,
    sigma: float | None = None,
    title: str = "Hessian eigenvalue density (SLQ)",
) -> Path:
    """:func:`draw_spectrum` on a new Figure, saved as a PNG at ``path``; returns the path."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4))
    draw_spectrum(density, fig.add_subplot(), top=top, sigma=sigma, title=title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path
