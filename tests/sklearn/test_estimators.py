"""FFNNClassifier / FFNNRegressor: layout, targets, solvers, stopping rules, sklearn machinery."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import ffnn
import ffnn.train
from ffnn.errors import FFNNError
from ffnn.sklearn import FFNNClassifier, FFNNRegressor, HalfSquaredError
from ffnn.train.optimizers import adam

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    return X, y


def _blobs(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    return X, y


# --- layout and predictions ---------------------------------------------------------------------
def test_coefs_are_transposed_views_into_theta(iris):
    X, y = iris
    clf = FFNNClassifier(hidden_layer_sizes=(7, 5), max_iter=3, random_state=0).fit(X, y)
    assert [c.shape for c in clf.coefs_] == [(4, 7), (7, 5), (5, 3)]
    assert [b.shape for b in clf.intercepts_] == [(7,), (5,), (3,)]
    for c, b, (W, _) in zip(clf.coefs_, clf.intercepts_, clf.network_.params, strict=True):
        np.testing.assert_array_equal(c, W.T)
        assert np.shares_memory(c, clf.network_.theta)
        assert np.shares_memory(b, clf.network_.theta)
    before = clf.predict_proba(X).copy()
    clf.coefs_[-1][...] = 0.0  # writing through the view changes the network
    clf.intercepts_[-1][...] = [0.0, 5.0, 0.0]
    after = clf.predict_proba(X)
    assert not np.allclose(before, after)
    assert np.all(clf.predict(X) == 1)
    assert clf.n_layers_ == 4 and clf.n_outputs_ == 3 and clf.out_activation_ == "softmax"


def test_predict_proba_is_the_network_output(iris):
    X, y = iris
    clf = FFNNClassifier(hidden_layer_sizes=(8,), max_iter=20, random_state=1).fit(X, y)
    P = clf.predict_proba(X)
    np.testing.assert_allclose(P, clf.network_(X), rtol=1e-6)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-5)
    z = clf.decision_function(X)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[z.argmax(axis=1)])
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(P), rtol=1e-5)
    assert P.dtype == np.float64  # computed in float32 (X is float64 but... see dtype tests)


def test_binary_string_labels(iris):
    X, y = _blobs()
    labels = np.array(["no", "yes"])[y]
    clf = FFNNClassifier(hidden_layer_sizes=(16,), max_iter=300, random_state=0).fit(X, labels)
    np.testing.assert_array_equal(clf.classes_, ["no", "yes"])
    assert clf.network_.output.name == "sigmoid" and clf.coefs_[-1].shape == (16, 1)
    P = clf.predict_proba(X)
    assert P.shape == (60, 2)
    d = clf.decision_function(X)
    assert d.shape == (60,)
    np.testing.assert_array_equal(clf.predict(X), np.where(d > 0, "yes", "no"))
    np.testing.assert_allclose(P[:, 1], 1 / (1 + np.exp(-d.astype(np.float64))), rtol=1e-5)
    assert clf.score(X, labels) > 0.9


def test_multiclass_string_labels(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = FFNNClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, random_state=0)
    clf.fit(X, names)
    np.testing.assert_array_equal(clf.classes_, ["setosa", "versicolor", "virginica"])
    assert clf.score(X, names) > 0.9
    assert set(clf.predict(X)) <= set(clf.classes_)


def test_multilabel_indicator_gets_sigmoid_and_bce():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 4))
    Y = np.stack([X[:, 0] > 0, X[:, 1] > 0, X[:, 0] + X[:, 2] > 0], axis=1).astype(int)
    clf = FFNNClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, random_state=0)
    clf.fit(X, Y)
    assert clf.network_.output.name == "sigmoid" and clf.out_activation_ == "logistic"
    pred = clf.predict(X)
    assert pred.shape == (80, 3) and set(np.unique(pred)) <= {0, 1}
    P = clf.predict_proba(X)
    assert P.shape == (80, 3)
    np.testing.assert_array_equal(pred, (P > 0.5).astype(int))
    assert (pred == Y).mean() > 0.9
    # the training loss is the binary cross-entropy of the notes
    L = ffnn.get_loss("binary_cross_entropy").value(
        clf.network_.forward(X)[0], Y, clf.network_.output
    )
    assert L < clf.loss_curve_[0]


def test_regressor_multi_output_and_single_output_shapes():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3))
    Y = np.stack([X @ [1.0, -2.0, 0.5], X[:, 0] - X[:, 2]], axis=1)
    reg = FFNNRegressor(hidden_layer_sizes=(32,), learning_rate_init=0.01, random_state=0)
    reg.fit(X, Y)
    assert reg.predict(X).shape == (100, 2) and reg.n_outputs_ == 2
    assert reg.score(X, Y) > 0.95
    single = clone(reg).fit(X, Y[:, 0])
    assert single.predict(X).shape == (100,)


def test_regressor_losses():
    z = np.array([[0.5, -1.0], [2.0, 0.0]])
    y = np.array([[0.0, 0.0], [1.0, 1.0]])
    out = ffnn.get_output_activation("identity")
    half, d_half = HalfSquaredError().value_and_delta(z, y, out)
    full, d_full = ffnn.get_loss("mse").value_and_delta(z, y, out)
    assert half == pytest.approx(0.5 * full)
    np.testing.assert_allclose(d_half, 0.5 * d_full)
    buf = np.empty_like(z)
    half_into, d_into = HalfSquaredError().value_and_delta_into(z, y, out, buf)
    assert half_into == pytest.approx(half)
    np.testing.assert_allclose(d_into, d_half)
    X = np.linspace(-1, 1, 20)[:, None]
    # what the fit loop records for "squared_error" is half the notes' MSE at the initial θ
    for loss, factor in (("squared_error", 0.5), ("mse", 1.0)):
        reg = FFNNRegressor(
            loss,
            hidden_layer_sizes=(4,),
            solver="gd",
            batch_size=None,
            max_iter=1,
            random_state=0,
            dtype="float64",
            alpha=0.0,
        )
        reg.fit(X, X[:, 0] ** 2)
        net0 = ffnn.mlp(
            [1, 4, 1], "relu", init=ffnn.Init("glorot", "uniform"), rng=0, dtype=np.float64
        )
        L0 = ffnn.get_loss("mse").value(net0.forward(X)[0], X**2, net0.output)
        assert reg.loss_curve_[0] == pytest.approx(factor * L0, rel=1e-12)
    for loss in ("squared_error", "mse", "mae", "huber"):
        FFNNRegressor(loss, hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, X[:, 0])
    with pytest.raises(FFNNError, match="poisson"):
        FFNNRegressor("poisson").fit(X, X[:, 0])


# --- the scikit-learn machinery ------------------------------------------------------------------
def test_pipeline_gridsearch_cross_val(iris):
    X, y = iris
    pipe = make_pipeline(
        StandardScaler(), FFNNClassifier(hidden_layer_sizes=(8,), max_iter=30, random_state=0)
    )
    grid = GridSearchCV(
        pipe, {"ffnnclassifier__learning_rate_init": [1e-3, 3e-2]}, cv=2, n_jobs=2
    ).fit(X, y)
    assert grid.best_params_["ffnnclassifier__learning_rate_init"] == 3e-2
    assert grid.score(X, y) > 0.8
    scores = cross_val_score(
        FFNNRegressor(hidden_layer_sizes=(8,), max_iter=30), X[:, :3], X[:, 3], cv=3
    )
    assert scores.shape == (3,) and np.all(np.isfinite(scores))


def test_clone_keeps_parameters_and_drops_the_fit(iris):
    X, y = iris
    opt = adam(0.01)
    clf = FFNNClassifier(
        activation=["tanh", "relu"],
        hidden_layer_sizes=(5, 4),
        solver=opt,
        schedule=None,
        optimizer_params=None,
        max_iter=2,
    ).fit(X, y)
    c = clone(clf)
    assert not hasattr(c, "network_")
    assert c.get_params()["activation"] == ["tanh", "relu"]
    assert isinstance(c.solver, ffnn.train.Optimizer) and c.solver.config() == opt.config()


@pytest.mark.parametrize("make", [FFNNClassifier, FFNNRegressor])
def test_pickle_and_deepcopy_round_trip(make, iris):
    X, y = iris
    est = make(hidden_layer_sizes=(6,), max_iter=10, random_state=0).fit(X, y)
    for other in (pickle.loads(pickle.dumps(est)), copy.deepcopy(est)):
        np.testing.assert_array_equal(other.predict(X), est.predict(X))
        # θ and its W, b views are still one array: writing a view moves the output
        assert np.shares_memory(other.coefs_[0], other.network_.theta)
        other.intercepts_[-1][...] += 3.0
        assert not np.array_equal(other.network_.forward(X)[0], est.network_.forward(X)[0])
    # a refit continues to work after a round trip
    again = pickle.loads(pickle.dumps(est))
    again.partial_fit(X, y)
    assert again.t_ > est.t_


def test_feature_names_in():
    pd = pytest.importorskip("pandas")
    X, y = _blobs()
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    clf = FFNNClassifier(max_iter=3).fit(df, y)
    np.testing.assert_array_equal(clf.feature_names_in_, ["a", "b", "c"])


# --- training semantics --------------------------------------------------------------------------
def test_two_partial_fits_equal_a_two_epoch_fit(iris):
    X, y = iris
    kw = dict(hidden_layer_sizes=(6,), batch_size=32, random_state=3, tol=0.0)
    full = FFNNClassifier(max_iter=2, **kw).fit(X, y)
    inc = FFNNClassifier(**kw)
    with pytest.raises(ValueError, match="classes"):
        inc.partial_fit(X, y)
    inc.partial_fit(X, y, classes=np.unique(y))
    inc.partial_fit(X, y)
    np.testing.assert_array_equal(inc.network_.theta, full.network_.theta)
    np.testing.assert_allclose(inc.loss_curve_, full.loss_curve_)
    assert inc.t_ == full.t_ == 2 * len(y)


def test_warm_start_continues(iris):
    X, y = iris
    clf = FFNNClassifier(hidden_layer_sizes=(6,), max_iter=5, warm_start=True, random_state=0)
    clf.fit(X, y)
    theta = clf.network_.theta.copy()
    curve = list(clf.loss_curve_)
    clf.fit(X, y)
    assert len(clf.loss_curve_) == 10 and clf.loss_curve_[:5] == curve
    assert clf.n_iter_ == 5
    assert clf.loss_curve_[5] < curve[0]
    assert not np.array_equal(theta, clf.network_.theta)
    cold = FFNNClassifier(hidden_layer_sizes=(6,), max_iter=5, random_state=0).fit(X, y)
    cold.fit(X, y)
    assert len(cold.loss_curve_) == 5


def test_tol_stopping_on_training_loss_and_convergence_warning(iris):
    X, y = iris
    clf = FFNNClassifier(hidden_layer_sizes=(6,), max_iter=500, tol=10.0, n_iter_no_change=3)
    clf.fit(X, y)
    # the loss never falls by 10: the rule fires once the count exceeds n_iter_no_change
    assert clf.n_iter_ == 5
    assert clf.best_loss_ == min(clf.loss_curve_)
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        FFNNClassifier(hidden_layer_sizes=(4,), max_iter=3).fit(X, y)


def test_early_stopping_scores_and_restores(iris):
    X, y = iris
    clf = FFNNClassifier(
        hidden_layer_sizes=(8,),
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=4,
        max_iter=300,
        learning_rate_init=0.01,
        random_state=0,
    ).fit(X, y)
    assert clf.best_loss_ is None
    assert len(clf.validation_scores_) == clf.n_iter_ < 300
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    with pytest.raises(ValueError, match="early_stopping"):
        clf.partial_fit(X, y)
    reg = FFNNRegressor(hidden_layer_sizes=(8,), early_stopping=True, max_iter=50, random_state=0)
    reg.fit(X[:, :3], X[:, 3])
    assert -1.0 < reg.best_validation_score_ <= 1.0
    with pytest.raises(ValueError, match="validation set is too small"):
        FFNNClassifier(early_stopping=True).fit(X[:8], y[:8] % 2)


def test_alpha_is_l2_on_weights_over_batch_size():
    X, y = _blobs(40)
    alpha, lr = 0.5, 0.1
    clf = FFNNClassifier(
        hidden_layer_sizes=(5,),
        solver="gd",
        alpha=alpha,
        learning_rate_init=lr,
        batch_size=None,
        max_iter=1,
        shuffle=False,
        random_state=0,
        dtype="float64",
    )
    clf.fit(X, y)
    net0 = ffnn.mlp(
        [3, 5, 1],
        "relu",
        output="sigmoid",
        init=ffnn.Init("glorot", "uniform"),
        rng=0,
        dtype=np.float64,
    )
    theta0 = net0.theta.copy()
    _, g = net0.loss_and_grad(X, y[:, None].astype(float), "binary_cross_entropy")
    expect = theta0 - lr * g
    for name, sl in net0.param_blocks():
        if name.endswith(".W"):
            expect[sl] -= lr * alpha / len(y) * theta0[sl]
    np.testing.assert_allclose(clf.network_.theta, expect, rtol=1e-12, atol=1e-14)
    # the recorded loss carries the penalty α/(2n) Σ‖W‖² of the parameters after the epoch
    W2 = sum(float(np.sum(W * W)) for W, _ in clf.network_.params)
    assert clf.loss_curve_[0] == pytest.approx(
        clf.history_["train_loss"][0] + 0.5 * alpha * W2 / 40
    )


def test_lbfgs(iris):
    X, y = iris
    clf = FFNNClassifier(hidden_layer_sizes=(10,), solver="lbfgs", max_iter=200, random_state=0)
    clf.fit(X, y)
    assert clf.score(X, y) > 0.95
    assert len(clf.loss_curve_) == clf.n_iter_ and clf.loss_ == pytest.approx(clf.loss_curve_[-1])
    assert not hasattr(clf, "partial_fit")
    reg = FFNNRegressor(hidden_layer_sizes=(10,), solver="lbfgs", max_iter=100, random_state=0)
    assert reg.fit(X[:, :3], X[:, 3]).score(X[:, :3], X[:, 3]) > 0.9


@pytest.mark.parametrize(
    "solver, extra",
    [
        ("sgd", {}),
        ("sgd", {"nesterovs_momentum": False}),
        ("sgd", {"momentum": 0.0}),
        ("gd", {}),
        ("momentum", {}),
        ("nesterov", {}),
        ("rmsprop", {"optimizer_params": {"rho": 0.9}}),
        ("adamw", {"optimizer_params": {"weight_decay": 1e-3}}),
        (adam(0.01), {}),
    ],
)
def test_every_solver_learns(iris, solver, extra):
    X, y = iris
    lr = 0.05 if solver in ("sgd", "gd", "momentum", "nesterov") else 0.01
    clf = FFNNClassifier(
        hidden_layer_sizes=(16,),
        solver=solver,
        learning_rate_init=lr,
        batch_size=16,
        max_iter=40,
        random_state=0,
        **extra,
    ).fit(X, y)
    assert clf.score(X, y) > 0.85
    expect = {"sgd": "nesterov"}.get(solver, solver) if isinstance(solver, str) else "adam"
    if extra.get("momentum") == 0.0:
        expect = "sgd"
    if extra.get("nesterovs_momentum") is False:
        expect = "momentum"
    assert clf.history_.config["optimizer"]["name"] == expect


def test_invscaling_and_adaptive_follow_sklearn(iris):
    X, y = iris
    n = len(y)
    clf = FFNNClassifier(
        hidden_layer_sizes=(4,),
        solver="sgd",
        learning_rate="invscaling",
        learning_rate_init=0.1,
        power_t=0.5,
        max_iter=4,
        tol=0.0,
    ).fit(X, y)
    lr = clf.history_["lr"]
    expect = [0.1] + [0.1 / (e * n + 1) ** 0.5 for e in (1, 2, 3)]
    np.testing.assert_allclose(lr, expect, rtol=1e-12)
    ada = FFNNClassifier(
        hidden_layer_sizes=(4,),
        solver="sgd",
        learning_rate="adaptive",
        learning_rate_init=0.1,
        tol=100.0,
        n_iter_no_change=1,
        max_iter=100,
    )
    ada.fit(X, y)
    lrs = np.array(ada.history_["lr"])
    # every 2 epochs without improvement the rate is divided by 5, until it is <= 1e-6
    # (the first epoch sets best_loss_, the next two count: the rule fires after epochs 3, 5, ...)
    np.testing.assert_allclose(lrs[1::2], 0.1 / 5.0 ** np.arange(len(lrs[1::2])), rtol=1e-12)
    assert lrs[2] == lrs[1]
    assert lrs[-1] <= 1e-6 and ada.n_iter_ < 100
    # adam ignores learning_rate, as in scikit-learn
    a = FFNNClassifier(hidden_layer_sizes=(4,), learning_rate="invscaling", max_iter=3, tol=0.0)
    assert len(set(a.fit(X, y).history_["lr"])) == 1


def test_ffnn_schedule(iris):
    X, y = iris
    clf = FFNNClassifier(
        hidden_layer_sizes=(4,),
        schedule="cosine",
        learning_rate_init=0.01,
        batch_size=50,
        max_iter=10,
        tol=0.0,
    ).fit(X, y)
    lr = clf.history_["lr"]
    assert lr[0] < 0.01 and lr[-1] < 1e-2 * 0.01 and lr == sorted(lr, reverse=True)
    with pytest.raises(FFNNError, match="not both"):
        FFNNClassifier(solver="sgd", learning_rate="adaptive", schedule="cosine").fit(X, y)
    with pytest.raises(FFNNError, match="lbfgs"):
        FFNNClassifier(solver="lbfgs", schedule="cosine").fit(X, y)


def test_architecture_options(iris):
    X, y = iris
    clf = FFNNClassifier(
        hidden_layer_sizes=(6, 5),
        activation=["tanh", "logistic"],
        init="lecun",
        parameterization="ntk",
        dtype="float64",
        max_iter=3,
    )
    clf.fit(X, y)
    net = clf.network_
    acts = [n.layer.activation.name for n in net.nodes if isinstance(n.layer, ffnn.Act)]
    assert acts == ["tanh", "sigmoid"]
    assert net.dtype == np.float64 and clf.predict_proba(X).dtype == np.float64
    assert all(i.parameterization == "ntk" and i.scheme == "lecun" for i in net.inits)
    auto = FFNNClassifier(hidden_layer_sizes=(6,), max_iter=1).fit(X, y)
    assert (
        auto.network_.inits[0] == ffnn.Init("glorot", "uniform")
        and auto.network_.dtype == np.float64  # follows X
    )
    mse = FFNNClassifier(hidden_layer_sizes=(6,), loss="mse", max_iter=1).fit(X, y)
    assert mse.network_.output.name == "softmax" and mse.history_.config["loss"] == "mse"


@pytest.mark.parametrize(
    "params, match",
    [
        ({"solver": "newton"}, "unknown solver"),
        ({"learning_rate": "cyclic"}, "learning_rate"),
        ({"hidden_layer_sizes": (0,)}, "hidden_layer_sizes"),
        ({"activation": ["relu", "relu"]}, "activation"),
        ({"alpha": -1.0}, "alpha"),
        ({"max_iter": 0}, "max_iter"),
        ({"validation_fraction": 1.5}, "validation_fraction"),
        ({"loss": "hinge"}, "loss"),
        ({"batch_size": "big"}, "batch_size"),
        ({"dtype": "float16"}, "dtype"),
    ],
)
def test_bad_parameters_raise_at_fit(iris, params, match):
    X, y = iris
    est = FFNNClassifier(**params)  # __init__ stores, never checks
    with pytest.raises(FFNNError, match=match):
        est.fit(X, y)


def test_batch_size_clipped_with_warning_and_none_is_full_batch(iris):
    X, y = iris
    with pytest.warns(UserWarning, match="clipped"):
        clf = FFNNClassifier(hidden_layer_sizes=(4,), batch_size=1000, max_iter=2).fit(X, y)
    assert clf.history_.config["batch_size"] == 150
    full = FFNNClassifier(hidden_layer_sizes=(4,), batch_size=None, max_iter=2).fit(X, y)
    assert full.history_.config["batch_size"] == 150
    auto = FFNNClassifier(hidden_layer_sizes=(4,), max_iter=2).fit(np.vstack([X, X]), np.r_[y, y])
    assert auto.history_.config["batch_size"] == 200


def test_verbose_prints_iterations(iris, capsys):
    X, y = iris
    FFNNClassifier(hidden_layer_sizes=(4,), max_iter=2, verbose=True).fit(X, y)
    out = capsys.readouterr().out
    assert "Iteration 1, loss = " in out and "Iteration 2, loss = " in out


def test_random_state_reproducible_and_matches_ffnn_init(iris):
    X, y = iris
    a = FFNNClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=7).fit(X, y)
    b = FFNNClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=7).fit(X, y)
    np.testing.assert_array_equal(a.network_.theta, b.network_.theta)
    c = FFNNClassifier(hidden_layer_sizes=(5,), max_iter=0 + 1, random_state=8).fit(X, y)
    assert not np.array_equal(a.network_.theta, c.network_.theta)
    net = ffnn.mlp([4, 5, 3], "relu", output="softmax", init=ffnn.Init("glorot", "uniform"), rng=7)
    untrained = FFNNClassifier(hidden_layer_sizes=(5,), random_state=7)
    untrained._check_params()
    rebuilt = untrained._new_network(4, 3, "softmax", np.random.default_rng(7), np.float32)
    np.testing.assert_array_equal(rebuilt.theta, net.theta)


def test_network_is_a_full_ffnn_network(iris):
    X, y = iris
    clf = FFNNClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(X, y)
    net = clf.network_.astype(np.float64)
    check = ffnn.gradient_check(net, X[:10], y[:10], "cross_entropy")
    assert check.passed
    assert clf.history_.config["optimizer"]["blocks"][0]["name"] == "l2_W"


@pytest.mark.parametrize("labels", [[0, 1], [0, 1, 2], "multilabel"])
def test_log_proba_is_finite_where_probabilities_saturate(labels):
    X, y = _blobs(30)
    if labels == "multilabel":
        y = np.stack([y, 1 - y], axis=1)
    elif len(labels) == 3:
        y = y + (X[:, 2] > 1)
    clf = FFNNClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0).fit(X, y)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), clf.predict_proba(X), rtol=1e-5)
    clf.intercepts_[-1][...] = 800.0 * (np.arange(clf.intercepts_[-1].size) % 2 * 2 - 1)
    with np.errstate(divide="ignore"):
        log_p = np.log(clf.predict_proba(X))
    assert np.isinf(log_p).any()  # float64 probabilities saturate
    assert np.isfinite(clf.predict_log_proba(X)).all()
    finite = np.isfinite(log_p)
    np.testing.assert_allclose(clf.predict_log_proba(X)[finite], log_p[finite], rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_half_squared_error_is_half_of_mse_bit_for_bit(dtype):
    """HalfSquaredError reuses MSE's formulas, halved: the same bits as 1/(2n) Σ r² and r / n."""
    from ffnn.sklearn import HalfSquaredError

    rng = np.random.default_rng(0)
    z, Y = rng.standard_normal((2, 37, 3)).astype(dtype)
    identity = ffnn.mlp([2, 3], output="identity").output
    r = z - Y
    want_value = float(0.5 * np.square(r).sum(dtype=np.float64) / 37)
    for value, delta in (
        HalfSquaredError().value_and_delta(z, Y, identity),
        HalfSquaredError().value_and_delta_into(z, Y, identity, np.empty_like(z)),
    ):
        assert value == want_value
        np.testing.assert_array_equal(delta, r / 37)
        assert delta.dtype == dtype


@pytest.mark.parametrize("cls", [FFNNClassifier, FFNNRegressor])
def test_docstring_documents_every_parameter_and_attribute(cls):
    """The shared sections are put into both docstrings: every __init__ parameter and every
    fitted attribute has its entry, and no placeholder is left."""
    import inspect
    import re

    def entries(section: str) -> set[str]:  # "beta_1, beta_2 : float" names two
        text = doc.split(f"{section}\n    {'-' * len(section)}\n")[1].split("\n\n")[0]
        heads = re.findall(r"^    (\w[\w, ]*) :", text, flags=re.M)
        return {name for head in heads for name in head.split(", ")}

    doc = cls.__doc__
    assert "%(" not in doc
    params = set(inspect.signature(cls.__init__).parameters) - {"self"}
    assert entries("Parameters") == params
    attrs = entries("Attributes")
    assert {"n_features_in_", "network_", "coefs_", "n_iter_", "out_activation_"} <= attrs
    assert ("classes_" in attrs) == (cls is FFNNClassifier)
