"""One playground problem: the data split, the feature map, the preprocessing and the network.

Built the same way by the live session and by the exported snippet, so that the snippet's
``ffnn.fit`` reproduces the run: raw set -> ``train_test_split`` -> feature map φ ->
``Preprocessor`` (μ, s of the training set) -> ``ffnn.mlp`` seeded with the set-up's seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import ffnn
from ffnn.data import Dataset, Preprocessor, train_test_split
from ffnn.errors import FFNNError
from ffnn.playground.data import feature_map, make_set, parse_csv

__all__ = ["Problem", "build_problem"]


@dataclass
class Problem:
    """The arrays one run trains on. X, Xt: (n, n_0) preprocessed inputs; Y, Yt: targets as the
    loss takes them; D, Dt: (n, 2) the two drawn coordinates (raw); ``inputs``: the names of the
    n_0 network inputs; ``draw``: the names of the two drawn coordinates."""

    task: str
    classes: list | None
    inputs: list[str]
    draw: list[str]
    pre: Preprocessor
    train: Dataset
    test: Dataset
    X: np.ndarray
    Y: np.ndarray
    Xt: np.ndarray
    Yt: np.ndarray
    D: np.ndarray
    Dt: np.ndarray
    mean_raw: np.ndarray

    def to_inputs(self, D: np.ndarray) -> np.ndarray:
        """Network inputs for points D: (m, 2) of the drawn plane (other CSV features at their
        training mean): (m, n_0), preprocessed."""
        return self.pre.transform_X(self.raw_inputs(D))

    def raw_inputs(self, D: np.ndarray) -> np.ndarray:
        if self.draw == ["x1", "x2"] and self.train.name != "csv":
            return feature_map(D, self.inputs)
        R = np.tile(self.mean_raw, (D.shape[0], 1))
        for k, name in enumerate(self.draw):
            R[:, self.inputs.index(name)] = D[:, k]
        return R


def raw_dataset(s: dict, csv_bytes: bytes | None) -> Dataset:
    """The set-up's data before the split: a 2-D set, or the uploaded CSV."""
    if s["data"] != "csv":
        return make_set(s["data"], s["n"], s["noise"], s["seed"])
    if csv_bytes is None:
        raise FFNNError("no CSV uploaded yet: choose a file to upload first")
    return parse_csv(csv_bytes, target=s["csv_target"] or None, features=s["csv_features"] or None)


def _draw_names(s: dict, ds: Dataset) -> list[str]:
    if s["data"] != "csv":
        return ["x1", "x2"]
    if len(ds.feature_names) < 2:
        raise FFNNError("the playground draws two features: choose at least two feature columns")
    draw = s["draw"] or ds.feature_names[:2]
    if len(draw) != 2 or draw[0] == draw[1] or any(d not in ds.feature_names for d in draw):
        raise FFNNError(
            f"choose two different feature columns to draw among {', '.join(ds.feature_names)}"
        )
    return list(draw)


def _with_features(ds: Dataset, s: dict) -> Dataset:
    if s["data"] == "csv":
        return ds
    F = feature_map(ds.X, s["features"])
    return Dataset(F, ds.y, ds.task, ds.name, list(s["features"]), ds.classes, ds.target_name)


def build_problem(s: dict, csv_bytes: bytes | None = None) -> Problem:
    """Split, feature map and preprocessing for the checked set-up ``s``."""
    ds = raw_dataset(s, csv_bytes)
    if ds.task == "regression" and s["loss"] == "cross_entropy":
        raise FFNNError("cross-entropy is a classification loss; pick mse, huber or mae")
    if ds.task == "classification" and s["loss"] in ("huber", "mae"):
        raise FFNNError("for classification pick cross_entropy or mse")
    draw = _draw_names(s, ds)
    train, test = train_test_split(ds, 1 - s["ratio"] / 100, rng=s["seed"])
    ftrain, ftest = _with_features(train, s), _with_features(test, s)
    pre = Preprocessor().fit(ftrain)
    X, Xt = pre.transform_X(ftrain.X), pre.transform_X(ftest.X)
    Y, Yt = pre.encode_dataset(ftrain), pre.encode_dataset(ftest)
    if ds.task == "classification" and s["loss"] != "cross_entropy":
        Y, Yt = pre.one_hot(Y), pre.one_hot(Yt)
    idx = [ds.feature_names.index(d) for d in draw]
    return Problem(
        ds.task, ds.classes, list(ftrain.feature_names), draw, pre, ftrain, ftest,
        X, Y, Xt, Yt, train.X[:, idx], test.X[:, idx], ftrain.X.mean(axis=0),
    )  # fmt: skip


def build_network(s: dict, prob: Problem) -> ffnn.Network:
    """ffnn.mlp([n_0, *hidden, n_out]) with one activation per hidden layer, float64."""
    widths = [len(prob.inputs), *s["hidden"], prob.pre.n_outputs]
    return ffnn.mlp(widths, s["activations"], output=s["output"], rng=s["seed"], dtype=np.float64)
