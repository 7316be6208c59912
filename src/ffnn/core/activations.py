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
    """An element-wise activation σ with its first and second derivatives, each written once.

    The three functions are called ``sigma(z)``, ``dsigma(z)``, ``d2sigma(z)``. The built-in ones
    (``fused=True``) also take keywords ``x=`` (σ(z) when already computed: tanh and sigmoid get
    σ' and σ'' from it more cheaply) and ``out=`` (a buffer of z's shape to write the result
    into), so that the training loop reuses its buffers with the same formulas. A user's
    activation may pass plain one-argument functions (``fused=False``).
    ``piecewise_linear`` marks σ'' = 0 almost everywhere (the R-operator then skips it).
    """

    name: str
    sigma: Callable[..., Array]
    dsigma: Callable[..., Array]
    d2sigma: Callable[..., Array]
    params: tuple = ()
    fused: bool = field(default=False, repr=False)
    piecewise_linear: bool = field(default=False, repr=False)
    #: Gaussian expectation rule (k11, k22, k12) -> (E[σ(u)σ(v)], E[σ'(u)σ'(v)]) for the
    #: infinite-width kernels (ffnn.core.gauss); None: quadrature on sigma and dsigma
    gauss: Callable[..., tuple[Array, Array]] | None = field(default=None, repr=False)
    #: the scale σ' is compared with when judging saturation: max_z σ'(z) (1 for relu, tanh,
    #: leaky_relu, …; 1/4 for the sigmoid); 1 unless given
    max_dsigma: float = field(default=1.0, repr=False)
    #: x = σ(z) may be written over z (``Workspace(in_place=True)``): σ keeps the sign of z and
    #: σ' depends on that sign alone, so σ' read from x is σ'(z), and σ'' = 0 (relu, the
    #: identity, leaky relu with α ≥ 0)
    in_place: bool = field(default=False, repr=False)

    def __call__(self, z: Array) -> Array:
        return self.sigma(z)

    def forward(self, z: Array, out: Array | None = None) -> Array:
        """x = σ(z), written into ``out`` when given."""
        if self.fused:
            return self.sigma(z, out=out)
        return _put(self.sigma(z), out)

    def derivative(self, z: Array, x: Array | None = None, out: Array | None = None) -> Array:
        """σ'(z), from x = σ(z) where that is cheaper; into ``out`` when given."""
        if self.fused:
            return self.dsigma(z, x=x, out=out)
        return _put(self.dsigma(z), out)

    def second(self, z: Array, x: Array | None = None) -> Array | None:
        """σ''(z), or None where σ'' = 0 almost everywhere (piecewise-linear σ)."""
        if self.piecewise_linear:
            return None
        return self.d2sigma(z, x=x) if self.fused else self.d2sigma(z)

    def backward(self, z: Array, x: Array, g: Array, out: Array | None = None) -> Array:
        """σ'(z) ⊙ g, with x = σ(z) already computed; shapes (batch, n); into ``out`` if given
        (``out`` may be g itself: a workspace whose messages are overwritten in place)."""
        if not self.fused or out is g:  # a user's σ' may hand out an array it keeps: never
            return np.multiply(self.dsigma(z), g, out=out)  # write into it
        d = self.dsigma(z, x, out)
        d *= g
        return d


def _cast(value: float, z: Array):
    return z.dtype.type(value) if isinstance(z, np.ndarray) else value


def _put(value: Array, out: Array | None) -> Array:
    """``value``, copied into ``out`` when a buffer is given."""
    if out is None:
        return value
    np.copyto(out, value)
    return out


def _into(z: Array, out: Array | None) -> Array:
    """The buffer a formula writes into: ``out``, or a fresh array of z's shape and dtype."""
    return np.empty_like(z) if out is None else out


# Each formula below is f(z, x=None, out=None): the one place it is written.
# --- identity -------------------------------------------------------------------------------
def _identity(z, x=None, out=None):
    return _put(z, out)


def _ones(z, x=None, out=None):
    o = _into(z, out)
    o.fill(1)
    return o


def _zeros(z, x=None, out=None):
    o = _into(z, out)
    o.fill(0)
    return o


# --- ReLU and leaky ReLU --------------------------------------------------------------------
def _relu(z, x=None, out=None):
    return np.maximum(z, 0, out=out)


def _drelu(z, x=None, out=None):  # σ' = [z > 0]
    return np.greater(z, 0, out=np.empty_like(z) if out is None else out)


def _leaky_relu(alpha: float) -> Activation:
    def sigma(z, x=None, out=None):  # z for z > 0, α z otherwise
        return np.multiply(z, dsigma(z), out=out)

    def dsigma(z, x=None, out=None):  # 1 for z > 0, α otherwise
        d = _into(z, out)
        d.fill(alpha)
        np.copyto(d, 1, where=z > 0)
        return d

    return Activation(
        "leaky_relu", sigma, dsigma, _zeros, (alpha,), True, True, in_place=alpha >= 0
    )


# --- tanh -----------------------------------------------------------------------------------
def _tanh(z, x=None, out=None):
    return np.tanh(z, out=out)


def _dtanh(z, x=None, out=None):  # σ' = 1 − x², x = tanh z
    x = np.tanh(z) if x is None else x
    return np.subtract(1, x * x, out=out)


