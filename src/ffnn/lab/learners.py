"""What to try (notes 003): halfspaces, kernels, or a trained network — on the same data.

* :func:`disc_data`: x ~ U[−1, 1]², label 1 inside the disc of radius √(2/π) (half the square's
  area), so no halfspace does much better than chance.
* :func:`compare_learners`: a linear classifier (a network with no hidden layer: logistic
  regression, trained by ``ffnn.fit``), kernel regression with the analytic infinite-width NTK of
  a one-hidden-layer ReLU network (``ffnn.lab.kernels``; labels ±1, the sign of the prediction),
  and a trained one-hidden-layer ReLU network; test accuracy of each.
* :func:`width_error`: universal approximation by training — the RMS error on a fine grid of
  one-hidden-layer tanh networks of width N trained (Adam, full batch) on a smooth target.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

import ffnn
from ffnn.lab.kernels import analytic_ntk, kernel_regression

__all__ = ["disc_data", "LEARNERS", "compare_learners", "width_error", "smooth_target"]

LEARNERS = ("linear", "ntk", "network")


def disc_data(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """X: (n, 2) uniform on [−1, 1]², y: (n,) 1.0 inside the disc ‖x‖² < 2/π, else 0.0."""
    X = rng.uniform(-1, 1, (n, 2))
    return X, (np.sum(X**2, 1) < 2 / np.pi).astype(float)


def _fit_classifier(widths, X, y, seed: int, epochs: int):
    net = ffnn.mlp(widths, "relu", output="sigmoid", rng=seed, dtype=np.float64)
    ffnn.fit(
        net,
        X,
        y[:, None],
        "binary_cross_entropy",
        optimizer="adam",
        lr=0.02,
        batch_size=None,
        epochs=epochs,
        progress=False,
    )
    return lambda Z: net(Z)[:, 0] > 0.5


def _ntk_classifier(X, y, C_b: float = 1.0, ridge: float = 1e-3):
    K = analytic_ntk(X, depth=1, activation="relu", C_W=2.0, C_b=C_b)
    alpha_y = 2 * y - 1
    return lambda Z: (
        kernel_regression(
            analytic_ntk(Z, X, depth=1, activation="relu", C_W=2.0, C_b=C_b),
            K,
            alpha_y,
            ridge=ridge,
        )
        > 0
    )


def compare_learners(
    X, y, X_test, y_test, *, seed: int, width: int = 64, epochs: int = 1500
) -> dict[str, tuple[float, Callable]]:
    """{learner: (test accuracy, predict(Z) -> bool (m,))} for the three of :data:`LEARNERS`."""
    d = X.shape[1]
    preds = {
        "linear": _fit_classifier([d, 1], X, y, seed, epochs),
        "ntk": _ntk_classifier(X, y),
        "network": _fit_classifier([d, width, 1], X, y, seed, epochs),
    }
    return {k: (float(np.mean(p(X_test) == (y_test > 0.5))), p) for k, p in preds.items()}


def smooth_target(x) -> np.ndarray:
    """f(x) = sin(3x) + ½ cos(5x): smooth, several turns on [−1, 1]."""
    x = np.asarray(x, dtype=np.float64)
    return np.sin(3 * x) + 0.5 * np.cos(5 * x)


def width_error(
    widths: Sequence[int], seed: int, *, n_train: int = 100, epochs: int = 3000, lr: float = 0.02
) -> np.ndarray:
    """RMS error on 1000 points of [−1, 1] of trained 1-N-1 tanh networks, per width: (len,)."""
    X = np.linspace(-1, 1, n_train)[:, None]
    grid = np.linspace(-1, 1, 1000)[:, None]
    out = np.empty(len(widths))
    for j, N in enumerate(widths):
        net = ffnn.mlp([1, N, 1], "tanh", rng=seed + 7919 * j, dtype=np.float64)
        ffnn.fit(
            net,
            X,
            smooth_target(X[:, 0]),
            "mse",
            optimizer="adam",
            lr=lr,
            batch_size=None,
            epochs=epochs,
            progress=False,
            schedule="cosine",
        )
        out[j] = np.sqrt(np.mean((net(grid)[:, 0] - smooth_target(grid[:, 0])) ** 2))
    return out
