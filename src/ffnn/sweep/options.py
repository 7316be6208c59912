"""What a cell may set: the options of ``ffnn train`` (names as in ``ffnn.runs.RunConfig``) or a
lab experiment's parameters, each with its check (the defaults are ``ffnn.runs.RunConfig``'s); and
the [random] distributions."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ffnn.errors import FFNNError

__all__ = ["TRAIN_OPTIONS", "DISTRIBUTIONS", "train_checker", "lab_checker", "train_defaults"]


def _int(lo: int | None = None) -> Callable:
    def check(v):
        if not isinstance(v, int) or isinstance(v, bool):
            raise FFNNError(f"must be an integer, got {v!r}")
        if lo is not None and v < lo:
            raise FFNNError(f"must be >= {lo}, got {v}")
        return int(v)

    return check


def _float(lo: float | None = None, hi: float | None = None, open_lo: bool = False) -> Callable:
    def check(v):
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not np.isfinite(v):
            raise FFNNError(f"must be a number, got {v!r}")
        v = float(v)
        if lo is not None and (v < lo or (open_lo and v == lo)):
            raise FFNNError(f"must be {'>' if open_lo else '>='} {lo:g}, got {v:g}")
        if hi is not None and v >= hi:
            raise FFNNError(f"must be < {hi:g}, got {v:g}")
        return v

    return check


def _str(choices: Iterable[str] | None = None) -> Callable:
    choices = tuple(choices) if choices else None

    def check(v):
        if not isinstance(v, str):
            raise FFNNError(f"must be a string, got {v!r}")
        if choices and v not in choices:
            raise FFNNError(f"must be one of {', '.join(choices)}; got {v!r}")
        return v

    return check


def _bool(v):
    if not isinstance(v, bool):
        raise FFNNError(f"must be true or false, got {v!r}")
    return v


def _widths(v):
    if not isinstance(v, list) or not all(
        isinstance(w, int) and not isinstance(w, bool) for w in v
    ):
        raise FFNNError(f"must be a list of widths, e.g. [64, 32] ([] for none), got {v!r}")
    if any(w < 1 for w in v):
        raise FFNNError(f"widths are >= 1, got {v}")
    return list(v)


def _batch(v):
    if v == "full" or v is None:  # None: already resolved
        return None
    return _int(1)(v)


def _named(kind: str) -> Callable:
    """A name the library knows: checked by the library's own lookup."""

    def check(v):
        _str()(v)
        from ffnn import get_activation, get_loss
        from ffnn.train.optimizers import OPTIMIZERS

        if kind == "activation":
            for a in v.split(","):
                get_activation(a.strip())
        elif kind == "loss":
            get_loss(v)
        elif v not in OPTIMIZERS:
            raise FFNNError(f"unknown optimizer {v!r}; choose one of {', '.join(OPTIMIZERS)}")
        return v

    return check


@dataclass(frozen=True)
class Option:
    check: Callable[[Any], Any]
    help: str


TRAIN_OPTIONS: dict[str, Option] = {
    "data": Option(_str(), "built-in data set name or file path"),
    "target": Option(_str(), "target column / key of a file"),
    "task": Option(_str(("classification", "regression")), "override the task"),
    "test_size": Option(_float(0.0, 1.0, open_lo=True), "fraction held out for testing"),
    "validation": Option(_float(0.0, 1.0), "fraction of the rest for early stopping"),
    "n": Option(_int(1), "number of examples (synthetic sets)"),
    "noise": Option(_float(0.0), "noise level (synthetic sets)"),
    "standardize": Option(_bool, "standardize the inputs"),
    "hidden": Option(_widths, "hidden widths n_1..n_L"),
    "width": Option(_int(1), "every hidden width (with depth: hidden = [width] * depth)"),
    "depth": Option(_int(0), "number of hidden layers L (with width)"),
    "activation": Option(_named("activation"), "σ, one name or one per layer"),
    "output": Option(_str(("identity", "sigmoid", "softmax")), "output activation"),
    "loss": Option(_named("loss"), "loss (default from the task)"),
    "dtype": Option(_str(("float32", "float64")), "float32 or float64"),
    "optimizer": Option(_named("optimizer"), "gd/sgd, momentum, nesterov, adam, …"),
    "lr": Option(_float(0.0, open_lo=True), "learning rate η"),
    "schedule": Option(_str(), "learning-rate schedule"),
    "batch_size": Option(_batch, 'examples per step; "full" for full batch'),
    "epochs": Option(_int(1), "most epochs"),
    "patience": Option(_int(0), "early stopping patience; 0: off"),
    "weight_decay": Option(_float(0.0), "L2 coefficient λ"),
    "momentum": Option(_float(0.0, 1.0), "momentum μ"),
    "clip_norm": Option(_float(0.0, open_lo=True), "clip the gradient norm"),
    "monitor": Option(_str(("auto", "val_loss", "val_accuracy")), "what early stopping watches"),
}
_SHAPE = ("width", "depth")  # resolved into hidden, kept in the table as swept


