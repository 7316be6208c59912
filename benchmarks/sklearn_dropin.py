"""Side by side: MLPClassifier/MLPRegressor and FFNNClassifier/FFNNRegressor on the drop-in
items of issue 18 (sample weights, sparse X, dtypes, parameter values, warnings, log-probas,
ties). Prints one line per item and estimator: what was measured.

    PYTHONPATH=src python benchmarks/sklearn_dropin.py
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline

from ffnn.sklearn import FFNNClassifier, FFNNRegressor

PAIRS = {"MLP": (MLPClassifier, MLPRegressor), "ffnn": (FFNNClassifier, FFNNRegressor)}


def attempt(fn):
    """fn()'s result, or the exception's type and first words; warnings' types listed."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = fn()
        except Exception as e:  # noqa: BLE001 (a report of what happened)
            out = f"{type(e).__name__}: {str(e)[:70]}"
    kinds = sorted({type(w.message).__name__ for w in caught})
    return out, kinds


def data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.8)
    w = rng.integers(0, 4, n)
    w[:3] = [1, 2, 3]
    return X, y, w


def weighted_vs_repeated(C):
    X, y, w = data()
    rep = np.repeat(np.arange(len(y)), w)
    kw = dict(hidden_layer_sizes=(6,), solver="lbfgs", max_iter=20, random_state=0)
    a, b = C(**kw).fit(X, y, sample_weight=w), C(**kw).fit(X[rep], y[rep])
    return f"max|Δ proba| = {np.abs(a.predict_proba(X) - b.predict_proba(X)).max():.1e}"


def text(C):
    rng = np.random.default_rng(0)
    topics = [["goal", "team", "match", "coach"], ["bread", "soup", "oven", "salt"]]
    filler = ["the", "a", "of", "and", "to", "in"]
    y = rng.integers(0, 2, 80)
    docs = [" ".join(rng.choice(topics[k] * 1 + filler, 8)) for k in y]
    pipe = make_pipeline(
        TfidfVectorizer(), C(hidden_layer_sizes=(8,), max_iter=300, random_state=0)
    )
    pipe.fit(docs[:60], y[:60])
    return f"test acc {pipe.score(docs[60:], y[60:]):.2f}"


def dtypes(C, R, **kw):
    X, y, _ = data()
    out = []
    for Xd in (np.float64, np.float32):
        c = C(hidden_layer_sizes=(3,), max_iter=2, **kw).fit(X.astype(Xd), y)
        r = R(hidden_layer_sizes=(3,), max_iter=2, **kw).fit(X.astype(Xd), y)
        out.append(
            f"X {np.dtype(Xd).name}: coefs {c.coefs_[0].dtype}, proba "
            f"{c.predict_proba(X.astype(Xd)).dtype}, reg.predict {r.predict(X.astype(Xd)).dtype}"
        )
    return "; ".join(out)


def combos(C):
    X, y, _ = data()
    ok = 0
    for solver in ("sgd", "adam", "lbfgs"):
        for lr in ("constant", "invscaling", "adaptive"):
            C(hidden_layer_sizes=(3,), solver=solver, learning_rate=lr, max_iter=3).fit(X, y)
            ok += 1
    return f"{ok}/9 fit"


def assign_after(C):
    X, y, _ = data()
    c = C(hidden_layer_sizes=(3,), max_iter=3, random_state=0).fit(X, y)
    c.coefs_[-1] = np.zeros_like(c.coefs_[-1])
    c.intercepts_[-1] = np.array([0.0, 0.0, 9.0])
    return f"predicts class 2 for {np.mean(c.predict(X) == 2):.0%} of rows"


def assign_before(C):
    X, y, _ = data()
    c = C(hidden_layer_sizes=(3,), solver="sgd", learning_rate_init=1e-12, random_state=0)
    c.coefs_ = [np.ones((4, 3)), np.ones((3, 3))]
    c.intercepts_ = [np.zeros(3), np.zeros(3)]
    c.partial_fit(X, y, classes=[0, 1, 2])
    return f"start kept: {np.allclose(c.coefs_[0], 1.0)}"


