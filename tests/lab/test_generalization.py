"""Min-norm readouts, the width curves and the validation rule of lab.generalization."""

import numpy as np
import pytest

import ffnn
from ffnn.errors import FFNNError
from ffnn.lab.generalization import (
    fit_readout_min_norm,
    mean_se,
    patience_stop,
    random_features_curve,
    teacher_data,
    trained_width_curve,
    training_curves,
)


def test_min_norm_readout_is_the_pseudo_inverse_solution():
    rng = np.random.default_rng(0)
    X, y, _ = teacher_data(10, 3, rng)
    net = ffnn.mlp([3, 30, 1], "relu", rng=1, dtype=np.float64)
    fit_readout_min_norm(net, X, y)
    _, trace = net.forward(X)
    Phi = np.c_[trace.x[-1], np.ones(10)]
    W, b = net.params[-1]
    np.testing.assert_allclose(np.r_[W[0], b], np.linalg.pinv(Phi) @ y, atol=1e-10)
    np.testing.assert_allclose(net(X)[:, 0], y, atol=1e-10)  # N + 1 > n: it interpolates


def test_random_features_peak_at_the_interpolation_threshold():
    rng = np.random.default_rng(0)
    X, y, _ = teacher_data(20, 3, rng)
    Xt, _, ft = teacher_data(300, 3, rng)
    widths = [3, 19, 400]
    curve = np.mean([random_features_curve(X, y, Xt, ft, widths, s) for s in range(4)], 0)
    train, test = curve[:, 0], curve[:, 1]
    assert train[0] > train[1] and train[2] < 1e-20  # train error falls to interpolation
    assert test[1] > 3 * test[0] and test[1] > 3 * test[2]  # the peak at N + 1 = n


def test_trained_width_curve_fits_with_enough_width():
    rng = np.random.default_rng(0)
    X, y, _ = teacher_data(12, 2, rng)
    Xt, _, ft = teacher_data(50, 2, rng)
    out = trained_width_curve(X, y, Xt, ft, [1, 64], 0, epochs=600, lr=0.02)
    assert out.shape == (2, 2) and out[1, 0] < 0.1 * out[0, 0]


def test_patience_rule_matches_fit_early_stopping():
    rng = np.random.default_rng(1)
    X, y, _ = teacher_data(15, 1, rng)
    Xv, yv, _ = teacher_data(15, 1, rng)
    Xt, _, ft = teacher_data(40, 1, rng)
    curves = training_curves(
        ffnn.mlp([1, 64, 1], "relu", rng=2, dtype=np.float64), X, y, Xv, yv, Xt, ft, epochs=300
    )
    assert {k: v.shape for k, v in curves.items()} == {k: (300,) for k in ("train", "val", "test")}
    stop, best = patience_stop(curves["val"], 20)
    net = ffnn.mlp([1, 64, 1], "relu", rng=2, dtype=np.float64)
    h = ffnn.fit(
        net,
        X,
        y,
        "mse",
        optimizer="adam",
        lr=0.01,
        batch_size=None,
        epochs=300,
        validation=(Xv, yv),
        early_stopping=20,
        progress=False,
        shuffle=False,
    )
    assert len(h["val_loss"]) == stop + 1 and h.best_epoch == best + 1
    np.testing.assert_allclose(h["val_loss"], curves["val"][: stop + 1])


def test_patience_stop_and_mean_se_edges():
    assert patience_stop([3, 2, 1, 1, 1], 2) == (4, 2)
    assert patience_stop([3, 2, 1], 5) == (2, 2)
    with pytest.raises(FFNNError, match="patience"):
        patience_stop([1.0], 0)
    m, se = mean_se([[1.0, 2.0], [3.0, 2.0]])
    np.testing.assert_allclose(m, [2, 2]) and np.testing.assert_allclose(se, [1, 0])
    with pytest.raises(FFNNError, match="two samples"):
        mean_se([[1.0]])
