"""FFNNClassifier / FFNNRegressor as drop-ins for MLPClassifier / MLPRegressor (issue 18):
sample weights, dtypes, MLP's parameter values, assignable coefs_, warnings, log-probabilities,
ties, the scikit-learn floor."""

from __future__ import annotations

import importlib
import sys
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from ffnn.errors import FFNNError
from ffnn.sklearn import FFNNClassifier, FFNNRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data(n=30, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.8)
    w = rng.integers(0, 4, n)
    w[:3] = [1, 2, 3]
    return X, y, w


# --- 1. sample_weight ---------------------------------------------------------------------------
@pytest.mark.parametrize("make", [FFNNClassifier, FFNNRegressor])
@pytest.mark.parametrize(
    "solver, extra", [("sgd", {"batch_size": None}), ("adam", {"batch_size": None}), ("lbfgs", {})]
)
def test_weighted_fit_equals_repeating_rows(make, solver, extra):
    X, y, w = _data()
    rep = np.repeat(np.arange(len(y)), w)
    kw = dict(hidden_layer_sizes=(6,), solver=solver, max_iter=20, alpha=0.01, random_state=0)
    a = make(**kw, **extra).fit(X, y, sample_weight=w)
    b = make(**kw, **extra).fit(X[rep], y[rep])
    assert a.network_.dtype == np.float64
    np.testing.assert_allclose(a.network_.theta, b.network_.theta, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-10)
    if make is FFNNClassifier:
        np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-9)


def test_weighted_partial_fit_and_early_stopping():
    X, y, w = _data(60)
    rep = np.repeat(np.arange(len(y)), w)
    kw = dict(hidden_layer_sizes=(5,), batch_size=None, random_state=0)
    a, b = FFNNRegressor(**kw), FFNNRegressor(**kw)
    for _ in range(3):
        a.partial_fit(X, y, sample_weight=w)
        b.partial_fit(X[rep], y[rep])
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-10)
    # early stopping: the validation score is the weighted one, the best weights restored
    es = FFNNClassifier(hidden_layer_sizes=(5,), early_stopping=True, max_iter=15, random_state=0)
    es.fit(X, y, sample_weight=w)
    assert len(es.validation_scores_) == es.n_iter_
    assert es.best_validation_score_ == max(es.validation_scores_)
    with pytest.raises(ValueError):
        FFNNClassifier(max_iter=2).fit(X, y, sample_weight=np.ones(5))
    with pytest.raises(FFNNError, match=">= 0"):
        FFNNClassifier(max_iter=2).fit(X, y, sample_weight=-np.ones(len(y)))


# --- 3. dtype -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "dtype, X_dtype, net_dtype",
    [
        (None, np.float64, np.float64),
        (None, np.float32, np.float32),
        (None, np.int64, np.float64),
        ("float32", np.float64, np.float32),
        ("float64", np.float32, np.float64),
    ],
)
def test_dtype_follows_X_unless_given_and_predictions_are_float64(dtype, X_dtype, net_dtype):
    X, y, _ = _data()
    X = (X * 10).astype(X_dtype)
    clf = FFNNClassifier(hidden_layer_sizes=(4,), max_iter=2, dtype=dtype).fit(X, y)
    reg = FFNNRegressor(hidden_layer_sizes=(4,), max_iter=2, dtype=dtype).fit(X, y)
    for est in (clf, reg):
        assert est.network_.dtype == net_dtype
        assert all(c.dtype == net_dtype for c in [*est.coefs_, *est.intercepts_])
    assert reg.predict(X).dtype == np.float64
    for method in ("predict_proba", "predict_log_proba", "decision_function"):
        assert getattr(clf, method)(X).dtype == np.float64


def test_huge_finite_inputs_train_in_float64_and_are_refused_in_float32():
    X, y, _ = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow warnings, no NaN reports
        est = FFNNClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0)
        est.fit(X * 1e305, y)
    assert est.network_.dtype == np.float64 and est.n_iter_ == 5
    assert np.isfinite(est.network_.theta).all()
    with pytest.raises(FFNNError, match="beyond the range of float32.*dtype='float64'"):
        FFNNClassifier(dtype="float32").fit(X * 1e300, y)
    with pytest.raises(FFNNError, match="beyond the range"):
        import ffnn

        ffnn.fit(ffnn.mlp([4, 3], output="softmax"), X * 1e300, y, "cross_entropy")


# --- 4. MLP's parameter values --------------------------------------------------------------------
def test_n_iter_no_change_inf_switches_the_rule_off():
    X, y, _ = _data()
    kw = dict(hidden_layer_sizes=(4,), max_iter=15, tol=1e6, random_state=0)
    assert FFNNClassifier(**kw).fit(X, y).n_iter_ == 12  # no improvement > tol: 1 + 11 epochs
    assert FFNNClassifier(**kw, n_iter_no_change=np.inf).fit(X, y).n_iter_ == 15
    with pytest.raises(FFNNError, match="n_iter_no_change"):
        FFNNClassifier(n_iter_no_change=2.5).fit(X, y)


