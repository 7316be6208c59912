"""A train cell's run on the public API (as ``ffnn train`` does it, without its files/printing).

    train_run(ds, params, seed) -> (net, history, metrics, meta)

metrics is flat: ``{split}_{name}`` for the splits train / val / test and the names loss and
accuracy (classification) or r2 and rmse (regression), plus epochs_run, stop_reason, n_params.
"""

from __future__ import annotations

import warnings

import numpy as np

from ffnn.errors import FFNNError

__all__ = ["train_run", "split_metrics"]

_CE = ("cross_entropy", "ce")
_BCE = ("binary_cross_entropy", "bce")


def split_metrics(net, loss, pre, X: np.ndarray, y_enc: np.ndarray) -> dict:
    """Loss and accuracy (classification) or R² and RMSE in the data's units (regression)."""
    z = net.forward(X)[0]
    out = {"loss": float(loss.value(z, y_enc, net.output))}
    f = net.output.apply(z)
    if pre.task == "classification":
        truth = y_enc if y_enc.ndim == 1 else y_enc.argmax(axis=1)
        out["accuracy"] = float(np.mean(np.argmax(f, axis=1) == truth))
    else:
        yt = pre.decode(y_enc.reshape(len(X), -1)).reshape(len(X), -1)
        yp = pre.decode(f).reshape(len(X), -1)
        ss_tot = np.sum((yt - yt.mean(axis=0)) ** 2, axis=0)
        r2 = 1 - np.sum((yt - yp) ** 2, axis=0) / np.where(ss_tot > 0, ss_tot, np.nan)
        out["r2"] = float(np.nanmean(r2)) if np.isfinite(r2).any() else float("nan")
        out["rmse"] = float(np.sqrt(np.mean((yt - yp) ** 2)))
    return out


def _targets(loss_name: str, pre, y_enc: np.ndarray) -> np.ndarray:
    if pre.task == "classification" and loss_name not in _CE:
        return pre.one_hot(y_enc)
    return y_enc


def _splits(ds, p: dict, seed: int, loss_name: str):
    from ffnn.data import Preprocessor, train_test_split

    train, test = train_test_split(ds, p["test_size"], rng=seed)
    parts = {"train": train}
    if p["validation"] > 0:
        parts["train"], parts["val"] = train_test_split(train, p["validation"], rng=seed + 1)
    parts["test"] = test
    pre = Preprocessor(standardize=p["standardize"]).fit(parts["train"])
    arrays = {
        k: (pre.transform_X(d.X), _targets(loss_name, pre, pre.encode_dataset(d)))
        for k, d in parts.items()
    }
    return pre, arrays


def _network(ds, pre, p: dict, seed: int, loss, loss_name: str):
    from ffnn import mlp

    output = p["output"] or ("softmax" if loss_name in _CE else None)
    output = output or ("sigmoid" if loss_name in _BCE else "identity")
    if ds.task == "regression" and loss_name in (*_CE, *_BCE):
        raise FFNNError(
            f"loss {loss_name!r} is for classification; {ds.name!r} is a regression set"
        )
    acts = [a.strip() for a in p["activation"].split(",")]
    if len(acts) not in (1, len(p["hidden"])) and p["hidden"]:
        raise FFNNError(f"{len(acts)} activations for {len(p['hidden'])} hidden layers")
    net = mlp(
        [ds.n_features, *p["hidden"], pre.n_outputs],
        acts[0] if len(acts) == 1 else acts,
        output=output,
        rng=seed,
        dtype=np.dtype(p["dtype"]),
    )
    loss.check_output(net.output)
    return net, output


def _optimizer_options(p: dict) -> dict:
    opt = {}
    if p["weight_decay"]:
        opt["weight_decay"] = p["weight_decay"]
    if p["momentum"] is not None:
        if p["optimizer"] not in ("momentum", "nesterov", "rmsprop"):
            raise FFNNError(
                f"momentum applies to momentum, nesterov, rmsprop, not {p['optimizer']}"
            )
        opt["momentum"] = p["momentum"]
    if p["clip_norm"] is not None:
        opt["clip_norm"] = p["clip_norm"]
    return opt


def train_run(ds, p: dict, seed: int):
    """Fit a network on ``ds`` with the resolved options ``p``; everything seeded by ``seed``."""
    from ffnn import get_loss
    from ffnn.train import fit

    loss_name = p["loss"] or ("cross_entropy" if ds.task == "classification" else "mse")
    loss = get_loss(loss_name)
    pre, arrays = _splits(ds, p, seed, loss_name)
    net, output = _network(ds, pre, p, seed, loss, loss_name)
    val = arrays.get("val")
    patience = p["patience"] if (val is not None and p["patience"] > 0) else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a divergence is in stop_reason
        hist = fit(
            net, *arrays["train"], loss,
            optimizer=p["optimizer"], lr=p["lr"], schedule=p["schedule"],
            batch_size=p["batch_size"], epochs=p["epochs"], validation=val,
            early_stopping=patience, rng=seed, progress=False, **_optimizer_options(p),
        )  # fmt: skip
    metrics = {}
    for split, (X, y) in arrays.items():
        for name, v in split_metrics(net, loss, pre, X, y).items():
            metrics[f"{split}_{name}"] = v
    metrics.update(epochs_run=len(hist), stop_reason=hist.stop_reason, n_params=net.n_params)
    meta = {"preprocessor": pre.to_dict(), "training": {**p, "seed": seed, "output": output}}
    meta["metrics"] = metrics
    return net, hist, metrics, meta
