"""Measurements a diagnosis shares between its sections: cost, curvature, signal scales.

Everything here is a client of the library's own tools: the multiply-add count of the notes
(forward z^(l) = W^(l) x^(l-1) + b^(l): n_l·n_{l-1} per example; backward δ^(l) x^(l-1)ᵀ plus the
message W^(l)ᵀ δ^(l)), Hessian-vector products by the R-operator with Lanczos for λ_max and λ_min
(never a dense Hessian), and saturation from σ'(z) on the data.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ffnn.core.cost import cost
from ffnn.core.graph import Network
from ffnn.core.layers import Dense
from ffnn.core.losses import Loss

__all__ = ["cost", "Curvatures", "curvatures", "step_seconds", "signal_scales"]


def _matmuls(net: Network, batch: int, rng) -> list:
    dt = net.dtype
    mats = []
    for layer in cost(net)["layers"]:
        W = rng.standard_normal((layer["n_out"], layer["n_in"])).astype(dt)
        x = rng.standard_normal((batch, layer["n_in"])).astype(dt)
        g = rng.standard_normal((batch, layer["n_out"])).astype(dt)
        mats.append((W, x, g, layer["backward"] > layer["forward"]))
    return mats


def _matmul_step(mats) -> None:
    for W, x, g, message in mats:
        x @ W.T  # forward z = x Wᵀ
        g.T @ x  # weight gradient δᵀ x
        if message:
            g @ W  # message δ W to the layer below


def step_seconds(net: Network, X, y, loss: Loss, batch: int, repeats: int = 25) -> tuple:
    """(seconds of one forward + backward step, seconds of its matrix products alone).

    Both are timed now, in interleaved rounds at the batch size of training and the network's
    dtype; each is the median over ``repeats`` rounds, and the two come from the same rounds, so
    other load on the machine hits both alike; both run on one BLAS thread (a busy machine makes
    a second thread spin and swamps both). The step is the core pass of training (forward, loss and
    δ, backward into a reused gradient buffer); the optimizer's O(p) update is left out.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        return _time_rounds(net, X, y, loss, batch, repeats)


def _time_rounds(net: Network, X, y, loss: Loss, batch: int, repeats: int) -> tuple:
    batch = max(1, min(batch, len(X), 8192))  # a full batch is timed on at most 8192 rows
    Xb, yb = X[:batch], y[:batch]
    ws, gbuf = net.workspace(batch), np.empty(net.n_params, dtype=net.dtype)
    mats = _matmuls(net, batch, np.random.default_rng(0))
    steps, mms = [], []
    for _ in range(repeats + 1):  # the first round warms caches and the BLAS thread pool
        t0 = time.perf_counter()
        z, trace = net.forward(Xb, workspace=ws)
        _, delta = loss.value_and_delta(z, yb, net.output)
        net.backward(trace, delta, out=gbuf, workspace=ws)
        t1 = time.perf_counter()
        _matmul_step(mats)
        steps.append(t1 - t0)
        mms.append(time.perf_counter() - t1)
    return float(np.median(steps[1:])), float(np.median(mms[1:]))


@dataclass
class Curvatures:
    """At the current θ on the data: L, ‖∇L‖ (full batch), λ_max and λ_min of the Hessian."""

    loss: float
    grad_norm: float
    lambda_max: float
    lambda_min: float
    top: list[float]
    n_examples: int
    seconds: float


def curvatures(net: Network, X, y, loss: Loss, *, steps: int = 40, max_examples: int = 2000,
               rng=0) -> Curvatures:  # fmt: skip
    """λ_max (top 3) and λ_min of the loss Hessian from one Krylov space of exact HVPs.

    ``steps`` Lanczos steps (one Hessian-vector product each, by the R-operator) from a seeded
    random start; the extreme Ritz values converge first, so λ_max and λ_min come from the same
    few dozen products (a Ritz value never lies outside [λ_min, λ_max]: the λ_min found is an upper
    bound, exact in the limit). X, y: at most ``max_examples`` seeded rows; float64 products.
    """
    from scipy.linalg import eigh_tridiagonal

    from ffnn.lab.hessian import Curvature
    from ffnn.lab.spectrum import lanczos

    t0 = time.perf_counter()
    X, y = _subsample(X, y, max_examples, rng)
    curv = Curvature(net.astype(np.float64), X, y, loss)
    v0 = np.random.default_rng(rng).standard_normal(net.n_params)
    alpha, beta = lanczos(curv, v0, min(steps, net.n_params))
    ritz = eigh_tridiagonal(alpha, beta, eigvals_only=True)
    return Curvatures(
        loss=float(curv.value),
        grad_norm=float(np.linalg.norm(curv.gradient)),
        lambda_max=float(ritz[-1]),
        lambda_min=float(ritz[0]),
        top=[float(v) for v in ritz[::-1][:3]],
        n_examples=len(X),
        seconds=time.perf_counter() - t0,
    )


def _subsample(X, y, m: int, rng):
    X, y = np.asarray(X), np.asarray(y)
    if len(X) <= m:
        return X, y
    idx = np.sort(np.random.default_rng(rng).choice(len(X), m, replace=False))
    return X[idx], y[idx]


def signal_scales(net: Network, X, *, max_examples: int = 2000) -> list[dict]:
    """Per Dense node, the RMS of z on the data now and at a fresh initialization.

    The fresh network has the same architecture and initialization rule (``Network.from_config``),
    so the ratio says how far training (or a hand-set scale) moved the signal from what the
    initialization promised (He/Glorot/LeCun keep it of order one through the layers).
    """
    X, _ = _subsample(X, np.zeros(len(X)), max_examples, 0)
    fresh = Network.from_config(net.config(), rng=0)
    now, then = net.forward(X)[1], fresh.forward(X)[1]
    rows = []
    for node, z, z0 in zip(
        [n for n in net.nodes if isinstance(n.layer, Dense)], now.z, then.z, strict=True
    ):
        rms, rms0 = (
            float(np.sqrt(np.mean(z.astype(float) ** 2))),
            float(np.sqrt(np.mean(z0.astype(float) ** 2))),
        )
        rows.append({"node": node.name, "rms": rms, "rms_init": rms0, "ratio": rms / rms0})
    return rows
