import json

import numpy as np
import pytest

from ffnn.data import Dataset, Preprocessor, load_dataset
from ffnn.errors import FFNNError


def test_standardizes_with_training_statistics():
    ds = load_dataset("wine")
    pre = Preprocessor().fit(ds)
    Z = pre.transform_X(ds.X)
    assert np.allclose(Z.mean(0), 0, atol=1e-10) and np.allclose(Z.std(0), 1)


def test_constant_column_gets_unit_scale():
    ds = Dataset(np.column_stack([np.ones(5), np.arange(5.0)]), np.arange(5.0), "regression")
    Z = Preprocessor().fit(ds).transform_X(ds.X)
    assert np.all(Z[:, 0] == 0) and np.isfinite(Z).all()


def test_round_trip_through_json_classification():
    ds = Dataset(
        np.random.default_rng(0).normal(size=(8, 2)),
        np.array(list("abcabcab")),
        "classification",
        feature_names=["u", "v"],
    )
    pre = Preprocessor().fit(ds)
    back = Preprocessor.from_dict(json.loads(json.dumps(pre.to_dict())))
    assert back.classes == ["a", "b", "c"] and back.feature_names == ["u", "v"]
    assert np.array_equal(back.transform_X(ds.X), pre.transform_X(ds.X))
    assert back.encode_y(np.array(["c", "a"])).tolist() == [2, 0]
    assert back.decode(np.array([[0.1, 0.7, 0.2]])).tolist() == ["b"]
    assert back.one_hot([2, 0]).tolist() == [[0, 0, 1], [1, 0, 0]]
    with pytest.raises(FFNNError, match=r"labels \['d'\] are not among"):
        back.encode_y(np.array(["a", "d"]))


def test_round_trip_regression_targets():
    ds = load_dataset("diabetes")
    pre = Preprocessor().fit(ds)
    back = Preprocessor.from_dict(json.loads(json.dumps(pre.to_dict())))
    t = back.encode_y(ds.y)
    assert abs(t.mean()) < 1e-10 and np.isclose(t.std(), 1)
    assert np.allclose(back.decode(t[:, None]), ds.y)


def test_numeric_labels_match_across_types():
    ds = load_dataset("iris")
    pre = Preprocessor().fit(load_dataset("digits"))
    assert pre.encode_y(np.array([3.0, 7.0])).tolist() == [3, 7]
    assert pre.encode_y(np.array(["3", "7"])).tolist() == [3, 7]
    with pytest.raises(FFNNError, match="64 inputs"):
        pre.transform_X(ds.X)


def test_unfitted():
    with pytest.raises(FFNNError, match="not fitted"):
        Preprocessor().transform_X(np.zeros((2, 2)))


def test_stored_preprocessor_fields_are_checked_as_data():
    from ffnn.data import Preprocessor

    good = {"task": "classification", "mean": [0.0], "std": [1.0], "classes": ["a", "b"]}
    assert Preprocessor.from_dict(good).classes == ["a", "b"]
    for bad, message in [
        ([1], "a list, not an object"),
        ({**good, "classes": 5}, "classes must be a list of two or more"),
        ({**good, "task": "magic"}, "task is 'magic'"),
        ({**good, "std": [1.0, 2.0]}, "'std' must be a list of 1 finite numbers"),
        ({**good, "mean": ["x"]}, "'mean' must be a list"),
    ]:
        with pytest.raises(FFNNError, match=message):
            Preprocessor.from_dict(bad)


def test_huge_finite_values_standardize_without_warnings_and_nan_targets_are_refused():
    import warnings

    from ffnn.data import Dataset, Preprocessor

    X = np.array([[1.7e308], [-1.7e308], [1.0], [2.0]])
    ds = Dataset(X, np.array([0.0, 1.0, 2.0, 3.5]), "regression")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pre = Preprocessor().fit(ds)
        Z = pre.transform_X(X)
    assert np.isfinite(Z).all() and abs(Z[:, 0].mean()) < 1e-12
    with pytest.raises(FFNNError, match="targets have NaN/inf/missing values in 1 rows"):
        pre.encode_y(np.array([0.5, np.nan]))
