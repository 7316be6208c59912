"""The playground's optimizers: ffnn's chains, with an L1 block in front.

``ffnn.train`` has L2 (``add_decayed_weights``: u ← u + λ₂ θ, the gradient of λ₂/2 ‖θ‖²) but no
L1. :func:`l1_penalty` is that block: u ← u + λ₁ sign(θ), a subgradient of λ₁ ‖θ‖₁ (sign 0 = 0).
Both act on all of θ (weights and biases), before the optimizer's scaling, like ``weight_decay``.
"""

from __future__ import annotations

import numpy as np

from ffnn.errors import FFNNError
from ffnn.train import Optimizer, chain, get_optimizer
from ffnn.train.optimizers import Block

__all__ = ["l1_penalty", "build_optimizer", "OPTIMIZERS"]

OPTIMIZERS = ("sgd", "momentum", "adam")


def _no_state(theta: np.ndarray) -> dict:
    return {}


def l1_penalty(l1: float) -> Block:
    """u ← u + λ₁ sign(θ): the subgradient of the L1 term λ₁ ‖θ‖₁ added to the loss gradient."""
    if not np.isfinite(l1) or l1 < 0:
        raise FFNNError(f"L1 must be a finite number >= 0, got {l1!r}")
    lam = float(l1)

    def apply(u, st, theta, t, tmp):
        np.sign(theta, out=tmp)
        tmp *= lam
        u += tmp
        return u

    return Block("l1", _no_state, apply, {"l1": lam})


def build_optimizer(name: str, lr: float, *, l1: float = 0.0, l2: float = 0.0) -> Optimizer:
    """SGD, momentum (μ = 0.9) or Adam at learning rate η = ``lr``, with L1 and L2 terms."""
    if name not in OPTIMIZERS:
        raise FFNNError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    opt = get_optimizer(name, lr, weight_decay=l2) if l2 else get_optimizer(name, lr)
    return chain(l1_penalty(l1), opt, name=name) if l1 else opt
