"""The empirical neural tangent kernel Θ(x, x') = ∂f(x)/∂θ · ∂f(x')/∂θ (notes 000).

Gradient descent with a small step on L = 1/n Σ ℓ(y_i, f(x_i)) moves the outputs by

    d f(x)/dt = −1/n Σ_i Θ(x, x_i) ∂ℓ/∂f(x_i),

so Θ governs training; for very wide networks in the NTK parameterization it stays nearly
constant (see :mod:`ffnn.lab.kernels` for its infinite-width limit).

Computed from the layer structure, never by materializing the n × p Jacobian: every layer's
``ntk_gram`` rule gives its parameters' share for two uses u, v from their per-example
sensitivities. For a Dense layer z_u = s_W W x_u + s_b b the per-example gradient is
s_W Δ_u[i] x_u[i]ᵀ (and s_b Δ_u[i] for b), so the inner product factorizes into Gram matrices:

    Θ += s_W² (G_δ ⊙ G_x) + s_b² G_δ,    G_x = X_u X_vᵀ,  G_δ = Δ_u Δ_vᵀ,

summed over every layer (and over the pairs of nodes (u, v) that share a layer). Cost per Dense
layer: two (n × width × n) matrix products instead of an (n × p × n) one.

Output conventions (k = number of outputs, Θ_ab(x, x') = ∂f_a(x)/∂θ · ∂f_b(x')/∂θ):

* ``blocks="trace"`` (default): Σ_a Θ_aa, shape (n1, n2); for a scalar output this *is* Θ;
* ``blocks="diagonal"``: Θ_aa for every output, shape (n1, n2, k);
* ``blocks="full"``: every Θ_ab, shape (n1, n2, k, k).

The return shape depends only on ``blocks``, never on k.
"""

from __future__ import annotations

import numpy as np

from ffnn.core.graph import Network
from ffnn.errors import FFNNError
from ffnn.lab.jacobian import param_jacobian, sensitivities

__all__ = ["empirical_ntk", "ntk_from_jacobian", "BLOCKS"]

BLOCKS = ("trace", "diagonal", "full")


def _check_blocks(blocks: str) -> None:
    if blocks not in BLOCKS:
        raise FFNNError(f"blocks must be one of {', '.join(BLOCKS)}; got {blocks!r}")


def empirical_ntk(
    net: Network,
    X1,
    X2=None,
    *,
    blocks: str = "trace",
    wrt: str = "z",
) -> np.ndarray:
    """Empirical NTK between the rows of X1: (n1, n_0) and X2: (n2, n_0) (X2=None: X1 itself).

    ``wrt="z"`` differentiates the pre-activation z^(L+1) (the function trained by MSE with an
    identity output); ``"f"`` the output φ_out(z). See the module docstring for ``blocks``.
    Computed in the network's dtype.
    """
    _check_blocks(blocks)
    s1 = sensitivities(net, X1, wrt=wrt)
    s2 = s1 if X2 is None else sensitivities(net, X2, wrt=wrt)
    n1 = np.shape(X1)[0] if not s1 else s1[0].delta[0].shape[0]
    n2 = n1 if X2 is None else (np.shape(X2)[0] if not s2 else s2[0].delta[0].shape[0])
    k = net.output_node.dim
    if blocks == "full":
        pairs = [(a, b) for a in range(k) for b in range(k)]
    else:
        pairs = [(a, a) for a in range(k)]
    theta = np.zeros((len(pairs), n1, n2), dtype=net.dtype)
    for u in s1:
        for v in s2:
            if u.layer == v.layer:  # two uses of one layer's parameters
                theta += u.rules.ntk_gram(u.P, u.cache, u.delta, v.cache, v.delta, pairs)
    if blocks == "trace":
        return theta.sum(axis=0)
    if blocks == "diagonal":
        return np.moveaxis(theta, 0, -1)
    return np.moveaxis(theta.reshape(k, k, n1, n2), (0, 1), (2, 3))


def ntk_from_jacobian(net: Network, X1, X2=None, *, blocks: str = "trace", wrt: str = "z"):
    """Reference: the same kernel from the materialized Jacobians J: (n, k, p), Θ = J J'ᵀ.

    Memory n·k·p; meant for tests and small networks.
    """
    _check_blocks(blocks)
    J1 = param_jacobian(net, X1, wrt=wrt)
    J2 = J1 if X2 is None else param_jacobian(net, X2, wrt=wrt)
    full = np.einsum("iap,jbp->ijab", J1, J2)
    if blocks == "full":
        return full
    diag = np.einsum("ijaa->ija", full)
    return diag if blocks == "diagonal" else diag.sum(axis=-1)
