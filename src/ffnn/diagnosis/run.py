"""``ffnn.diagnose``: lecture 11's practical issues, measured on the user's own network and data."""

from __future__ import annotations

import time

import numpy as np

from ffnn.core.graph import Network
from ffnn.core.losses import Loss, get_loss
from ffnn.diagnosis import checks
from ffnn.diagnosis.measure import cost, curvatures, signal_scales, step_seconds
from ffnn.diagnosis.report import Diagnosis, Finding
from ffnn.errors import FFNNError

__all__ = ["diagnose", "training_settings"]


def training_settings(history) -> dict:
    """η, the optimizer's name, momentum and the batch size as recorded in a History's config."""
    cfg = getattr(history, "config", None) or {}
    opt = cfg.get("optimizer") or {}
    out = {"optimizer": opt.get("name"), "batch_size": cfg.get("batch_size")}
    for block in opt.get("blocks", []):
        if block.get("name") == "lr":
            out["lr"] = block.get("lr")
        if "momentum" in block:
            out["momentum"] = block["momentum"]
    return out


def _restored(history) -> bool | None:
    if history is None:
        return None
    return "restored the weights" in (history.message or "")


def _epoch_seconds(history) -> float | None:
    t = [r.get("time") for r in getattr(history, "records", [])]
    t = [v for v in t if v is not None]
    if len(t) < 2:
        return None
    return float(np.median(np.diff(t)))


def _given(**kw) -> dict:
    return {k: v for k, v in kw.items() if v is not None}


def _check_data(net: Network, X, y):
    if X is None:
        return None, None
    X = net._check_input(X)
    y = np.asarray(y)
    if len(y) != len(X):
        raise FFNNError(f"X has {len(X)} rows but y has {len(y)}; give one target per row")
    if len(X) == 0:
        raise FFNNError("diagnose needs at least one example (or X=None for a model-only report)")
    return X, y


def _saturation_finding(net: Network, X, max_examples: int, rng: int):
    if X is None:
        return Finding("S", "unknown", "no data: σ'(z) must be measured on examples")
    from ffnn.lab.saturation import saturation

    X = X[:max_examples]
    fresh = Network.from_config(net.config(), rng=rng)
    return checks.check_saturation(saturation(net, X), saturation(fresh, X), signal_scales(net, X))


def diagnose(
    net: Network,
    X,
    y,
    loss: str | Loss = "mse",
    history=None,
    *,
    lr: float | None = None,
    optimizer: str | None = None,
    momentum: float | None = None,
    batch_size: int | None = None,
    hessian: bool = True,
    max_examples: int = 2000,
    rng: int = 0,
) -> Diagnosis:
    """Check a network against the notes' practical issues I, T, S, L, O on data (X, y).

    Parameters
    ----------
    net : the trained :class:`~ffnn.core.graph.Network`.
    X, y : inputs (n, n_0) as the network sees them (preprocessed) and targets as the loss takes
        them (class indices for cross-entropy, (n, n_out) otherwise); usually the training set.
        X = None gives the report of what the model and history alone tell (S, L unknown).
    loss : the training loss (a name or a Loss).
    history : the :class:`~ffnn.train.History` of the run, or None. Without it, T and O say what
        they cannot measure; η, the optimizer and the batch size are read from it when not given.
    lr, optimizer, momentum, batch_size : the training settings, overriding the history's.
    hessian : measure λ_max, λ_min by Lanczos on Hessian-vector products (a few seconds at most;
        at most ``max_examples`` seeded rows of the data enter).

    Returns a :class:`~ffnn.diagnosis.report.Diagnosis`; ``print(d)`` shows it, ``d["T"]`` is one
    finding, ``d.to_json(path)`` writes it.

    >>> d = ffnn.diagnose(net, X, y, "cross_entropy", hist)
    >>> d["S"].verdict
    'fine'
    """
    if not isinstance(net, Network):
        raise FFNNError(f"diagnose needs an ffnn Network, got {type(net).__name__}")
    loss = get_loss(loss)
    loss.check_output(net.output)
    t0 = time.perf_counter()
    X, y = _check_data(net, X, y)
    s = {**training_settings(history), **_given(lr=lr, optimizer=optimizer, momentum=momentum,
                                                batch_size=batch_size)}  # fmt: skip
    n = (getattr(history, "config", None) or {}).get("n_train") or (0 if X is None else len(X))
    notes, curv = [], None
    if X is None:
        notes.append("no data: S (saturation) and L (the end point) need examples")
    elif hessian:
        curv = curvatures(net, X, y, loss, max_examples=max_examples, rng=rng)
    else:
        notes.append("Hessian skipped (hessian=False): T's stability test and L are not measured")
    if history is None:
        notes.append("no training history: the loss curve, its gradient norms and the "
                     "validation gap are not measured")  # fmt: skip
    batch = s.get("batch_size") or n
    step = None if X is None else step_seconds(net, X, y, loss, batch)
    findings = [
        checks.check_cost(cost(net), n, batch, step, _epoch_seconds(history)),
        checks.check_convergence(history, curv, s.get("lr"), s.get("optimizer"), s.get("momentum")),
        _saturation_finding(net, X, max_examples, rng),
        checks.check_minimum(curv, history),
        checks.check_overfit(history, net.n_params, n, _restored(history)),
    ]
    context = {
        "network": repr(net),
        "data": "none"
        if X is None
        else f"{len(X)} examples" + (f" ({curv.n_examples} for the Hessian)" if curv else ""),
        "loss": loss.name,
        "optimizer": f"{s.get('optimizer') or '?'}, lr {s.get('lr', '?')}, "
        f"batch {s.get('batch_size') or 'full'}",
        "lr": s.get("lr"),
        "top_eigenvalues": curv.top if curv else [],
        "notes": notes,
        "seconds": time.perf_counter() - t0,
    }
    return Diagnosis(findings, context)
