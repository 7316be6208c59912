"""The set-up's checks: defaults, ranges, names, and the pairs that must agree."""

import pytest

from ffnn.errors import FFNNError
from ffnn.playground.settings import DEFAULTS, check_settings


def test_defaults_pass_and_missing_fields_take_them():
    assert check_settings({}) == DEFAULTS
    assert check_settings({"lr": 0.1})["lr"] == 0.1


@pytest.mark.parametrize(
    "patch, says",
    [
        ({"n": 10}, "'n' = 10 is out of range: it must lie in [20, 2000]"),
        ({"noise": -1}, "'noise' = -1 is out of range"),
        ({"lr": float("inf")}, "'lr' = inf is out of range"),
        ({"batch": 2.5}, "'batch' must be a whole number"),
        ({"seed": True}, "'seed' must be a number"),
        ({"ratio": "50"}, "'ratio' must be a number"),
        ({"data": "mnist"}, "'data' = 'mnist' is not one of"),
        ({"optimizer": "rmsprop"}, "not one of sgd, momentum, adam"),
        ({"hidden": [8] * 7, "activations": ["tanh"] * 7}, "at most 6 hidden widths"),
        ({"hidden": [0]}, "width 0 is out of range"),
        ({"hidden": [4], "activations": ["tanh", "tanh"]}, "one name per hidden layer"),
        ({"activations": ["tanh", "swish"]}, "unknown ['swish']"),
        ({"features": []}, "at least one input feature"),
        ({"features": ["x3"]}, "unknown ['x3']"),
        ({"loss": "cross_entropy", "output": "identity"}, "needs output activation 'softmax'"),
        ({"draw": ["a", "b", "c"]}, "at most 2 names"),
        ({"secret": 1}, "unknown settings ['secret']"),
    ],
)
def test_out_of_range_or_unknown_settings_are_refused_with_the_reason(patch, says):
    with pytest.raises(FFNNError) as e:
        check_settings(patch)
    assert says in str(e.value)


def test_settings_must_be_an_object():
    with pytest.raises(FFNNError, match="JSON object"):
        check_settings([1, 2])


def test_no_hidden_layer_is_a_linear_model():
    assert check_settings({"hidden": [], "activations": []})["hidden"] == []
