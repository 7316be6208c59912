"""Synthetic data sets: 1-D regression of a known f (the notes' setting y^(i) = f(x^(i))), and the
classic two-dimensional classification sets (spirals, moons, circles, XOR).

Every generator takes ``n`` (number of examples), ``noise`` and ``rng`` (a seed or a
``numpy.random.Generator``; no global random state is touched).
"""

from __future__ import annotations

import numpy as np

from ffnn.data.dataset import Dataset
from ffnn.errors import FFNNError
from ffnn.limits import check_bytes

__all__ = ["sine", "piecewise", "piecewise_f", "spirals", "moons", "circles", "xor"]


#: bytes a generator holds per example at its peak (X, y and temporaries, float64)
BYTES_PER_EXAMPLE = 96


def _check(n: int, noise: float) -> None:
    """n an integer >= 2 whose arrays fit the memory limit (:mod:`ffnn.limits`); noise >= 0."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2:
        raise FFNNError(f"a data set needs n >= 2 examples, got n={n!r}")
    check_bytes(
        int(n) * BYTES_PER_EXAMPLE,
        f"a synthetic data set of n={int(n):,} examples",
        "choose a smaller n",
    )
    if not isinstance(noise, int | float | np.floating) or not np.isfinite(noise) or noise < 0:
        raise FFNNError(f"noise must be a finite number >= 0, got {noise!r}")


def sine(n: int = 256, *, noise: float = 0.05, periods: float = 1.0, rng=0) -> Dataset:
    """y = sin(2π · periods · x) + noise · ε, x uniform on [-1, 1]: X: (n, 1), y: (n,)."""
    _check(n, noise)
    rng = np.random.default_rng(rng)
    x = rng.uniform(-1.0, 1.0, n)
    y = np.sin(2 * np.pi * periods * x) + noise * rng.standard_normal(n)
    return Dataset(
        x[:, None],
        y,
        "regression",
        "sine",
        ["x"],
        target_name="y",
        description=f"y = sin(2π·{periods}·x) + {noise}·ε on [-1, 1]",
    )


def piecewise_f(x: np.ndarray) -> np.ndarray:
    """The piecewise-linear f of lecture 11, a sum of ReLU ramps φ(z) = max(z, 0) with kinks at
    x = 3, 7 and 11:  f(x) = φ(x − 3) − 2 φ(x − 7) + 2 φ(x − 11)  on [0, 14]
    (flat at 0, up to 4 at x = 7, down to 0 at x = 11, up to 3 at x = 14). One hidden layer of
    three ReLU units represents it exactly."""
    x = np.asarray(x, dtype=np.float64)
    r = lambda t: np.maximum(t, 0.0)
    return r(x - 3) - 2 * r(x - 7) + 2 * r(x - 11)


def piecewise(n: int = 256, *, noise: float = 0.0, rng=0) -> Dataset:
    """y = f(x) + noise · ε for the lecture-11 piecewise-linear f, x uniform on [0, 14]."""
    _check(n, noise)
    rng = np.random.default_rng(rng)
    x = rng.uniform(0.0, 14.0, n)
    y = piecewise_f(x) + noise * rng.standard_normal(n)
    return Dataset(
        x[:, None],
        y,
        "regression",
        "piecewise",
        ["x"],
        target_name="y",
        description="lecture 11: f(x) = φ(x−3) − 2φ(x−7) + 2φ(x−11), φ = ReLU, x in [0, 14]",
    )


def spirals(n: int = 400, *, classes: int = 2, noise: float = 0.1, turns: float = 1.5, rng=0):
    """``classes`` interleaved spiral arms in the plane, n examples split evenly: X: (n, 2)."""
    _check(n, noise)
    if not isinstance(classes, int | np.integer) or classes < 2:
        raise FFNNError(f"spirals needs classes >= 2, got {classes!r}")
    rng = np.random.default_rng(rng)
    y = np.arange(n) % classes
    r = rng.uniform(0.05, 1.0, n)
    angle = 2 * np.pi * (turns * r + y / classes)
    X = np.column_stack([r * np.cos(angle), r * np.sin(angle)])
    X += noise * r[:, None] * rng.standard_normal((n, 2))
    return Dataset(
        X,
        y,
        "classification",
        "spirals",
        ["x1", "x2"],
        list(range(classes)),
        target_name="arm",
        description=f"{classes} spiral arms, {turns} turns",
    )


def moons(n: int = 400, *, noise: float = 0.1, rng=0) -> Dataset:
    """Two interleaving half circles (scikit-learn's make_moons): X: (n, 2), y in {0, 1}."""
    _check(n, noise)
    from sklearn.datasets import make_moons

    seed = int(np.random.default_rng(rng).integers(2**31 - 1))
    X, y = make_moons(n, noise=noise, random_state=seed)
    return Dataset(
        X,
        y,
        "classification",
        "moons",
        ["x1", "x2"],
        [0, 1],
        description="two interleaving half circles",
    )


def circles(n: int = 400, *, noise: float = 0.05, factor: float = 0.5, rng=0) -> Dataset:
    """A small circle inside a large one (scikit-learn's make_circles): X: (n, 2), y in {0, 1}."""
    _check(n, noise)
    from sklearn.datasets import make_circles

    seed = int(np.random.default_rng(rng).integers(2**31 - 1))
    X, y = make_circles(n, noise=noise, factor=factor, random_state=seed)
    return Dataset(
        X, y, "classification", "circles", ["x1", "x2"], [0, 1], description="concentric circles"
    )


def xor(n: int = 400, *, noise: float = 0.1, rng=0) -> Dataset:
    """XOR: x uniform on [-1, 1]², y = 1 where x1·x2 < 0; not linearly separable."""
    _check(n, noise)
    rng = np.random.default_rng(rng)
    X = rng.uniform(-1.0, 1.0, (n, 2))
    y = (X[:, 0] * X[:, 1] < 0).astype(np.int64)
    X = X + noise * rng.standard_normal((n, 2))
    return Dataset(
        X,
        y,
        "classification",
        "xor",
        ["x1", "x2"],
        [0, 1],
        description="XOR of the signs of x1 and x2",
    )
