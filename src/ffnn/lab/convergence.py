"""Convergence of gradient descent near a minimum, its stability limit, and saddle plateaus.

Near a minimum θ* with Hessian H (eigenvalues λ_min ≤ … ≤ λ_max), one GD step
θ_{t+1} = θ_t − η ∇L(θ_t) acts on the error e_t = θ_t − θ* as the linear map

    e_{t+1} ≈ (I − η H) e_t,    so    err_{t+1} / err_t → ρ(η) = max(|1 − ηλ_min|, |1 − ηλ_max|)

(notes 004: GD is "order 1", err_t ~ ρ^t, T ~ log(tol) / log ρ). GD converges iff ρ < 1, that is
0 < η < 2/λ_max (for λ_min > 0); the best fixed η = 2/(λ_min + λ_max) gives
ρ = (κ − 1)/(κ + 1) with κ = λ_max/λ_min.

A plateau is a stretch where ‖∇L‖ ≈ 0 while L is far above its final value: GD is passing a saddle
point, where H has a negative eigenvalue λ_min < 0. The component of e_t along its eigenvector
grows like (1 + η|λ_min|)^t, so leaving a saddle from distance ε takes
t ≈ log(c/ε) / log(1 + η|λ_min|) steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ffnn.core.graph import Network
from ffnn.core.losses import Loss, get_loss
from ffnn.errors import FFNNError
from ffnn.lab.gd import gd

__all__ = [
    "GDRun",
    "gradient_descent",
    "find_minimum",
    "predicted_rate",
    "measured_rate",
    "linearized_errors",
    "Plateau",
    "detect_plateaus",
    "escape_steps",
]


@dataclass
class GDRun:
    """Per-step record of full-batch GD: loss (T+1,), grad_norm (T+1,), err (T+1,) or None."""

    loss: np.ndarray
    grad_norm: np.ndarray
    err: np.ndarray | None = None
    diverged: bool = False
    snapshots: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def steps(self) -> int:
        return len(self.loss) - 1


def gradient_descent(
    net: Network,
    X,
    y,
    loss: str | Loss,
    lr: float,
    steps: int,
    *,
    theta_star: np.ndarray | None = None,
    snapshot_at: tuple[int, ...] = (),
    blowup: float = 1e6,
) -> GDRun:
    """Exact full-batch GD θ ← θ − η ∇L(θ) for ``steps`` steps, on ``net`` in place.

    Records L(θ_t), ‖∇L(θ_t)‖ and, with ``theta_star``, err_t = ‖θ_t − θ*‖. Stops early (marking
    ``diverged``) when L is not finite or err grows beyond ``blowup`` × err_0.
    """
    Ls, Gs, Es = [], [], []
    snaps: dict[int, np.ndarray] = {}
    diverged = []

    def record(t, L, g):
        Ls.append(L)
        Gs.append(float(np.linalg.norm(g)))
        if theta_star is not None:
            Es.append(float(np.linalg.norm(net.theta - theta_star)))
        if t in snapshot_at:
            snaps[t] = net.theta.copy()
        if not np.isfinite(L) or (theta_star is not None and Es[-1] > blowup * max(Es[0], 1e-300)):
            diverged.append(t)
        return bool(diverged)

    gd(net, X, y, loss, lr=lr, steps=steps, callback=record)
    err = np.array(Es) if theta_star is not None else None
    return GDRun(np.array(Ls), np.array(Gs), err, bool(diverged), snaps)


def find_minimum(
    net: Network, X, y, loss: str | Loss, *, newton_steps: int = 20, gtol: float = 1e-12
) -> dict:
    """Move ``net`` (float64, small) to a local minimum: L-BFGS, then Newton with the exact Hessian.

    Returns {"loss", "grad_norm", "eigenvalues"} at the minimum (eigenvalues of H, ascending).
    """
    from ffnn.lab.hessian import Curvature
    from ffnn.train.lbfgs import lbfgs

    if net.dtype != np.float64:
        raise FFNNError("find_minimum needs a float64 network: use net.astype(np.float64)")
    loss = get_loss(loss)
    loss.check_output(net.output)
    lbfgs(net, X, y, loss, max_iter=20000, tol=1e-15, maxcor=30)
    for _ in range(newton_steps):
        C = Curvature(net, X, y, loss)
        g = C.gradient
        if np.linalg.norm(g) < gtol:
            break
        H = C.full()
        lam = np.linalg.eigvalsh(H)
        if lam[0] <= 0:  # not (yet) in a convex neighbourhood: stop polishing
            break
        step = np.linalg.solve(H, g)
        L0 = C.value
        t = 1.0
        while t > 1e-4:
            net.theta[:] = C.net.theta - t * step
            if net.loss_and_grad(X, y, loss)[0] <= L0 + 1e-14:
                break
            t /= 2
    C = Curvature(net, X, y, loss)
    return {
        "loss": C.value,
        "grad_norm": float(np.linalg.norm(C.gradient)),
        "eigenvalues": np.linalg.eigvalsh(C.full()),
    }


def predicted_rate(lr: float, lam_min: float, lam_max: float) -> float:
    """ρ(η) = max(|1 − ηλ_min|, |1 − ηλ_max|): the per-step contraction of GD near a minimum."""
    return float(max(abs(1 - lr * lam_min), abs(1 - lr * lam_max)))


def measured_rate(err: np.ndarray, *, start: int | None = None) -> float:
    """(err_T / err_s)^(1/(T − s)): the geometric-mean ratio err_{t+1}/err_t from step s to T.

    The default s = T/2 skips the transient, so the slowest mode dominates.
    """
    err = np.asarray(err, dtype=float)
    T = len(err) - 1
    s = T // 2 if start is None else start
    if T - s < 1 or err[s] <= 0 or err[T] <= 0:
        raise FFNNError("measured_rate needs at least two positive errors after the start")
    return float((err[T] / err[s]) ** (1.0 / (T - s)))


def linearized_errors(H: np.ndarray, e0: np.ndarray, lr: float, steps: int) -> np.ndarray:
    """‖(I − ηH)^t e_0‖ for t = 0..steps: GD's error on the quadratic model of L at θ*."""
    lam, U = np.linalg.eigh(H)
    c = U.T @ e0
    t = np.arange(steps + 1)[:, None]
    with np.errstate(over="ignore"):
        return np.sqrt(np.sum((c[None, :] * (1 - lr * lam[None, :]) ** t) ** 2, axis=1))


