"""Capacity and generalization: the U-curve, double descent, early stopping (notes 002, 003, 004).

A model of capacity N is fitted to n noisy training pairs (x_i, y_i = f(x_i) + ε_i) and judged on
the test error E (f̂(x) − f(x))² (the excess risk, so that the noise floor is zero).

* :func:`random_features_curve`: the random-features model f̂(x) = aᵀ relu(W x + b) + c with W, b
  drawn at init and only (a, c) fitted, by minimum-norm least squares (the pseudo-inverse:
  what GD from zero converges to). Below the interpolation threshold N + 1 = n the fit is the
  classical least-squares U-curve (bias falls, variance rises as N → n); at N + 1 ≈ n the
  design matrix is square and ill-conditioned and the test error peaks; past it the minimum-norm
  interpolant gets smoother as N grows and the test error descends again (double descent).
* :func:`trained_width_curve`: the same question for a one-hidden-layer network whose every
  weight is trained (``ffnn.fit``, full batch): the train error reaches ~0 once p ≳ n.
* :func:`training_curves` and :func:`patience_stop`: train, validation and test error along
  training of a wide network on few noisy points, and the epoch where the validation rule
  (stop after ``patience`` epochs without a new best validation loss, restore the best) stops.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

import ffnn
from ffnn.core.graph import Network
from ffnn.errors import FFNNError
from ffnn.lab._stats import mean_se  # noqa: F401  (part of this module's API)

__all__ = [
    "teacher_data",
    "mean_se",
    "fit_readout_min_norm",
    "random_features_curve",
    "trained_width_curve",
    "training_curves",
    "patience_stop",
]


def teacher_data(n: int, d: int, rng: np.random.Generator, *, noise: float = 0.5):
    """x ~ N(0, I_d), f(x) = tanh(1ᵀx/√d) + ½ sin(2 x_1), y = f + noise·N(0,1).

    Returns X: (n, d), y: (n,), f: (n,) (the noise-free target).
    """
    X = rng.standard_normal((n, d))
    f = np.tanh(X.sum(1) / np.sqrt(d)) + 0.5 * np.sin(2 * X[:, 0])
    return X, f + noise * rng.standard_normal(n), f


def fit_readout_min_norm(net: Network, X, y) -> Network:
    """Set the last layer (W^(L+1), b^(L+1)) of ``net`` to the min-norm least-squares solution.

    With Φ = [x^(L)(X), 1]: (n, N+1) the last hidden activations and a bias column, the readout is
    Φ⁺ y (``lstsq``: the least-squares solution of minimum Euclidean norm). y: (n,) or (n, k).
    """
    _, trace = net.forward(X)
    Phi = np.c_[trace.x[-1].astype(np.float64), np.ones(len(X))]
    Y = np.asarray(y, dtype=np.float64).reshape(len(X), -1)
    A = np.linalg.lstsq(Phi, Y, rcond=None)[0]  # (N+1, k)
    W, b = net.params[-1]
    W[...], b[...] = A[:-1].T, A[-1]
    return net


def _mse(net: Network, X, f) -> float:
    return float(np.mean((net(X)[:, 0].astype(np.float64) - f) ** 2))


def random_features_curve(X, y, X_test, f_test, widths: Sequence[int], seed: int) -> np.ndarray:
    """Train and test MSE and readout norm ‖a‖ of min-norm random ReLU features, per width N.

    The features are the hidden layer of ``ffnn.mlp([d, N, 1], "relu")`` at its He init (seed).
    Returns (len(widths), 3): columns train MSE (on y), test MSE (against f_test), ‖a‖.
    """
    out = np.empty((len(widths), 3))
    for j, N in enumerate(widths):
        net = ffnn.mlp([X.shape[1], N, 1], "relu", rng=seed + 7919 * j, dtype=np.float64)
        fit_readout_min_norm(net, X, y)
        out[j] = _mse(net, X, y), _mse(net, X_test, f_test), np.linalg.norm(net.params[-1][0])
    return out


def trained_width_curve(
    X, y, X_test, f_test, widths: Sequence[int], seed: int, *, epochs: int, lr: float = 0.01
) -> np.ndarray:
    """Train and test MSE of one-hidden-layer ReLU networks, every weight trained (Adam, cosine).

    Returns (len(widths), 2): train MSE (on y) and test MSE (against f_test) per width.
    """
    out = np.empty((len(widths), 2))
    for j, N in enumerate(widths):
        net = ffnn.mlp([X.shape[1], N, 1], "relu", rng=seed + 7919 * j, dtype=np.float64)
        ffnn.fit(
            net,
            X,
            y,
            "mse",
            optimizer="adam",
            lr=lr,
            schedule="cosine",
            batch_size=None,
            epochs=epochs,
            progress=False,
        )
        out[j] = _mse(net, X, y), _mse(net, X_test, f_test)
    return out


def training_curves(
    net: Network, X, y, X_val, y_val, X_test, f_test, *, epochs: int, lr: float = 0.01
) -> dict[str, np.ndarray]:
    """Train ``net`` to the end (Adam, full batch) recording train, validation and test MSE.

    Returns {"train", "val", "test"}: (epochs,) each, the losses after every epoch.
    """

    def record_test(net, epoch, logs):
        logs["test_loss"] = _mse(net, X_test, f_test)

    h = ffnn.fit(
        net,
        X,
        y,
        "mse",
        optimizer="adam",
        lr=lr,
        batch_size=None,
        epochs=epochs,
        validation=(X_val, y_val),
        callbacks=[record_test],
        progress=False,
        shuffle=False,
    )
    return {
        k: np.asarray(h[c], float)
        for k, c in (("train", "train_loss"), ("val", "val_loss"), ("test", "test_loss"))
    }


def patience_stop(val_loss, patience: int) -> tuple[int, int]:
    """Where the validation rule stops: (stop index, best index) into ``val_loss``.

    The rule of ``fit(..., early_stopping=patience)``: stop once ``patience`` epochs in a row
    bring no new best validation loss, and restore the best one. Indices count epochs from 0;
    a run that never stops has stop index len(val_loss) − 1.
    """
    if patience < 1:
        raise FFNNError(f"patience must be at least 1 epoch, got {patience}")
    v = np.asarray(val_loss, dtype=np.float64)
    best, since = 0, 0
    for t in range(1, v.size):
        if v[t] < v[best]:
            best, since = t, 0
        else:
            since += 1
            if since >= patience:
                return t, best
    return v.size - 1, best
