"""Gradient check: backprop against central finite differences in float64.

For every parameter θ_k,  ∂L/∂θ_k ≈ (L(θ + ε e_k) − L(θ − ε e_k)) / 2ε  with error O(ε²).
The relative error of a block (one W^(l) or b^(l)) is ‖g_bp − g_fd‖ / max(‖g_bp‖, ‖g_fd‖),
reported per block; a block whose gradients are both (near) zero reports 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ffnn.core.graph import Network
from ffnn.core.losses import Loss, get_loss

__all__ = ["GradCheck", "gradient_check"]


@dataclass
class GradCheck:
    """Relative error per parameter block (and for ∂L/∂x under the key "input")."""

    errors: dict[str, float]
    tolerance: float

    @property
    def max_error(self) -> float:
        return max(self.errors.values())

    @property
    def passed(self) -> bool:
        return self.max_error < self.tolerance

    def __str__(self) -> str:
        rows = [f"{name:<24}{err:.3e}" for name, err in self.errors.items()]
        verdict = "PASS" if self.passed else "FAIL"
        return "\n".join(
            rows
            + [f"max relative error {self.max_error:.3e} ({verdict}, tolerance {self.tolerance:g})"]
        )


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    return 0.0 if scale < 1e-12 else float(np.linalg.norm(a - b) / scale)


def gradient_check(
    net: Network,
    X,
    y,
    loss: str | Loss = "mse",
    *,
    eps: float = 1e-6,
    tolerance: float = 1e-6,
    check_input: bool = True,
) -> GradCheck:
    """Compare backprop with central differences for every block of θ (and for x), in float64."""
    loss = get_loss(loss)
    net64 = net.astype(np.float64)
    X = np.asarray(X, dtype=np.float64)
    loss.check_output(net64.output)
    z, trace = net64.forward(X)
    _, delta = loss.value_and_delta(z, y, net64.output)
    back = net64.backward(trace, delta, input_grad=check_input)

    def L_theta(theta):
        saved = net64.theta.copy()
        net64.theta[...] = theta
        try:
            return loss.value(net64.forward(X)[0], y, net64.output)
        finally:
            net64.theta[...] = saved

    theta0 = net64.theta.copy()
    fd = np.empty_like(theta0)
    for k in range(theta0.size):
        e = np.zeros_like(theta0)
        e[k] = eps
        fd[k] = (L_theta(theta0 + e) - L_theta(theta0 - e)) / (2 * eps)
    errors = {name: _rel(back.theta[s], fd[s]) for name, s in net64.param_blocks()}
    if check_input:
        fdx = np.empty_like(X)
        for idx in np.ndindex(X.shape):
            Xp, Xm = X.copy(), X.copy()
            Xp[idx] += eps
            Xm[idx] -= eps
            fdx[idx] = (
                loss.value(net64.forward(Xp)[0], y, net64.output)
                - loss.value(net64.forward(Xm)[0], y, net64.output)
            ) / (2 * eps)
        errors["input"] = _rel(back.input, fdx)
    return GradCheck(errors, tolerance)
