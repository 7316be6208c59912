"""Activations σ with σ' and σ'' held together, and output activations φ_out.

Every hidden activation is one :class:`Activation` object holding three element-wise functions of
z (any shape, any float dtype, dtype preserved):

    sigma(z)   = σ(z)
    dsigma(z)  = σ'(z)      (backprop: δ^(l) = σ'(z^(l)) ⊙ W^(l+1)ᵀ δ^(l+1))
    d2sigma(z) = σ''(z)     (Hessian-vector products, saturation studies)

Keeping them in one object means a function and its derivative cannot drift apart.

Output activations φ_out act on the last pre-activation z^(L+1) of shape (batch, n_{L+1}); softmax
is not element-wise, so an :class:`OutputActivation` provides ``apply`` and the vector-Jacobian
product ``vjp`` instead of a derivative.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import special

from ffnn.core import gauss as _gauss
from ffnn.errors import FFNNError

Array = np.ndarray

__all__ = [
    "Activation",
    "OutputActivation",
    "ACTIVATIONS",
    "OUTPUT_ACTIVATIONS",
    "get_activation",
    "get_output_activation",
]


@dataclass(frozen=True)
class Activation:
    """An element-wise activation σ with its first and second derivatives.

    ``backward(z, x, g)`` returns σ'(z) ⊙ g; activations whose derivative is cheaper from the
    output x = σ(z) (tanh, sigmoid) or from a mask (ReLU) override it through
    ``fast_backward(z, x, g, out)``. ``sigma_out(z, out)`` writes σ(z) into a buffer; both ``out``
    arguments let the training loop reuse its buffers (``out=None`` allocates).
    """

    name: str
    sigma: Callable[[Array], Array]
    dsigma: Callable[[Array], Array]
    d2sigma: Callable[[Array], Array]
    fast_backward: Callable[..., Array] | None = field(default=None, repr=False)
    params: tuple = ()
    sigma_out: Callable[[Array, Array], Array] | None = field(default=None, repr=False)
    #: Gaussian expectation rule (k11, k22, k12) -> (E[σ(u)σ(v)], E[σ'(u)σ'(v)]) for the
    #: infinite-width kernels (ffnn.core.gauss); None: quadrature on sigma and dsigma
    gauss: Callable[..., tuple[Array, Array]] | None = field(default=None, repr=False)

    def __call__(self, z: Array) -> Array:
        return self.sigma(z)

    def forward(self, z: Array, out: Array | None = None) -> Array:
        """x = σ(z), written into ``out`` when given and supported."""
        if out is None or self.sigma_out is None:
            return self.sigma(z)
        return self.sigma_out(z, out)

    def backward(self, z: Array, x: Array, g: Array, out: Array | None = None) -> Array:
        """σ'(z) ⊙ g, with x = σ(z) already computed; shapes (batch, n); into ``out`` if given."""
        if self.fast_backward is not None:
            return self.fast_backward(z, x, g, out)
        return np.multiply(self.dsigma(z), g, out=out)


def _cast(value: float, z: Array):
    return z.dtype.type(value) if isinstance(z, np.ndarray) else value


# --- identity -------------------------------------------------------------------------------
def _identity(z):
    return z


def _ones(z):
    return np.ones_like(z)


def _zeros(z):
    return np.zeros_like(z)


# --- ReLU and leaky ReLU --------------------------------------------------------------------
def _relu(z):
    return np.maximum(z, 0)


def _drelu(z):
    return (z > 0).astype(z.dtype)


def _relu_out(z, out):
    return np.maximum(z, 0, out=out)


def _relu_backward(z, x, g, out=None):
    return np.multiply(g, z > 0, out=out)


def _leaky_relu(alpha: float) -> Activation:
    def sigma(z):
        return np.where(z > 0, z, _cast(alpha, z) * z)

    def dsigma(z):
        return np.where(z > 0, _cast(1.0, z), _cast(alpha, z)).astype(z.dtype)

    def backward(z, x, g, out=None):
        return np.multiply(g, dsigma(z), out=out)

    return Activation("leaky_relu", sigma, dsigma, _zeros, backward, params=(alpha,))


# --- tanh -----------------------------------------------------------------------------------
def _tanh_out(z, out):
    return np.tanh(z, out=out)


def _tanh_backward(z, x, g, out=None):  # σ' = 1 − x²
    return np.multiply(g, 1 - x * x, out=out)


def _dtanh(z):
    t = np.tanh(z)
    return 1 - t * t


def _d2tanh(z):
    t = np.tanh(z)
    return -2 * t * (1 - t * t)


# --- sigmoid --------------------------------------------------------------------------------
def _sigmoid_out(z, out):
    return special.expit(z, out=out)


def _sigmoid_backward(z, x, g, out=None):  # σ' = x (1 − x)
    return np.multiply(g, x * (1 - x), out=out)


def _dsigmoid(z):
    s = special.expit(z)
    return s * (1 - s)


def _d2sigmoid(z):
    s = special.expit(z)
    return s * (1 - s) * (1 - 2 * s)


# --- softplus: log(1 + e^z) -----------------------------------------------------------------
def _softplus(z):
    return np.logaddexp(_cast(0.0, z), z)


