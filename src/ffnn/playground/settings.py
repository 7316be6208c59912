"""The playground's set-up: one JSON-able dict, checked field by field.

The page sends the whole set-up (it also lives in the page's URL); :func:`check_settings` returns
a clean copy or raises :class:`FFNNError` naming the field, the value and the allowed range.
The limits are for the screen, not for the library.
"""

from __future__ import annotations

import math

from ffnn.errors import FFNNError
from ffnn.playground.data import FEATURES, SETS
from ffnn.playground.optim import OPTIMIZERS

__all__ = ["DEFAULTS", "ACTIVATIONS", "LOSSES", "OUTPUTS", "VIEWS", "check_settings"]

ACTIVATIONS = ("tanh", "relu", "sigmoid", "leaky_relu", "elu", "softplus", "gelu", "identity")
LOSSES = ("cross_entropy", "mse", "huber", "mae")
OUTPUTS = ("softmax", "sigmoid", "identity")
VIEWS = ("delta", "saturation", "sharpness", "ntk")
MAX_LAYERS, MAX_WIDTH = 6, 12
MAX_COLUMNS_NAMES = 50

DEFAULTS: dict = {
    "data": "spirals",
    "n": 500,
    "noise": 0.1,
    "ratio": 50,
    "seed": 0,
    "features": ["x1", "x2"],
    "hidden": [8, 8],
    "activations": ["tanh", "tanh"],
    "loss": "cross_entropy",
    "output": "softmax",
    "optimizer": "adam",
    "lr": 0.03,
    "batch": 10,
    "l1": 0.0,
    "l2": 0.0,
    "speed": 1,
    "view": "delta",
    "csv_target": "",
    "csv_features": [],
    "draw": [],
}

# field -> (kind, low, high) for numbers, (kind, choices) for names
_NUMBERS = {
    "n": (int, 20, 2000),
    "noise": (float, 0.0, 1.0),
    "ratio": (int, 10, 90),
    "seed": (int, 0, 2**31 - 1),
    "lr": (float, 1e-5, 10.0),
    "batch": (int, 1, 5000),
    "l1": (float, 0.0, 1.0),
    "l2": (float, 0.0, 1.0),
    "speed": (int, 1, 50),
}
_CHOICES = {
    "data": (*SETS, "csv"),
    "loss": LOSSES,
    "output": OUTPUTS,
    "optimizer": OPTIMIZERS,
    "view": VIEWS,
}


def _number(key: str, v):
    kind, lo, hi = _NUMBERS[key]
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise FFNNError(f"setting {key!r} must be a number, got {v!r}")
    if kind is int and v != int(v):
        raise FFNNError(f"setting {key!r} must be a whole number, got {v!r}")
    if not math.isfinite(v) or not lo <= v <= hi:
        raise FFNNError(f"setting {key!r} = {v!r} is out of range: it must lie in [{lo}, {hi}]")
    return kind(v)


def _names(key: str, v, allowed=None, *, max_len: int = MAX_COLUMNS_NAMES) -> list[str]:
    if not isinstance(v, list) or len(v) > max_len or not all(isinstance(s, str) for s in v):
        raise FFNNError(f"setting {key!r} must be a list of at most {max_len} names, got {v!r}")
    if allowed is not None:
        bad = [s for s in v if s not in allowed]
        if bad:
            raise FFNNError(f"setting {key!r}: unknown {bad}; choose among {', '.join(allowed)}")
    return list(v)


def _network(out: dict) -> None:
    hidden = out["hidden"]
    if not isinstance(hidden, list) or len(hidden) > MAX_LAYERS:
        raise FFNNError(f"setting 'hidden' must list at most {MAX_LAYERS} hidden widths")
    for w in hidden:
        if isinstance(w, bool) or not isinstance(w, int) or not 1 <= w <= MAX_WIDTH:
            raise FFNNError(
                f"setting 'hidden': width {w!r} is out of range: each layer has 1 to "
                f"{MAX_WIDTH} neurons on this screen"
            )
    acts = _names("activations", out["activations"], ACTIVATIONS)
    if len(acts) != len(hidden):
        raise FFNNError(
            f"setting 'activations' needs one name per hidden layer: {len(hidden)} layers, "
            f"{len(acts)} names"
        )
    feats = _names("features", out["features"], list(FEATURES))
    if out["data"] != "csv" and not feats:
        raise FFNNError("setting 'features': choose at least one input feature")
    from ffnn import get_loss, get_output_activation

    get_loss(out["loss"]).check_output(get_output_activation(out["output"]))


def check_settings(raw) -> dict:
    """A clean copy of the set-up ``raw`` (missing fields take ``DEFAULTS``), or FFNNError."""
    if not isinstance(raw, dict):
        raise FFNNError(f"the settings must be a JSON object, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(DEFAULTS))
    if unknown:
        raise FFNNError(f"unknown settings {unknown}; the settings are {', '.join(DEFAULTS)}")
    out = {**DEFAULTS, **raw}
    for key in _NUMBERS:
        out[key] = _number(key, out[key])
    for key, choices in _CHOICES.items():
        if out[key] not in choices:
            raise FFNNError(f"setting {key!r} = {out[key]!r} is not one of {', '.join(choices)}")
    if not isinstance(out["csv_target"], str) or len(out["csv_target"]) > 200:
        raise FFNNError("setting 'csv_target' must be a column name")
    out["csv_features"] = _names("csv_features", out["csv_features"])
    out["draw"] = _names("draw", out["draw"], max_len=2)
    _network(out)
    return out