@dataclass
class Plateau:
    """Steps [start, end) where ‖∇L‖ < grad_tol while L is above the final loss."""

    start: int
    end: int
    loss: float
    grad_norm: float

    @property
    def length(self) -> int:
        return self.end - self.start


def detect_plateaus(
    loss: np.ndarray,
    grad_norm: np.ndarray,
    *,
    grad_tol: float,
    loss_gap: float,
    min_length: int = 10,
) -> list[Plateau]:
    """Stretches of at least ``min_length`` steps with ‖∇L‖ < grad_tol and L > L_final + loss_gap.

    A small gradient far above the final loss is not convergence: it is a saddle (or a flat
    region) that GD is crossing.
    """
    loss, grad_norm = np.asarray(loss), np.asarray(grad_norm)
    flag = (grad_norm < grad_tol) & (loss > loss[-1] + loss_gap)
    out, t = [], 0
    while t < len(flag):
        if flag[t]:
            s = t
            while t < len(flag) and flag[t]:
                t += 1
            if t - s >= min_length:
                mid = (s + t) // 2
                out.append(Plateau(s, t, float(loss[mid]), float(grad_norm[mid])))
        t += 1
    return out


def escape_steps(lr: float, lam_min: float, eps: float, scale: float = 1.0) -> float:
    """Predicted steps to leave a saddle from distance ε: log(scale/ε) / log(1 + η|λ_min|)."""
    if lam_min >= 0:
        return float("inf")
    return float(np.log(scale / eps) / np.log1p(lr * abs(lam_min)))
