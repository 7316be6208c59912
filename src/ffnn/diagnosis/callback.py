"""The diagnosis's measurements as a training callback, so a run can be watched as it learns."""

from __future__ import annotations

import numpy as np

from ffnn.core.graph import Network
from ffnn.core.losses import Loss, get_loss
from ffnn.errors import FFNNError

__all__ = ["DiagnoseCallback"]


class DiagnoseCallback:
    """``cb(net, epoch, logs)`` for :func:`ffnn.fit`: cheap measurements every epoch, the
    Hessian's top eigenvalue every ``hessian_every`` epochs.

    Adds to the epoch's logs (so they land in the History): ``saturated_<l>`` and ``dead_<l>`` per
    hidden layer on the probe batch X (at most ``max_examples`` rows), ``full_grad_norm`` (‖∇L‖ of
    the full probe batch), and, on Hessian epochs, ``lambda_max`` and ``lr_lambda_max`` (η·λ_max,
    with η given as ``lr``; GD needs it below 2). Never stops training. ``records`` keeps the same
    values per epoch.
    """

    def __init__(
        self,
        X,
        y,
        loss: str | Loss,
        *,
        lr: float | None = None,
        hessian_every: int = 10,
        max_examples: int = 512,
        rng: int = 0,
    ):
        if hessian_every < 0:
            raise FFNNError(f"hessian_every must be >= 0 (0: never), got {hessian_every}")
        idx = np.random.default_rng(rng).permutation(len(X))[:max_examples]
        self.X, self.y = np.asarray(X)[idx], np.asarray(y)[idx]
        self.loss = get_loss(loss)
        self.lr = lr
        self.hessian_every = hessian_every
        self.records: list[dict] = []

    def __call__(self, net: Network, epoch: int, logs: dict) -> None:
        from ffnn.lab.saturation import saturation

        rec: dict = {}
        for l, s in enumerate(saturation(net, self.X), start=1):
            rec[f"saturated_{l}"], rec[f"dead_{l}"] = s.fraction, s.dead
        _, g = net.loss_and_grad(self.X, self.y, self.loss)
        rec["full_grad_norm"] = float(np.linalg.norm(g))
        if self.hessian_every and epoch % self.hessian_every == 0:
            from ffnn.lab.hessian import Curvature
            from ffnn.lab.spectrum import top_eigenvalues

            lam = float(top_eigenvalues(Curvature(net, self.X, self.y, self.loss), tol=1e-3)[0])
            rec["lambda_max"] = lam
            if self.lr is not None:
                rec["lr_lambda_max"] = self.lr * lam
        logs.update(rec)
        self.records.append({"epoch": epoch, **rec})
