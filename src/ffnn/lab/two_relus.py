"""ReLU "put two together" (notes 003): the ramp and the bump as named constructions.

Cybenko's theorem needs a sigmoidal unit (σ → 0 at −∞, σ → 1 at +∞). A single ReLU is not one, but
two are:

    ramp_{a,b}(x) = (relu(x − a) − relu(x − b)) / (b − a)
                  = 0 for x ≤ a,   (x − a)/(b − a) on [a, b],   1 for x ≥ b,

a sigmoidal function exactly, from two hidden units (:func:`ramp_network`). The difference of two
ramps is a bump (a trapezoid: 0, up on [a, b], 1 on [b, c], down on [c, d], 0), from four units
(:func:`bump_network_relu`); sums of bumps or ramps approximate any continuous f, so one hidden
layer of ReLUs is universal too.
"""

from __future__ import annotations

import numpy as np

from ffnn.core.graph import Network, from_weights
from ffnn.errors import FFNNError

__all__ = ["ramp", "ramp_network", "bump", "bump_network_relu"]


def ramp(x, a: float, b: float) -> np.ndarray:
    """The ramp as a formula: clip((x − a)/(b − a), 0, 1)."""
    return np.clip((np.asarray(x, dtype=np.float64) - a) / (b - a), 0.0, 1.0)


def bump(x, a: float, b: float, c: float, d: float) -> np.ndarray:
    """The trapezoid as a formula: ramp_{a,b}(x) − ramp_{c,d}(x)."""
    return ramp(x, a, b) - ramp(x, c, d)


def ramp_network(a: float, b: float) -> Network:
    """Two ReLUs, widths [1, 2, 1]: x ↦ (relu(x − a) − relu(x − b)) / (b − a) = ramp_{a,b}(x)."""
    if not b > a:
        raise FFNNError(f"a ramp needs a < b, got a={a}, b={b}")
    s = 1.0 / (b - a)
    return from_weights([([[1.0], [1.0]], [-a, -b]), ([[s, -s]], [0.0])], "relu")


def bump_network_relu(a: float, b: float, c: float, d: float) -> Network:
    """Four ReLUs, widths [1, 4, 1]: ramp_{a,b} − ramp_{c,d}, a bump of height 1 on [b, c]."""
    if not a < b <= c < d:
        raise FFNNError(f"a bump needs a < b <= c < d, got {a}, {b}, {c}, {d}")
    s, t = 1.0 / (b - a), 1.0 / (d - c)
    W1, b1 = np.ones((4, 1)), np.array([-a, -b, -c, -d])
    return from_weights([(W1, b1), ([[s, -s, -t, t]], [0.0])], "relu")
