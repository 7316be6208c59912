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

The Gaussian expectations in closed form:

* ReLU (arc-cosine kernel, Cho & Saul 2009), with cos θ = K_xx' / √(K_xx K_x'x'):
  E[σσ] = √(K_xx K_x'x') (sin θ + (π − θ) cos θ) / (2π),   E[σ'σ'] = (π − θ) / (2π);
* erf (Williams 1997): E[σσ] = (2/π) arcsin(2K_xx' / √((1 + 2K_xx)(1 + 2K_x'x'))),
  E[σ'σ'] = (4/π) / √((1 + 2K_xx)(1 + 2K_x'x') − 4K_xx'²);
* any other activation: Gauss–Hermite quadrature (``quad_order`` nodes per axis).

The NNGP kernel K is the same in both parameterizations. The NTK is not: in the standard
parameterization (W ~ N(0, C_W/n_in)) the weight-gradient contribution of layer l is n_{l-1}/C_W
times its NTK-parameterization value and the bias one 1/C_b times, so it grows with width.
:func:`ntk_layer_terms` returns the per-layer terms, and :func:`analytic_ntk` with
``parameterization="standard"`` and the finite ``widths`` gives that (expected) kernel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ffnn.core.activations import get_activation
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


def _relu_rule(k11, k22, k12):
    norm = np.sqrt(k11 * k22)
    cos = np.clip(k12 / np.where(norm > 0, norm, 1.0), -1.0, 1.0)
    th = np.arccos(cos)
    e_ss = norm * (np.sin(th) + (np.pi - th) * cos) / (2 * np.pi)
    e_dd = (np.pi - th) / (2 * np.pi)
    return e_ss, e_dd


def _erf_rule(k11, k22, k12):
    a, b = 1 + 2 * k11, 1 + 2 * k22
    e_ss = (2 / np.pi) * np.arcsin(np.clip(2 * k12 / np.sqrt(a * b), -1.0, 1.0))
    e_dd = (4 / np.pi) / np.sqrt(np.maximum(a * b - 4 * k12 * k12, 1e-300))
    return e_ss, e_dd


_RULES = {"relu": _relu_rule, "erf": _erf_rule}


def _quad_rule(name: str, order: int):
    act = get_activation(name)
    t, w = np.polynomial.hermite_e.hermegauss(order)  # ∫ e^{-t²/2}: weights sum to √(2π)
    w = w / w.sum()

    def rule(k11, k22, k12):
        s1, s2 = np.sqrt(k11), np.sqrt(k22)
        rho = np.clip(k12 / np.where(s1 * s2 > 0, s1 * s2, 1.0), -1.0, 1.0)
        c = np.sqrt(1 - rho * rho)
        e_ss = np.zeros(np.broadcast(k11, k22, k12).shape)
        e_dd = np.zeros_like(e_ss)
        for ti, wi in zip(t, w, strict=True):
            u = s1 * ti
            su, du = act.sigma(u), act.dsigma(u)
            for tj, wj in zip(t, w, strict=True):
                v = s2 * (rho * ti + c * tj)
                e_ss += wi * wj * su * act.sigma(v)
                e_dd += wi * wj * du * act.dsigma(v)
        return e_ss, e_dd

    return rule


def gaussian_expectations(activation: str, k11, k22, k12, *, quad_order: int = 24):
    """(E[σ(u)σ(v)], E[σ'(u)σ'(v)]) for (u, v) ~ N(0, [[k11, k12], [k12, k22]]), element-wise."""
    name = get_activation(activation).name
    rule = _RULES.get(name) or _quad_rule(name, quad_order)
    return rule(np.asarray(k11, float), np.asarray(k22, float), np.asarray(k12, float))


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


def _as_acts(activation, depth: int) -> list[str]:
    acts = [activation] * depth if isinstance(activation, str) else list(activation)
    if len(acts) != depth:
        raise FFNNError(f"{depth} hidden layers need {depth} activations, got {len(acts)}")
    return acts


def ntk_layer_terms(
    X1,
    X2=None,
    *,
    depth: int,
    activation: str | list[str] = "relu",
    C_W: float = 2.0,
    C_b: float = 0.0,
    quad_order: int = 24,
) -> KernelLayerTerms:
    """Per-layer infinite-width kernels for L = ``depth`` hidden layers (see module docstring).

    X1: (n1, n_0), X2: (n2, n_0). ``C_W``, ``C_b`` are the weight and bias variances (one value
    for every layer). Computed in float64.
    """
    X1 = np.atleast_2d(np.asarray(X1, dtype=np.float64))
    X2 = X1 if X2 is None else np.atleast_2d(np.asarray(X2, dtype=np.float64))
    if X1.shape[1] != X2.shape[1]:
        raise FFNNError(f"X1 and X2 need the same number of features: {X1.shape} vs {X2.shape}")
    acts = _as_acts(activation, depth)
    n0 = X1.shape[1]
    e12 = X1 @ X2.T / n0
    e11, e22 = np.sum(X1 * X1, 1) / n0, np.sum(X2 * X2, 1) / n0
    Ks, Es, chis = [], [e12], []
    for act in acts + [None]:
        K12, K11, K22 = C_b + C_W * e12, C_b + C_W * e11, C_b + C_W * e22
        Ks.append(K12)
        if act is None:
            break
        e12, d12 = gaussian_expectations(
            act, K11[:, None], K22[None, :], K12, quad_order=quad_order
        )
        e11 = gaussian_expectations(act, K11, K11, K11, quad_order=quad_order)[0]
        e22 = gaussian_expectations(act, K22, K22, K22, quad_order=quad_order)[0]
        Es.append(e12)
        chis.append(C_W * d12)
    P = [np.ones_like(Ks[0])]
    for chi in reversed(chis):
        P.insert(0, P[0] * chi)
    return KernelLayerTerms(Ks, Es, P, float(C_W), float(C_b))


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
    quad_order: int = 24,
) -> np.ndarray:
    """Infinite-width NTK Θ(X1, X2): (n1, n2) of a network with ``depth`` hidden layers.

    ``parameterization="ntk"`` (default) is the width-independent limit Σ_l P_l (C_W E_l + C_b).
    ``"standard"`` needs ``widths`` = [n_0, n_1, ..., n_L] (the fan-ins of the L+1 layers) and
    gives the expected NTK of a wide standard-parameterization network, Σ_l P_l (n_{l-1} E_l + 1):
    there ∂z/∂W is larger by √(n_{l-1}/C_W) and ∂z/∂b by 1/√C_b than in the NTK one.
    """
    t = ntk_layer_terms(
        X1, X2, depth=depth, activation=activation, C_W=C_W, C_b=C_b, quad_order=quad_order
    )
    if parameterization == "ntk":
        return t.ntk
    if parameterization != "standard":
        raise FFNNError(f"parameterization must be 'ntk' or 'standard', got {parameterization!r}")
    if widths is None or len(widths) != depth + 1:
        raise FFNNError(
            f"the standard-parameterization NTK depends on the widths: pass widths=[n_0, ..., "
            f"n_L] ({depth + 1} numbers)"
        )
    return sum(p * (n * e + 1.0) for p, e, n in zip(t.P, t.E, widths, strict=True))


def analytic_nngp(
    X1,
    X2=None,
    *,
    depth: int,
    activation: str | list[str] = "relu",
    C_W: float = 2.0,
    C_b: float = 0.0,
    quad_order: int = 24,
) -> np.ndarray:
    """Infinite-width NNGP kernel K = Cov(z^(L+1)(x), z^(L+1)(x')): (n1, n2).

    The same in the standard and the NTK parameterization.
    """
    t = ntk_layer_terms(
        X1, X2, depth=depth, activation=activation, C_W=C_W, C_b=C_b, quad_order=quad_order
    )
    return t.K[-1]


def kernels_for(net, X1, X2=None, *, quad_order: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """(K, Θ) of the infinite-width limit of ``net``'s architecture (a chain made by ``mlp``).

    Reads the activations and each layer's (C_W, C_b) from the network; all layers must share
    one Init. For a network in the NTK parameterization Θ is the limit of its empirical NTK;
    for a standard one the expected kernel at the network's widths is returned.
    """
    from ffnn.core.layers import Act, Dense

    if not net.is_chain:
        raise FFNNError("kernels_for needs a chain network (mlp / Sequential); got a DAG")
    acts = [n.layer.activation.name for n in net.nodes if isinstance(n.layer, Act)]
    layers = [n.layer for n in net.nodes if isinstance(n.layer, Dense)]
    inits = {
        (i.C_W(lay.n_in, lay.n_out), i.bias_variance(), i.parameterization)
        for i, lay in zip(net.inits, layers, strict=True)
    }
    if len(inits) != 1:
        raise FFNNError(
            f"kernels_for needs one (C_W, C_b, parameterization) for all layers, got {inits}"
        )
    C_W, C_b, par = inits.pop()
    kw = dict(depth=len(acts), activation=acts, C_W=C_W, C_b=C_b, quad_order=quad_order)
    K = analytic_nngp(X1, X2, **kw)
    widths = [lay.n_in for lay in layers]
    return K, analytic_ntk(X1, X2, parameterization=par, widths=widths, **kw)


def kernel_regression(K_test_train: np.ndarray, K_train: np.ndarray, y_train, *, ridge=0.0):
    """Kernel regression predictions K(X*, X) (K(X, X) + ridge I)⁻¹ y.

    For the NTK this is what an infinitely wide network trained by gradient flow on MSE from
    f_0 ≡ 0 converges to (Jacot et al. 2018; Lee et al. 2019).
    """
    y = np.asarray(y_train, dtype=np.float64)
    A = K_train + ridge * np.eye(K_train.shape[0])
    return K_test_train @ np.linalg.solve(A, y)
