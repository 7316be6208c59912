"""Sample weights in the loss: L_w = Σ w_i ℓ_i / Σ w_i, its δ, the fit loop, validation, L-BFGS."""

from __future__ import annotations

import numpy as np
import pytest

from ffnn.core.graph import mlp
from ffnn.core.losses import MAE, MSE, BinaryCrossEntropy, CrossEntropy, Huber, get_loss
from ffnn.errors import FFNNError
from ffnn.train.lbfgs import L2OnWeights, lbfgs
from ffnn.train.loop import fit
from ffnn.train.weights import check_weights, per_example, weigh


def _data(seed=0, n=20):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = rng.integers(0, 3, n)
    w = rng.integers(0, 4, n)
    w[0] = 2  # at least one positive weight
    return X, y, w


@pytest.mark.parametrize(
    "loss, output, n_out",
    [
        (MSE(), "identity", 2),
        (MAE(), "sigmoid", 2),
        (Huber(0.5), "identity", 2),
        (BinaryCrossEntropy(), "sigmoid", 2),
        (CrossEntropy(), "softmax", 3),
    ],
)
def test_per_example_losses_average_to_the_loss(loss, output, n_out):
    rng = np.random.default_rng(1)
    z = rng.normal(size=(7, n_out))
    Y = rng.random(size=(7, n_out))
    net = mlp([1, n_out], output=output)
    ell = per_example(loss, z, Y, net.output)
    assert ell.shape == (7,)
    np.testing.assert_allclose(ell.mean(), loss.value(z, Y, net.output), rtol=1e-12)
    # weights 1 change nothing; weights (k, 0, ...) equal the loss on the rows repeated k times
    L, d = loss.value_and_delta(z, Y, net.output)
    Lw, dw = weigh(loss, z, Y, net.output, d.copy(), np.ones(7))
    np.testing.assert_allclose([Lw, *dw.ravel()], [L, *d.ravel()], rtol=1e-12)
    w = np.array([2.0, 0, 1, 3, 0, 1, 1])
    rep = np.repeat(np.arange(7), w.astype(int))
    Lr, dr = loss.value_and_delta(z[rep], Y[rep], net.output)
    Lw, dw = weigh(loss, z, Y, net.output, loss.delta(z, Y, net.output), w)
    np.testing.assert_allclose(Lw, Lr, rtol=1e-12)
    # the δ of a row is the sum of the δ of its copies
    np.testing.assert_allclose(dw, np.array([dr[rep == i].sum(0) for i in range(7)]), atol=1e-15)


def test_a_loss_without_formula_is_weighted_row_by_row():
    class Scaled(MSE):  # a subclass may change the formulas: not taken for MSE's
        def value_and_delta(self, z, y, output):
            L, d = super().value_and_delta(z, y, output)
            return 3 * L, 3 * d

    z, Y = np.arange(6.0).reshape(3, 2), np.zeros((3, 2))
    out = mlp([1, 2]).output
    np.testing.assert_allclose(per_example(Scaled(), z, Y, out), 3 * (z**2).sum(1))


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "momentum"])
def test_weighted_fit_equals_fit_on_repeated_rows(optimizer):
    X, y, w = _data()
    rep = np.repeat(np.arange(len(y)), w)
    a = mlp([3, 5, 3], "tanh", output="softmax", rng=1, dtype="float64")
    b = a.copy()
    kw = dict(optimizer=optimizer, lr=0.05, batch_size=None, epochs=25, progress=False)
    ha = fit(a, X, y, "cross_entropy", sample_weight=w, validation=(X, y, w), **kw)
    hb = fit(b, X[rep], y[rep], "cross_entropy", validation=(X[rep], y[rep]), **kw)
    np.testing.assert_allclose(a.theta, b.theta, rtol=1e-12, atol=1e-14)
    for key in ("train_loss", "val_loss"):
        np.testing.assert_allclose(ha[key], hb[key], rtol=1e-12)


def test_weighted_minibatches_validation_fraction_and_early_stopping():
    X, y, w = _data(n=40)
    net = mlp([3, 4, 1], "tanh", rng=0, dtype="float64")
    h = fit(
        net, X, y.astype(float), "mse", batch_size=8, epochs=4, sample_weight=w,
        validation=0.25, early_stopping=2, progress=False,
    )  # fmt: skip
    assert np.isfinite(h["val_loss"]).all() and np.isfinite(net.theta).all()
    # the epoch's train_loss is the weighted mean of the per-example losses at the batch θ's;
    # with one full batch it is exactly Σ w ℓ / Σ w at the θ before the step
    net = mlp([3, 4, 1], "tanh", rng=0, dtype="float64")
    before = net.copy()
    h = fit(net, X, y.astype(float), "mse", batch_size=None, epochs=1, sample_weight=w,
            progress=False)  # fmt: skip
    ell = per_example(MSE(), before.forward(X)[0], y[:, None].astype(float), net.output)
    np.testing.assert_allclose(h["train_loss"][0], ell.dot(w) / w.sum(), rtol=1e-12)


def test_weighted_lbfgs_equals_lbfgs_on_repeated_rows():
    X, y, w = _data()
    rep = np.repeat(np.arange(len(y)), w)
    Y = np.eye(3)[y]
    a = mlp([3, 5, 3], "tanh", output="softmax", rng=1, dtype="float64")
    b = a.copy()
    ce = get_loss("cross_entropy")
    ra = lbfgs(a, X, Y, ce, penalty=L2OnWeights(a, 0.1), sample_weight=w, max_iter=15)
    rb = lbfgs(b, X[rep], Y[rep], ce, penalty=L2OnWeights(b, 0.1), max_iter=15)
    assert ra.nit == rb.nit == 15
    np.testing.assert_allclose(a.theta, b.theta, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(ra.fun, rb.fun, rtol=1e-12)


@pytest.mark.parametrize(
    "w, match",
    [
        (np.ones(3), "shape"),
        (-np.ones(20), ">= 0"),
        (np.zeros(20), "sums to 0"),
        (np.full(20, np.nan), "finite"),
        (np.array(["a"] * 20), "numeric"),
    ],
)
def test_bad_weights_are_refused(w, match):
    X, y, _ = _data()
    with pytest.raises(FFNNError, match=match):
        fit(mlp([3, 3], output="softmax"), X, y, "cross_entropy", sample_weight=w)
    if match == "shape":
        with pytest.raises(FFNNError, match="shape"):
            check_weights(np.ones((20, 2)), 20)
