"""Random initialization of Θ = {W^(l), b^(l)} and the two parameterizations.

Standard parameterization:  z = W x + b  with  W_ij ~ (0, C_W / n_in),  b_i ~ (0, C_b).
NTK parameterization:       z = √(C_W / n_in) · W x + √C_b · b  with  W_ij, b_i ~ (0, 1).

Both give the same distribution of z at initialization; they differ in how gradient descent
scales with width (Jacot et al. 2018). "(0, v)" is a Gaussian N(0, v) or the uniform distribution
U(-√(3v), √(3v)) of the same variance. Named schemes fix C_W:

    he / kaiming : C_W = 2                         (ReLU)
    lecun        : C_W = 1                         (tanh, SELU-like)
    glorot/xavier: C_W = 2 n_in / (n_in + n_out)   (Var W = 2 / (n_in + n_out))

Randomness is passed in: every draw comes from the ``numpy.random.Generator`` given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ffnn.errors import FFNNError

SCHEMES = ("he", "kaiming", "lecun", "glorot", "xavier")
DISTRIBUTIONS = ("normal", "uniform")
PARAMETERIZATIONS = ("standard", "ntk")

#: default bias variance under the NTK parameterization (β = 0.1 as in Jacot et al.)
NTK_DEFAULT_C_B = 0.01


@dataclass(frozen=True)
class Init:
    """How one dense layer is initialized and parameterized.

    ``scheme`` is a name from :data:`SCHEMES` or a number C_W; ``C_b`` is the bias variance
    (``None``: 0 in the standard parameterization, 0.01 in the NTK one).
    """

    scheme: str | float = "he"
    distribution: str = "normal"
    C_b: float | None = None
    parameterization: str = "standard"

    def __post_init__(self):
        if isinstance(self.scheme, str) and self.scheme not in SCHEMES:
            raise FFNNError(
                f"unknown initialization {self.scheme!r}; use one of {', '.join(SCHEMES)} "
                "or a number C_W (weight variance C_W / n_in)"
            )
        if not isinstance(self.scheme, str) and not float(self.scheme) > 0:
            raise FFNNError(f"C_W must be positive, got {self.scheme!r}")
        if self.distribution not in DISTRIBUTIONS:
            raise FFNNError(
                f"unknown distribution {self.distribution!r}; use 'normal' or 'uniform'"
            )
        if self.parameterization not in PARAMETERIZATIONS:
            raise FFNNError(
                f"unknown parameterization {self.parameterization!r}; use 'standard' or 'ntk'"
            )
        if self.C_b is not None and self.C_b < 0:
            raise FFNNError(f"bias variance C_b must be >= 0, got {self.C_b}")

    def C_W(self, n_in: int, n_out: int) -> float:
        """Weight variance times n_in for a layer of shape (n_out, n_in)."""
        s = self.scheme
        if not isinstance(s, str):
            return float(s)
        if s in ("he", "kaiming"):
            return 2.0
        if s == "lecun":
            return 1.0
        return 2.0 * n_in / (n_in + n_out)  # glorot / xavier

    def bias_variance(self) -> float:
        if self.C_b is not None:
            return float(self.C_b)
        return NTK_DEFAULT_C_B if self.parameterization == "ntk" else 0.0

    def scales(self, n_in: int, n_out: int) -> tuple[float, float]:
        """Forward multipliers (s_W, s_b): z = s_W · W x + s_b · b."""
        if self.parameterization == "ntk":
            return math.sqrt(self.C_W(n_in, n_out) / n_in), math.sqrt(self.bias_variance())
        return 1.0, 1.0

    def draw(self, rng: np.random.Generator, W: np.ndarray, b: np.ndarray) -> None:
        """Fill W: (n_out, n_in) and b: (n_out,) in place with fresh random values."""
        n_out, n_in = W.shape
        if self.parameterization == "ntk":
            var_W, var_b = 1.0, 1.0
        else:
            var_W, var_b = self.C_W(n_in, n_out) / n_in, self.bias_variance()
        W[...] = self._sample(rng, var_W, W.shape)
        b[...] = self._sample(rng, var_b, b.shape) if var_b > 0 else 0.0

    def _sample(self, rng: np.random.Generator, var: float, shape) -> np.ndarray:
        if self.distribution == "normal":
            return rng.standard_normal(shape) * math.sqrt(var)
        a = math.sqrt(3.0 * var)
        return rng.uniform(-a, a, shape)

    def to_dict(self) -> dict:
        return {
            "scheme": self.scheme,
            "distribution": self.distribution,
            "C_b": self.C_b,
            "parameterization": self.parameterization,
        }


def as_init(spec: Init | str | float | dict | None) -> Init | None:
    """Accept an :class:`Init`, a scheme name, a number C_W, a dict, or None (inherit)."""
    if spec is None or isinstance(spec, Init):
        return spec
    if isinstance(spec, dict):
        return Init(**spec)
    return Init(scheme=spec)
