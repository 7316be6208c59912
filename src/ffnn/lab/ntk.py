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

import threading

import numpy as np

from ffnn.core.graph import Network, Workspace
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
    Computed in the network's dtype; the working buffers of one size are kept for the next
    call while they take at most :data:`KEEP_BYTES` (the result is always a fresh array).
    """
    _check_blocks(blocks)
    X1 = net._check_input(X1)
    X2 = None if X2 is None else net._check_input(X2)
    n1 = X1.shape[0]
    n2 = n1 if X2 is None else X2.shape[0]
    k = net.output_node.dim
    ws1, ws2, scratch = _buffers(net, n1, n2, k, X2 is None)
    s1 = sensitivities(net, X1, wrt=wrt, workspaces=ws1)
    s2 = s1 if X2 is None else sensitivities(net, X2, wrt=wrt, workspaces=ws2)
    if blocks == "full":
        pairs = [(a, b) for a in range(k) for b in range(k)]
    else:
        pairs = [(a, a) for a in range(k)]
    slots = 1 if blocks == "trace" else len(pairs)  # the trace: every pair into one sum
    theta = np.zeros((slots, n1, n2), dtype=net.dtype)
    for u in s1:
        for v in s2:
            if u.layer == v.layer:  # two uses of one layer's parameters
                u.rules.ntk_gram(u.P, u.cache, u.delta, v.cache, v.delta, pairs, theta, scratch)
    if blocks == "trace":
        return theta[0]
    if blocks == "diagonal":
        return np.moveaxis(theta, 0, -1)
    return np.moveaxis(theta.reshape(k, k, n1, n2), (0, 1), (2, 3))


_kept = threading.local()

#: The most memory (bytes) :func:`empirical_ntk` keeps between calls for its buffers.
KEEP_BYTES = 64 * 2**20


def _buffers(net: Network, n1: int, n2: int, k: int, same: bool):
    """The calling thread's buffers for a kernel of n1 × n2 inputs and k outputs: a Workspace
    per output for each input set (None for X2 when it is X1) and the (2, n1, n2) scratch of
    the layers' Gram matrices, reused from the last call of the same shapes and graph.

    Fresh large arrays cost page faults (the allocator hands big blocks back to the system on
    free): half of the kernel's time at 40-512-512-1 with n = 1,000, where 14,000–16,000 faults
    a call took 30–45 ms of system time (``benchmarks/bench_ntk.py``: 47–49 ms a kernel against
    23 ms with these buffers kept). They are kept while they take at most KEEP_BYTES (one
    size, like :func:`ffnn.lab.hessian.hvp`'s); beyond that the sensitivities allocate as
    usual, and only the scratch is shared by the layers of the call.
    """
    dims = tuple(node.dim for node in net.nodes)
    in_place = Workspace.in_place_nodes(net)  # which nodes share buffers: a graph's relus
    sig = (dims, tuple(net._parents), in_place, net.dtype, n1, n2, k, same)
    if getattr(_kept, "sig", None) == sig:
        return _kept.buffers
    _kept.sig = _kept.buffers = None  # let the last size go first
    scratch = np.empty((2, n1, n2), dtype=net.dtype)
    rows = k * (n1 if same else n1 + n2)  # the batch rows of all the Workspaces
    if net.dtype.itemsize * (2 * rows * sum(dims) + scratch.size) > KEEP_BYTES:
        return None, None, scratch

    def per_output(n):
        return [Workspace(net, n, in_place=True) for _ in range(k)]

    _kept.buffers = (per_output(n1), None if same else per_output(n2), scratch)
    _kept.sig = sig
    return _kept.buffers


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