def poisson(R):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = rng.poisson(np.exp(0.8 * X[:, 0] - 0.3))
    r = R(loss="poisson", hidden_layer_sizes=(8,), solver="lbfgs", max_iter=200, random_state=0)
    r.fit(X, y)
    mu = r.predict(X)
    return f"out_activation_={r.out_activation_}, loss_={r.loss_:.3f}, min pred {mu.min():.3f}"


def diverge(R):
    X, y, _ = data()
    r = R(
        hidden_layer_sizes=(8,), solver="sgd", learning_rate_init=1e6, max_iter=50, random_state=0
    )
    r.fit(X * 100, y * 1e3)
    return f"finite weights: {all(np.isfinite(c).all() for c in r.coefs_)}"


def huge(C, scale):
    X, y, _ = data()
    c = C(hidden_layer_sizes=(8,), max_iter=20, random_state=0).fit(X * scale, y)
    return f"n_iter_={c.n_iter_}, train acc {c.score(X * scale, y):.2f}"


def log_proba(C):
    X, y, _ = data()
    c = C(hidden_layer_sizes=(3,), max_iter=3, random_state=0).fit(X, y)
    c.intercepts_[-1][...] = [800.0, -800.0, 0.0]  # float64 saturates: log P = -inf
    with np.errstate(divide="ignore"):
        lp = np.log(c.predict_proba(X))
    fin = np.isfinite(lp)
    gap = np.abs(lp[fin] - c.predict_log_proba(X)[fin]).max()
    return f"max|log P − log_proba| where finite = {gap:.1e}, inf entries {(~fin).sum()}"


def ties(C):
    X, y, _ = data()
    c = C(hidden_layer_sizes=(3,), max_iter=1, random_state=0).fit(X, y)
    c.coefs_[-1][...] = 0.0
    c.intercepts_[-1][...] = 0.0
    return f"all-equal probabilities -> class {set(c.predict(X).tolist())}"


def main() -> None:
    X, y, _ = data()
    items = [
        ("1 sample_weight: weighted = repeated (lbfgs)", lambda C, R: weighted_vs_repeated(C)),
        ("2 sparse: CSR accepted", lambda C, R: C(max_iter=5).fit(sp.csr_matrix(X), y).n_iter_),
        ("2 sparse: TF-IDF pipeline", lambda C, R: text(C)),
        ("3 dtype at defaults", lambda C, R: dtypes(C, R)),
        ("3 dtype='float32' (ffnn only)", lambda C, R: dtypes(C, R, dtype="float32")
         if C is FFNNClassifier else "n/a"),
        ("4 n_iter_no_change=np.inf", lambda C, R: C(max_iter=5, n_iter_no_change=np.inf)
         .fit(X, y).n_iter_),
        ("4 loss='poisson'", lambda C, R: poisson(R)),
        ("4 learning_rate x solver", lambda C, R: combos(C)),
        ("4 coefs_[l] = W after fit", lambda C, R: assign_after(C)),
        ("4 coefs_ = [...] before partial_fit", lambda C, R: assign_before(C)),
        ("5 diverging sgd (lr 1e6)", lambda C, R: diverge(R)),
        ("5 max_iter reached", lambda C, R: C(max_iter=2).fit(X, y).n_iter_),
        ("5 X * 1e305 (float64)", lambda C, R: huge(C, 1e305)),
        ("5 X * 1e100 (float64)", lambda C, R: huge(C, 1e100)),
        ("5 log_proba vs log(proba)", lambda C, R: log_proba(C)),
        ("5 ties", lambda C, R: ties(C)),
    ]  # fmt: skip
    for title, fn in items:
        for name, (C, R) in PAIRS.items():
            out, kinds = attempt(lambda fn=fn, C=C, R=R: fn(C, R))
            print(f"{title:42s} {name:5s} {out}  {kinds if kinds else ''}")


if __name__ == "__main__":
    main()
