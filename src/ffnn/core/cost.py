"""The cost of one iteration in multiply-adds, counted as the notes count it (notes 004)."""

from __future__ import annotations

from ffnn.core.graph import Network
from ffnn.core.layers import Dense

__all__ = ["cost"]


def cost(net: Network) -> dict:
    """Multiply-adds per example of one forward and one backward pass, per Dense node.

    Forward, layer l: n_l·n_{l-1}. Backward: the weight gradient δ^(l) x^(l-1)ᵀ costs n_l·n_{l-1},
    and the message W^(l)ᵀ δ^(l) another n_l·n_{l-1}, except for a layer that reads the input
    x^(0). Returns {"layers": [...], "p", "forward", "backward"} (element-wise work, the loss and
    the O(p) optimizer update are not counted).
    """
    layers, fwd, bwd = [], 0, 0
    for i, node in enumerate(net.nodes):
        if not isinstance(node.layer, Dense):
            continue
        parent = net._parents[i][0]
        n_in, n_out = net.nodes[parent].dim, node.dim
        f = n_in * n_out
        b = f + (0 if parent == 0 else f)
        layers.append(
            {
                "node": node.name,
                "n_in": n_in,
                "n_out": n_out,
                "params": n_out * n_in + n_out,
                "forward": f,
                "backward": b,
            }
        )
        fwd, bwd = fwd + f, bwd + b
    return {"layers": layers, "p": int(net.n_params), "forward": fwd, "backward": bwd}
