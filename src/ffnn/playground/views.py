"""The notes' views of a training run, each computed by ffnn's own tools.

* δ per layer: the mean size of backprop's messages, 1/n Σ_i ‖δ_i^(l)‖₂ with δ^(l) = ∂ℓ/∂z^(l)
  per example (the loss's δ is of the mean L = 1/n Σ ℓ_i, so n·δ is the per-example message);
* saturation per layer: the fraction of (example, unit) pairs with σ'(z) ≈ 0
  (:func:`ffnn.lab.saturation.saturation`);
* sharpness: λ_max of the Hessian ∂²L/∂θ² on the training set, by Lanczos on Hessian-vector
  products (:class:`ffnn.lab.hessian.Curvature`, :func:`ffnn.lab.spectrum.top_eigenvalues`),
  against the gradient-descent stability bound 2/η;
* NTK change: ‖Θ_t − Θ_0‖_F / ‖Θ_0‖_F of the empirical NTK on a fixed probe subset
  (:func:`ffnn.lab.ntk.empirical_ntk`).
"""

from __future__ import annotations

import numpy as np

from ffnn.core.graph import Network
from ffnn.core.losses import Loss
from ffnn.lab.hessian import Curvature
from ffnn.lab.ntk import empirical_ntk
from ffnn.lab.saturation import saturation
from ffnn.lab.spectrum import top_eigenvalues

__all__ = ["loss_and_deltas", "saturation_fractions", "sharpness", "ntk", "relative_change"]


def loss_and_deltas(net: Network, X, Y, loss: Loss) -> tuple[float, list[float]]:
    """L(θ) on (X, Y) and, for every Dense layer l = 1..L+1, 1/n Σ_i ‖n δ_i^(l)‖₂."""
    z, trace = net.forward(X)
    value, delta = loss.value_and_delta(z, Y, net.output)
    net.backward(trace, delta)
    n = X.shape[0]
    return float(value), [float(n * np.linalg.norm(d, axis=1).mean()) for d in trace.delta]


def saturation_fractions(net: Network, X) -> list[float]:
    """Per hidden layer, the fraction of (example, unit) pairs with σ'(z) < 10⁻² max σ'."""
    return [s.fraction for s in saturation(net, X)]


def sharpness(net: Network, X, Y, loss: Loss) -> float:
    """λ_max(∂²L/∂θ²) at the current θ, by Lanczos (scipy's eigsh) on exact HVPs."""
    op = Curvature(net, X, Y, loss).operator("hessian")
    return float(top_eigenvalues(op, 1, tol=1e-3, rng=0)[0])


def ntk(net: Network, P) -> np.ndarray:
    """The empirical NTK Θ(P, P): (m, m), summed over the outputs, on the probe inputs P."""
    return empirical_ntk(net, P)


def relative_change(K: np.ndarray, K0: np.ndarray) -> float:
    """‖K − K₀‖_F / ‖K₀‖_F."""
    return float(np.linalg.norm(K - K0) / max(np.linalg.norm(K0), 1e-300))
