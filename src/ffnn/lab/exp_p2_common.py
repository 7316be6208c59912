"""Shared data of the part-2 lab experiments (geometry of training)."""

from __future__ import annotations

import numpy as np

import ffnn
from ffnn.core.graph import Network


def teacher_data(
    n: int, d: int, width: int, *, noise: float = 0.1, seed: int = 0, scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray, Network]:
    """x ~ N(0, I_d), y = scale · f_teacher(x) + noise, with a random tanh teacher d-width-1."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    teacher = ffnn.mlp(
        [d, width, 1], "tanh", rng=seed + 1, dtype=np.float64, init=ffnn.Init("lecun", C_b=0.5)
    )
    y = scale * teacher(X)[:, 0] + noise * rng.standard_normal(n)
    return X, y, teacher