def _d2tanh(z, x=None, out=None):  # σ'' = −2 x (1 − x²)
    x = np.tanh(z) if x is None else x
    return np.multiply(-2 * x, _dtanh(z, x), out=out)


# --- sigmoid --------------------------------------------------------------------------------
def _sigmoid(z, x=None, out=None):
    return special.expit(z, out=out)


def _dsigmoid(z, x=None, out=None):  # σ' = x (1 − x)
    x = special.expit(z) if x is None else x
    return np.multiply(1 - x, x, out=out)


def _d2sigmoid(z, x=None, out=None):  # σ'' = x (1 − x)(1 − 2x)
    x = special.expit(z) if x is None else x
    return np.multiply(_dsigmoid(z, x), 1 - 2 * x, out=out)


# --- softplus: log(1 + e^z) -----------------------------------------------------------------
def _softplus(z, x=None, out=None):
    return np.logaddexp(_cast(0.0, z), z, out=out)


def _dsoftplus(z, x=None, out=None):  # σ' = sigmoid(z)
    return special.expit(z, out=out)


def _d2softplus(z, x=None, out=None):
    return _dsigmoid(z, out=out)


# --- ELU ------------------------------------------------------------------------------------
def _elu(alpha: float) -> Activation:
    def sigma(z, x=None, out=None):
        return _put(np.where(z > 0, z, _cast(alpha, z) * np.expm1(np.minimum(z, 0))), out)

    def dsigma(z, x=None, out=None):
        return _put(np.where(z > 0, _cast(1.0, z), d2sigma(z)), out)

    def d2sigma(z, x=None, out=None):
        return np.where(z > 0, _cast(0.0, z), _cast(alpha, z) * np.exp(np.minimum(z, 0)))

    return Activation("elu", sigma, dsigma, d2sigma, (alpha,), True)


# --- GELU: z Φ(z) ---------------------------------------------------------------------------
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _phi(z):
    return _cast(_INV_SQRT_2PI, z) * np.exp(-0.5 * z * z)


def _gelu(z, x=None, out=None):
    return np.multiply(z, special.ndtr(z), out=out)


def _dgelu(z, x=None, out=None):
    return np.add(special.ndtr(z), z * _phi(z), out=out)


def _d2gelu(z, x=None, out=None):
    return np.multiply(_phi(z), 2 - z * z, out=out)


# --- erf ------------------------------------------------------------------------------------
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _erf(z, x=None, out=None):
    return special.erf(z, out=out)


def _derf(z, x=None, out=None):
    return np.multiply(_cast(_TWO_OVER_SQRT_PI, z), np.exp(-z * z), out=out)


def _d2erf(z, x=None, out=None):
    return np.multiply(-2 * z, _derf(z), out=out)


# --- sin ------------------------------------------------------------------------------------
def _sin(z, x=None, out=None):
    return np.sin(z, out=out)


def _cos(z, x=None, out=None):
    return np.cos(z, out=out)


def _neg_sin(z, x=None, out=None):
    return np.negative(np.sin(z), out=out)


def _builtin(name, sigma, dsigma, d2sigma, piecewise_linear=False, gauss=None, in_place=False):
    return lambda: Activation(
        name, sigma, dsigma, d2sigma, (), True, piecewise_linear, gauss, in_place=in_place
    )


ACTIVATIONS: dict[str, Callable[..., Activation]] = {
    "identity": _builtin("identity", _identity, _ones, _zeros, True, _gauss.identity_gauss, True),
    "relu": _builtin("relu", _relu, _drelu, _zeros, True, _gauss.relu_gauss, True),
    "leaky_relu": lambda alpha=0.01: replace(
        _leaky_relu(alpha), gauss=_gauss.leaky_relu_gauss(alpha)
    ),
    "tanh": _builtin("tanh", _tanh, _dtanh, _d2tanh),
    "sigmoid": lambda: replace(
        _builtin("sigmoid", _sigmoid, _dsigmoid, _d2sigmoid)(), max_dsigma=0.25
    ),
    "softplus": _builtin("softplus", _softplus, _dsoftplus, _d2softplus),
    "elu": lambda alpha=1.0: _elu(alpha),
    "gelu": _builtin("gelu", _gelu, _dgelu, _d2gelu),
    "erf": _builtin("erf", _erf, _derf, _d2erf, gauss=_gauss.erf_gauss),
    "sin": _builtin("sin", _sin, _cos, _neg_sin, gauss=_gauss.sin_gauss),
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


def _softmax_vjp(z, f, g):  # ∂f/∂z = diag(f) − f fᵀ is symmetric: the same for jvp
    return f * (g - np.sum(f * g, axis=1, keepdims=True))


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


def _sigmoid_vjp(z, f, g):  # σ'(z) ⊙ g, σ' from f = σ(z)
    return np.multiply(_dsigmoid(z, f), g)


OUTPUT_ACTIVATIONS: dict[str, OutputActivation] = {
    "identity": OutputActivation("identity", _identity, lambda z, f, g: g, lambda z, f, v: v),
    "sigmoid": OutputActivation("sigmoid", _sigmoid, _sigmoid_vjp, _sigmoid_vjp),
    "softmax": OutputActivation("softmax", _softmax, _softmax_vjp, _softmax_vjp),
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