def _d2softplus(z):
    s = special.expit(z)
    return s * (1 - s)


# --- ELU (alpha = 1) ------------------------------------------------------------------------
def _elu(alpha: float) -> Activation:
    def sigma(z):
        return np.where(z > 0, z, _cast(alpha, z) * np.expm1(np.minimum(z, 0)))

    def dsigma(z):
        return np.where(z > 0, _cast(1.0, z), _cast(alpha, z) * np.exp(np.minimum(z, 0)))

    def d2sigma(z):
        return np.where(z > 0, _cast(0.0, z), _cast(alpha, z) * np.exp(np.minimum(z, 0)))

    return Activation("elu", sigma, dsigma, d2sigma, params=(alpha,))


# --- GELU: z Φ(z) ---------------------------------------------------------------------------
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _phi(z):
    return _cast(_INV_SQRT_2PI, z) * np.exp(-0.5 * z * z)


def _gelu(z):
    return z * special.ndtr(z)


def _dgelu(z):
    return special.ndtr(z) + z * _phi(z)


def _d2gelu(z):
    return _phi(z) * (2 - z * z)


# --- erf ------------------------------------------------------------------------------------
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _derf(z):
    return _cast(_TWO_OVER_SQRT_PI, z) * np.exp(-z * z)


def _d2erf(z):
    return -2 * z * _derf(z)


def _neg_sin(z):
    return -np.sin(z)


ACTIVATIONS: dict[str, Callable[..., Activation]] = {
    "identity": lambda: Activation(
        "identity",
        _identity,
        _ones,
        _zeros,
        lambda z, x, g, out=None: g,
        gauss=_gauss.identity_gauss,
    ),
    "relu": lambda: Activation(
        "relu", _relu, _drelu, _zeros, _relu_backward, (), _relu_out, _gauss.relu_gauss
    ),
    "leaky_relu": lambda alpha=0.01: replace(
        _leaky_relu(alpha), gauss=_gauss.leaky_relu_gauss(alpha)
    ),
    "tanh": lambda: Activation("tanh", np.tanh, _dtanh, _d2tanh, _tanh_backward, (), _tanh_out),
    "sigmoid": lambda: Activation(
        "sigmoid", special.expit, _dsigmoid, _d2sigmoid, _sigmoid_backward, (), _sigmoid_out
    ),
    "softplus": lambda: Activation("softplus", _softplus, special.expit, _d2softplus),
    "elu": lambda alpha=1.0: _elu(alpha),
    "gelu": lambda: Activation("gelu", _gelu, _dgelu, _d2gelu),
    "erf": lambda: Activation("erf", special.erf, _derf, _d2erf, gauss=_gauss.erf_gauss),
    "sin": lambda: Activation("sin", np.sin, np.cos, _neg_sin, gauss=_gauss.sin_gauss),
}


def get_activation(spec: str | Activation) -> Activation:
    """Look an activation up by name (``"relu"``, ``"tanh"``, ...) or pass one through."""
    if isinstance(spec, Activation):
        return spec
    try:
        return ACTIVATIONS[spec]()
    except (KeyError, TypeError):
        raise FFNNError(
            f"unknown activation {spec!r}; choose one of {', '.join(ACTIVATIONS)}"
        ) from None


# --- output activations ---------------------------------------------------------------------
def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _softmax_vjp(z, f, g):
    return f * (g - np.sum(f * g, axis=1, keepdims=True))


def _softmax_jvp(z, f, v):
    return f * (v - np.sum(f * v, axis=1, keepdims=True))


@dataclass(frozen=True)
class OutputActivation:
    """φ_out acting on z^(L+1) of shape (batch, n_{L+1}).

    ``vjp(z, f, g)`` = (∂f/∂z)ᵀ g and ``jvp(z, f, v)`` = (∂f/∂z) v per example, with f = φ_out(z).
    """

    name: str
    apply: Callable[[Array], Array]
    vjp: Callable[[Array, Array, Array], Array]
    jvp: Callable[[Array, Array, Array], Array]

    def __call__(self, z: Array) -> Array:
        return self.apply(z)


def _sigmoid_vjp(z, f, g):
    return g * f * (1 - f)


OUTPUT_ACTIVATIONS: dict[str, OutputActivation] = {
    "identity": OutputActivation("identity", _identity, lambda z, f, g: g, lambda z, f, v: v),
    "sigmoid": OutputActivation("sigmoid", special.expit, _sigmoid_vjp, _sigmoid_vjp),
    "softmax": OutputActivation("softmax", _softmax, _softmax_vjp, _softmax_jvp),
}


def get_output_activation(spec: str | OutputActivation) -> OutputActivation:
    """Look an output activation up by name: ``"identity"``, ``"sigmoid"`` or ``"softmax"``."""
    if isinstance(spec, OutputActivation):
        return spec
    try:
        return OUTPUT_ACTIVATIONS[spec]
    except (KeyError, TypeError):
        raise FFNNError(
            f"unknown output activation {spec!r}; choose one of {', '.join(OUTPUT_ACTIVATIONS)}"
        ) from None
