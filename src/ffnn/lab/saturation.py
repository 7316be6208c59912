"""Saturation: units whose σ'(z) ≈ 0 pass (almost) no gradient (notes 004).

Backprop multiplies by σ'(z^(l)) at every layer, δ^(l) = σ'(z^(l)) ⊙ W^(l+1)ᵀ δ^(l+1), and
∂L/∂W^(l) = δ^(l) x^(l-1)ᵀ. Where |z| is large a sigmoid or tanh is flat (σ' ≈ 0, "saturated"),
and a ReLU with z < 0 has σ' = 0 exactly; such units stop learning on those inputs. A unit that
is flat on every input of the data ("dead") never learns again under gradient descent.

:func:`saturation` measures, per hidden layer, the fraction of (example, unit) pairs with
σ'(z) < ``threshold`` · max σ' (max σ' is 1 for ReLU and tanh, 1/4 for the sigmoid) and the
fraction of dead units; :class:`SaturationCallback` logs both every epoch during training.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ffnn.core.graph import Network
from ffnn.errors import FFNNError

__all__ = ["LayerSaturation", "saturation", "SaturationCallback"]


@dataclass
class LayerSaturation:
    """Saturation of one activation node: ``name``, the fraction of saturated (example, unit)
    pairs ``fraction``, and the fraction of ``dead`` units (saturated on every example)."""

    name: str
    activation: str
    fraction: float
    dead: float


def saturation(net: Network, X, *, threshold: float = 1e-2) -> list[LayerSaturation]:
    """Per activation node (hidden layer), the share of σ'(z) below threshold · max σ'.

    X: (n, n_0). ``threshold`` in (0, 1): 1e-2 (default) flags a sigmoid with |z| ≳ 6.9 and a
    tanh with |z| ≳ 3.0; a ReLU unit counts when z ≤ 0 for any threshold.
    """
    if not 0 < threshold < 1:
        raise FFNNError(f"threshold must be in (0, 1), got {threshold}")
    _, trace = net.forward(X)
    out = []
    for node, cache in zip(trace.nodes, trace.caches, strict=True):
        act = getattr(node.layer, "activation", None)  # an element-wise σ node
        if act is None:
            continue
        z = cache[0]
        flat = act.dsigma(z) < threshold * act.max_dsigma
        out.append(
            LayerSaturation(
                node.name, act.name, float(np.mean(flat)), float(np.mean(np.all(flat, axis=0)))
            )
        )
    return out


class SaturationCallback:
    """Training callback ``cb(net, epoch, logs)`` that adds saturation to the epoch's logs.

    Adds ``saturation_<l>`` (fraction of saturated pairs) and ``dead_<l>`` (fraction of dead
    units) for every hidden layer l = 1, 2, … measured on the fixed probe batch X, so they land
    in the training history. It also keeps its own ``records`` (epoch plus those keys), which
    do not depend on the training loop merging the logs back. Returns None (never stops
    training). ``every`` measures only every that many epochs (the keys are absent on the
    others).
    """

    def __init__(self, X, *, threshold: float = 1e-2, every: int = 1):
        if every < 1:
            raise FFNNError(f"every must be >= 1, got {every}")
        self.X = X
        self.threshold = threshold
        self.every = every
        self.records: list[dict] = []

    def __call__(self, net: Network, epoch: int, logs: dict) -> None:
        if epoch % self.every:
            return None
        rec: dict = {"epoch": epoch}
        for l, s in enumerate(saturation(net, self.X, threshold=self.threshold), start=1):
            rec[f"saturation_{l}"] = s.fraction
            rec[f"dead_{l}"] = s.dead
        self.records.append(rec)
        logs.update({k: v for k, v in rec.items() if k != "epoch"})
        return None
