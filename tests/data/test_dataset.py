import numpy as np
import pytest

from ffnn.data import Dataset, infer_task, train_test_split, validate_X
from ffnn.errors import FFNNError


def test_nan_is_reported_with_column_and_rows():
    X = np.ones((6, 3))
    X[[1, 4], 2] = np.nan
    with pytest.raises(FFNNError, match=r"column 'c'.*2 rows.*rows 1, 4"):
        validate_X(X, ["a", "b", "c"])


def test_inf_and_empty_data_rejected():
    X = np.zeros((3, 2))
    X[0, 0] = np.inf
    with pytest.raises(FFNNError, match="NaN/inf"):
        validate_X(X)
    with pytest.raises(FFNNError, match="no examples"):
        validate_X(np.zeros((0, 3)))


def test_one_class_rejected():
    with pytest.raises(FFNNError, match="only one class"):
        Dataset(np.zeros((4, 2)), np.array(["a"] * 4), "classification")


def test_string_labels_encoded_sorted():
    ds = Dataset(np.zeros((4, 1)), np.array(["b", "a", "b", "c"]), "classification")
    assert ds.classes == ["a", "b", "c"]
    assert ds.y.tolist() == [1, 0, 1, 2]
    assert ds.n_outputs == 3


def test_mismatched_lengths_rejected():
    with pytest.raises(FFNNError, match="4 examples but 3 targets"):
        Dataset(np.zeros((4, 1)), np.zeros(3), "regression")


def test_infer_task():
    assert infer_task(np.array([0, 1, 1, 0, 2, 2])) == "classification"
    assert infer_task(np.array(["x", "y"])) == "classification"
    assert infer_task(np.linspace(0, 1, 20)) == "regression"
    assert infer_task(np.arange(400) % 300) == "regression"  # many distinct integers
    assert infer_task(np.array([1.0, 2.0, 1.0, 2.0])) == "classification"


def test_stratified_split_keeps_proportions_and_is_seeded():
    y = np.repeat([0, 1, 2], [50, 30, 20])
    ds = Dataset(np.arange(100.0)[:, None], y, "classification", classes=[0, 1, 2])
    tr, te = train_test_split(ds, 0.2, rng=3)
    assert np.bincount(te.y).tolist() == [10, 6, 4]
    assert tr.n + te.n == 100
    assert not set(tr.X[:, 0]) & set(te.X[:, 0])
    tr2, te2 = train_test_split(ds, 0.2, rng=3)
    assert np.array_equal(te.X, te2.X)
    _, te3 = train_test_split(ds, 0.2, rng=4)
    assert not np.array_equal(te.X, te3.X)


def test_split_bad_fraction():
    ds = Dataset(np.zeros((10, 1)), np.arange(10.0), "regression")
    with pytest.raises(FFNNError, match="between 0 and 1"):
        train_test_split(ds, 1.5)
    tr, te = train_test_split(ds, 0.3)
    assert (tr.n, te.n) == (7, 3)