def test_poisson_regression_has_an_exp_output():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = rng.poisson(np.exp(0.8 * X[:, 0] - 0.3))
    reg = FFNNRegressor(loss="poisson", hidden_layer_sizes=(8,), solver="lbfgs", alpha=0.0,
                        max_iter=200, random_state=0).fit(X, y)  # fmt: skip
    mu = reg.predict(X)
    assert reg.out_activation_ == "exp" and (mu > 0).all()
    np.testing.assert_allclose(mu, np.exp(reg.network_.forward(X)[0][:, 0]), rtol=1e-12)
    # loss_ is scikit-learn's half Poisson deviance of the predictions
    from scipy.special import xlogy

    np.testing.assert_allclose(reg.loss_, np.mean(xlogy(y, y / mu) - y + mu), rtol=1e-6)
    const = np.mean(xlogy(y, y / y.mean()) - y + y.mean())
    assert reg.loss_ < 0.8 * const
    with pytest.raises(FFNNError, match="y >= 0"):
        FFNNRegressor(loss="poisson").fit(X, -np.abs(y) - 1)


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_every_learning_rate_with_every_solver(solver):
    X, y, _ = _data()
    thetas = []
    for lr in ("constant", "invscaling", "adaptive"):
        est = FFNNClassifier(hidden_layer_sizes=(4,), solver=solver, learning_rate=lr,
                             max_iter=4, random_state=0).fit(X, y)  # fmt: skip
        thetas.append(est.network_.theta.copy())
    if solver != "sgd":  # ignored by adam and lbfgs, as in scikit-learn
        np.testing.assert_array_equal(thetas[0], thetas[1])
        np.testing.assert_array_equal(thetas[0], thetas[2])
    else:
        assert not np.array_equal(thetas[0], thetas[1])


def test_coefs_and_intercepts_are_assignable_before_and_after_fit():
    X, y, _ = _data()
    clf = FFNNClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(X, y)
    W = np.full((4, 5), 0.01)
    clf.coefs_[0] = W  # an item writes into θ
    np.testing.assert_array_equal(clf.network_.params[0][0], W.T)
    new = [np.zeros((4, 5)), np.zeros((5, 3))]
    clf.coefs_ = new  # the whole list too
    clf.intercepts_ = [np.zeros(5), np.array([0.0, 0.0, 1.0])]
    assert (clf.predict(X) == clf.classes_[2]).all()
    assert np.shares_memory(clf.coefs_[1], clf.network_.theta)
    with pytest.raises(FFNNError, match="shape"):
        clf.coefs_[0] = np.zeros((5, 4))
    # before fit: the given arrays are where partial_fit starts
    fresh = FFNNClassifier(hidden_layer_sizes=(5,), solver="sgd", learning_rate_init=1e-12,
                           alpha=0.0, random_state=0)  # fmt: skip
    rng = np.random.default_rng(3)
    coefs, intercepts = [rng.normal(size=(4, 5)), rng.normal(size=(5, 3))], [np.ones(5), np.ones(3)]
    fresh.coefs_, fresh.intercepts_ = coefs, intercepts
    assert fresh.coefs_[1] is not None
    fresh.partial_fit(X, y, classes=[0, 1, 2])
    for got, want in zip([*fresh.coefs_, *fresh.intercepts_], [*coefs, *intercepts], strict=True):
        np.testing.assert_allclose(got, want, atol=1e-9)


# --- 5. what MLP users rely on --------------------------------------------------------------------
def test_divergence_gives_a_convergence_warning_and_finite_weights():
    X, y, _ = _data()
    reg = FFNNRegressor(hidden_layer_sizes=(8,), solver="sgd", learning_rate_init=1e6,
                        max_iter=50, random_state=0)  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reg.fit(X * 100, y * 1e3)
    kinds = {type(w.message) for w in caught if "diverged" in str(w.message)}
    assert kinds == {ConvergenceWarning}
    assert np.isfinite(reg.network_.theta).all() and np.isfinite(reg.predict(X)).all()
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        FFNNRegressor(hidden_layer_sizes=(3,), max_iter=2).fit(X, y)


@pytest.mark.parametrize("dtype", [None, "float32"])
def test_log_proba_is_log_of_proba_wherever_finite(dtype):
    X, y, _ = _data()
    clf = FFNNClassifier(hidden_layer_sizes=(4,), max_iter=3, dtype=dtype, random_state=0)
    clf.fit(X, y)
    clf.intercepts_[-1][...] = [40.0, -40.0, 0.0]  # float32 would round some to 1.0 exactly
    P, logP = clf.predict_proba(X), clf.predict_log_proba(X)
    with np.errstate(divide="ignore"):
        log_of_P = np.log(P)
    finite = np.isfinite(log_of_P)
    np.testing.assert_allclose(logP[finite], log_of_P[finite], rtol=1e-15, atol=1e-15)
    assert np.isfinite(logP).all()


@pytest.mark.parametrize("n_classes", [2, 3])
def test_ties_go_to_the_first_class_as_in_scikit_learn(n_classes):
    X, y, _ = _data()
    y = np.minimum(y, n_classes - 1)
    ours = FFNNClassifier(hidden_layer_sizes=(3,), max_iter=1).fit(X, y)
    theirs = MLPClassifier(hidden_layer_sizes=(3,), max_iter=1).fit(X, y)
    for est in (ours, theirs):  # every class equally probable
        est.coefs_[-1][...] = 0.0
        est.intercepts_[-1][...] = 0.0
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    assert (ours.predict(X) == ours.classes_[0]).all()
    np.testing.assert_array_equal(ours.predict_proba(X), theirs.predict_proba(X))


def test_old_scikit_learn_is_refused_with_a_clear_error(monkeypatch):
    import sklearn

    saved = sys.modules.pop("ffnn.sklearn")
    monkeypatch.setattr(sklearn, "__version__", "1.5.2")
    try:
        with pytest.raises(FFNNError, match=r"scikit-learn >= 1.6, found 1.5.2.*pip install"):
            importlib.import_module("ffnn.sklearn")
    finally:
        sys.modules["ffnn.sklearn"] = saved
