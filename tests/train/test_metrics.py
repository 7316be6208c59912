"""Metrics: accuracy for labels, one-hot and sigmoid outputs; MSE; R²."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import r2_score

from ffnn.errors import FFNNError
from ffnn.train.metrics import accuracy, check_metric, get_metric, mse, r2


def test_accuracy_labels_onehot_and_sigmoid():
    f = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4], [0.5, 0.4, 0.1]])
    labels = np.array([0, 1, 1, 0])
    assert accuracy(labels, f) == 0.75
    assert accuracy(np.eye(3)[labels], f) == 0.75
    p = np.array([[0.9], [0.2], [0.6], [0.4]])
    assert accuracy(np.array([1, 0, 0, 0]), p) == 0.75
    assert accuracy(np.array([[1.0], [0.0], [1.0], [0.0]]), p) == 1.0


def test_mse_and_r2():
    rng = np.random.default_rng(0)
    y = rng.standard_normal((30, 2))
    f = y + 0.3 * rng.standard_normal((30, 2))
    assert mse(y, f) == pytest.approx(np.sum((y - f) ** 2) / 30)
    assert r2(y, f) == pytest.approx(r2_score(y, f))
    assert r2(y[:, 0], f[:, :1]) == pytest.approx(r2_score(y[:, 0], f[:, 0]))
    assert r2(y, y) == 1.0


def test_metric_errors():
    with pytest.raises(FFNNError, match="unknown metric"):
        get_metric("f1")
    with pytest.raises(FFNNError, match="classifier"):
        check_metric("accuracy", "identity")
    check_metric("accuracy", "softmax")