def train_defaults() -> dict:
    """``ffnn train``'s defaults: those of :class:`ffnn.runs.RunConfig`, for every option."""
    from dataclasses import MISSING, fields

    from ffnn.runs import RunConfig

    out = {}
    for f in fields(RunConfig):
        if f.name in TRAIN_OPTIONS:
            out[f.name] = f.default_factory() if f.default is MISSING else f.default
    return out


class train_checker:
    """Checks `ffnn train` options one by one, and resolves a cell's full set of them."""

    def __call__(self, key: str, value):
        if key == "seed":
            raise FFNNError("the seeds are [sweep] seeds = N or [..], not an option")
        if key not in TRAIN_OPTIONS:
            raise FFNNError(f"unknown option; train cells take {', '.join(TRAIN_OPTIONS)}")
        return TRAIN_OPTIONS[key].check(value)

    def whole(self, keys: Iterable[str], where) -> None:
        keys = set(keys)
        if "hidden" in keys and keys & set(_SHAPE):
            k = sorted(keys & set(_SHAPE))[0]
            raise FFNNError(f"{where('grid', k)}: give hidden or width/depth, not both")

    def resolve(self, given: Mapping) -> dict:
        params = train_defaults()
        params.update({k: v for k, v in given.items() if k not in _SHAPE})
        if any(k in given for k in _SHAPE):
            default = train_defaults()["hidden"] or [256]
            width, depth = given.get("width", default[0]), given.get("depth", len(default))
            params["hidden"] = [width] * depth
        params["hidden"] = list(params["hidden"])
        return params


class lab_checker:
    """Checks a lab experiment's parameters with the experiment's own declarations."""

    def __init__(self, name: str, quick: bool):
        from ffnn.lab import get_experiment

        self.exp = get_experiment(name)
        self.quick = quick
        self.specs = {p.name: p for p in getattr(self.exp, "params", ())}

    def __call__(self, key: str, value):
        if key == "seed":
            raise FFNNError("the seeds are [sweep] seeds = N or [..], not a parameter")
        if key not in self.specs:
            names = ", ".join(self.specs) or "none on this version"
            raise FFNNError(f"{self.exp.name} has no parameter {key!r}; its parameters: {names}")
        value = self.specs[key].check(value)
        return list(value) if isinstance(value, tuple) else value

    def whole(self, keys: Iterable[str], where) -> None:
        return None

    def resolve(self, given: Mapping) -> dict:
        if not self.specs:
            return {}
        values = self.exp.resolve(dict(given), quick=self.quick)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dict(values).items()}


@dataclass(frozen=True)
class Distribution:
    check: Callable[[Any], None]
    draw: Callable[[np.random.Generator, list], Any]


def _pair(positive: bool = False, ints: bool = False) -> Callable:
    def check(args):
        ok = isinstance(args, list) and len(args) == 2
        ok = ok and all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in args)
        if not ok or args[0] >= args[1]:
            raise FFNNError(f"takes [low, high] with low < high, got {args!r}")
        if positive and args[0] <= 0:
            raise FFNNError(f"log_uniform takes 0 < low < high, got {args!r}")
        if ints and not all(isinstance(a, int) for a in args):
            raise FFNNError(f"int_uniform takes two integers, got {args!r}")

    return check


def _choices(args):
    if not isinstance(args, list) or not args:
        raise FFNNError(f"choice takes a non-empty list of values, got {args!r}")


def _round(v: float) -> float:
    return float(f"{v:.6g}")  # readable values, stable keys


DISTRIBUTIONS: dict[str, Distribution] = {
    "uniform": Distribution(_pair(), lambda rng, a: _round(rng.uniform(a[0], a[1]))),
    "log_uniform": Distribution(
        _pair(positive=True),
        lambda rng, a: _round(float(np.exp(rng.uniform(np.log(a[0]), np.log(a[1]))))),
    ),
    "int_uniform": Distribution(
        _pair(ints=True), lambda rng, a: int(rng.integers(a[0], a[1], endpoint=True))
    ),
    "choice": Distribution(_choices, lambda rng, a: a[int(rng.integers(len(a)))]),
}
