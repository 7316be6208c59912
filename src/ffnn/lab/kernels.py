"""Infinite-width kernels of a fully connected network: the NNGP kernel K and the NTK Θ.

Convention: the NTK parameterization (Jacot et al. 2018), the one of ``Init(parameterization=
"ntk")`` in the core:

    z^(1) = √(C_W/n_0) W^(1) x + √C_b b^(1),   z^(l+1) = √(C_W/n_l) W^(l+1) σ(z^(l)) + √C_b b^(l+1),

with every W, b ~ N(0, 1). As all hidden widths n_1 … n_L → ∞ the output z^(L+1) becomes a
Gaussian process with covariance K = K^(L+1) and the empirical NTK becomes the deterministic Θ =
Θ^(L+1), given by per-layer kernel rules:

    K^(1)(x, x') = C_b + C_W x·x'/n_0,                   Θ^(1) = K^(1),
    K^(l+1)      = C_b + C_W E[σ(u) σ(v)],     (u, v) ~ N(0, [[K_xx, K_xx'], [K_x'x, K_x'x']]),
    Θ^(l+1)      = K^(l+1) + C_W E[σ'(u) σ'(v)] Θ^(l).

The per-layer rules are the layers' own (``Dense.kernel``, ``Act.kernel``, ...), run by the kernel
sweep of :mod:`ffnn.core.kernels` over the network's graph, chains and DAGs alike; the Gaussian
expectations are the activations' own rules (:mod:`ffnn.core.gauss`: closed forms for relu,
leaky_relu, erf, sin, identity; quadrature to a target accuracy for the others). This module
builds the chain the functions below describe and reads the sweep's results.

The NNGP kernel K is the same in both parameterizations. The NTK is not: in the standard
parameterization (W ~ N(0, C_W/n_in)) the weight-gradient contribution of layer l is n_{l-1}/C_W
times its NTK-parameterization value and the bias one 1/C_b times, so it grows with width.
:func:`ntk_layer_terms` returns the per-layer terms, and :func:`analytic_ntk` with
``parameterization="standard"`` and the finite ``widths`` gives that (expected) kernel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ffnn.core.activations import Activation, get_activation
from ffnn.core.init import Init
from ffnn.core.kernels import KernelContext, kernel_sweep, nngp_ntk
from ffnn.core.layers import Act, Dense, Input
from ffnn.errors import FFNNError

__all__ = [
    "gaussian_expectations",
    "KernelLayerTerms",
    "ntk_layer_terms",
    "analytic_ntk",
    "analytic_nngp",
    "kernels_for",
    "kernel_regression",
]


def gaussian_expectations(
    activation: str | Activation, k11, k22, k12, *, quad_order: int | None = None, tol=1e-9
):
    """(E[σ(u)σ(v)], E[σ'(u)σ'(v)]) for (u, v) ~ N(0, [[k11, k12], [k12, k22]]), element-wise.

    The activation's own rule; without one, quadrature to the relative accuracy ``tol`` (or a
    fixed Gauss–Hermite rule of ``quad_order`` nodes per axis).
    """
    ctx = KernelContext(Init(), tol=tol, order=quad_order)
    return ctx.gauss(get_activation(activation))(k11, k22, k12)


@dataclass
class KernelLayerTerms:
    """The infinite-width kernels between X1 and X2, layer by layer, for layers l = 1 … L+1.

    ``K[l-1]``: (n1, n2) NNGP kernel of z^(l) (``K[-1]`` is the output's);
    ``E[l-1]``: the Gram of layer l's input, E[σ(u)σ(v)] under K^(l-1) (x·x'/n_0 for l = 1);
    ``P[l-1]``: Π_{m=l}^{L} C_W E[σ'σ'] under K^(m), the backward factor (1 for the output).
    Layer l contributes P (C_W E + C_b) to the NTK-parameterization Θ (weights, then bias).
    """

    K: list[np.ndarray]
    E: list[np.ndarray]
    P: list[np.ndarray]
    C_W: float
    C_b: float

    @property
    def ntk(self) -> np.ndarray:
        return sum(p * (self.C_W * e + self.C_b) for p, e in zip(self.P, self.E, strict=True))


def _as_acts(activation, depth: int) -> list:
    acts = [activation] * depth if isinstance(activation, str | Activation) else list(activation)
    if len(acts) != depth:
        raise FFNNError(f"{depth} hidden layers need {depth} activations, got {len(acts)}")
    return acts


def _chain(n0: int, acts: list, C_W: float, C_b: float, parameterization: str, widths):
    """The output node of x -> Dense -> σ -> ... -> Dense(1), every Dense with one Init.

    Nodes in order: x, then Dense l at position 2l − 1 and its activation at 2l.
    """
    init = Init(C_W, C_b=C_b, parameterization=parameterization)
    widths = widths or [n0] + [1] * len(acts)  # the NTK-parameterization limit ignores widths
    h = Input(n0)
    for n, act in zip(widths[1:], acts, strict=True):
        h = Act(act)(Dense(int(n), init=init)(h))
    return Dense(1, init=init)(h)


def _sweep(X1, X2, depth, activation, C_W, C_b, quad_order, parameterization="ntk", widths=None):
    n0 = np.atleast_2d(np.asarray(X1)).shape[1]
    out = _chain(n0, _as_acts(activation, depth), C_W, C_b, parameterization, widths)
    return kernel_sweep(out, X1, X2, order=quad_order)


def ntk_layer_terms(
    X1,
    X2=None,
    *,
    depth: int,
    activation: str | list[str] = "relu",
    C_W: float = 2.0,
    C_b: float = 0.0,
    quad_order: int | None = None,
) -> KernelLayerTerms:
    """Per-layer infinite-width kernels for L = ``depth`` hidden layers (see module docstring).

    X1: (n1, n_0), X2: (n2, n_0). ``C_W``, ``C_b`` are the weight and bias variances (one value
    for every layer). Computed in float64 by the kernel sweep over the chain.
    """
    ks = _sweep(X1, X2, depth, activation, C_W, C_b, quad_order)
    K = [ks[2 * l - 1].K12 for l in range(1, depth + 2)]
    E = [ks[2 * l - 2].K12 for l in range(1, depth + 2)]
    chis = [C_W * ks[2 * l].Kdot12 for l in range(1, depth + 1)]
    P = [np.ones_like(K[0])]
    for chi in reversed(chis):
        P.insert(0, P[0] * chi)
    return KernelLayerTerms(K, E, P, float(C_W), float(C_b))


def analytic_ntk(
    X1,
    X2=None,
    *,
    depth: int,
    activation: str | list[str] = "relu",
    C_W: float = 2.0,
    C_b: float = 0.0,
    parameterization: str = "ntk",
    widths: list[int] | None = None,
    quad_order: int | None = None,
) -> np.ndarray:
    """Infinite-width NTK Θ(X1, X2): (n1, n2) of a network with ``depth`` hidden layers.

    ``parameterization="ntk"`` (default) is the width-independent limit Σ_l P_l (C_W E_l + C_b).
    ``"standard"`` needs ``widths`` = [n_0, n_1, ..., n_L] (the fan-ins of the L+1 layers) and
    gives the expected NTK of a wide standard-parameterization network, Σ_l P_l (n_{l-1} E_l + 1):
    there ∂z/∂W is larger by √(n_{l-1}/C_W) and ∂z/∂b by 1/√C_b than in the NTK one.
    """
    if parameterization not in ("ntk", "standard"):
        raise FFNNError(f"parameterization must be 'ntk' or 'standard', got {parameterization!r}")
    if parameterization == "ntk":
        widths = None
    elif widths is None or len(widths) != depth + 1:
        raise FFNNError(
            f"the standard-parameterization NTK depends on the widths: pass widths=[n_0, ..., "
            f"n_L] ({depth + 1} numbers)"
        )
    elif widths[0] != np.atleast_2d(np.asarray(X1)).shape[1]:
        raise FFNNError(f"widths[0] = {widths[0]} must be the number of features n_0 of X1")
    ks = _sweep(X1, X2, depth, activation, C_W, C_b, quad_order, parameterization, widths)
    return ks[-1].T12


def analytic_nngp(
    X1,
    X2=None,
    *,
    depth: int,
    activation: str | list[str] = "relu",
    C_W: float = 2.0,
    C_b: float = 0.0,
    quad_order: int | None = None,
) -> np.ndarray:
    """Infinite-width NNGP kernel K = Cov(z^(L+1)(x), z^(L+1)(x')): (n1, n2).

    The same in the standard and the NTK parameterization.
    """
    return _sweep(X1, X2, depth, activation, C_W, C_b, quad_order)[-1].K12


def kernels_for(
    net, X1, X2=None, *, quad_order: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(K, Θ) of the infinite-width limit of ``net``'s architecture, per output unit.

    The kernel sweep over the network's own graph (a chain or a DAG of Dense, activations, Add
    and Concat; see :mod:`ffnn.core.kernels` for what is refused), with each layer's Init. For a
    network in the NTK parameterization Θ is the limit of its empirical NTK; for a standard one
    the expected kernel at the network's widths is returned.
    """
    return nngp_ntk(net, X1, X2, order=quad_order)


def kernel_regression(K_test_train: np.ndarray, K_train: np.ndarray, y_train, *, ridge=0.0):
    """Kernel regression predictions K(X*, X) (K(X, X) + ridge I)⁻¹ y.

    For the NTK this is what an infinitely wide network trained by gradient flow on MSE from
    f_0 ≡ 0 converges to (Jacot et al. 2018; Lee et al. 2019).
    """
    y = np.asarray(y_train, dtype=np.float64)
    A = K_train + ridge * np.eye(K_train.shape[0])
    return K_test_train @ np.linalg.solve(A, y)
