"""Exact full-batch gradient descent, the one GD loop of the lab.

    θ_{t+1} = θ_t − η ∇L(θ_t),   L(θ) = 1/n Σ_i ℓ(y_i, f(x_i; θ))

Each ∇L comes from the network's own forward and backward sweeps (``Network.loss_and_grad``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ffnn.core.graph import Network
from ffnn.core.losses import Loss, get_loss
from ffnn.errors import FFNNError

__all__ = ["gd"]


def gd(
    net: Network,
    X,
    y,
    loss: str | Loss = "mse",
    *,
    lr: float,
    steps: int,
    callback: Callable[[int, float, np.ndarray], bool | None] | None = None,
) -> int:
    """Run GD on ``net`` in place for at most ``steps`` steps; return the number taken.

    ``callback(t, L, g)`` sees every iterate t = 0..steps: L = L(θ_t) and g = ∇L(θ_t): (p,)
    (a reused buffer: copy it to keep it), before θ_t is stepped; it stops the loop by
    returning True (then θ stays at θ_t and t is returned).
    """
    loss = get_loss(loss)
    if not lr > 0:
        raise FFNNError(f"the learning rate must be positive, got {lr}")
    buf = net.gradient_buffer()
    for t in range(steps + 1):
        L, g = net.loss_and_grad(X, y, loss, out=buf)
        if callback is not None and callback(t, L, g):
            return t
        if t < steps:
            net.theta -= lr * g
    return steps
