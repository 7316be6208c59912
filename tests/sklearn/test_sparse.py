"""Sparse X (SciPy CSR/CSC matrices and arrays) through the estimators and ffnn.fit: the first
layer computes X Wᵀ + b and δᵀX on the sparse X; results equal the densified ones."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import make_pipeline

import ffnn
from ffnn.errors import FFNNError
from ffnn.sklearn import FFNNClassifier, FFNNRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

TOPICS = {
    "sport": "goal match team player score league coach season win ball".split(),
    "food": "bread cheese recipe oven salt soup dinner taste cook fresh".split(),
    "space": "orbit rocket planet star moon launch telescope galaxy crew mars".split(),
}
FILLER = "the a of and to in is it that with on for this was".split()


def _corpus(n=90, seed=0):
    """Short documents: topic words mixed with filler words, labelled by topic."""
    rng = np.random.default_rng(seed)
    names = sorted(TOPICS)
    labels = rng.integers(0, len(names), n)
    docs = []
    for k in labels:
        words = list(rng.choice(TOPICS[names[k]], 4)) + list(rng.choice(FILLER, 6))
        rng.shuffle(words)
        docs.append(" ".join(words))
    return docs, np.array(names)[labels]


def test_tfidf_pipeline_learns_and_matches_the_dense_fit():
    docs, y = _corpus()
    kw = dict(hidden_layer_sizes=(8,), max_iter=40, random_state=0, batch_size=16)
    pipe = make_pipeline(TfidfVectorizer(), FFNNClassifier(**kw)).fit(docs[:60], y[:60])
    assert pipe.score(docs[60:], y[60:]) > 0.9
    Xs = pipe[0].transform(docs)
    assert sp.issparse(Xs)
    dense = FFNNClassifier(**kw).fit(Xs[:60].toarray(), y[:60])
    np.testing.assert_allclose(pipe[-1].network_.theta, dense.network_.theta, atol=1e-12)
    np.testing.assert_allclose(pipe.predict_proba(docs), dense.predict_proba(Xs.toarray()),
                               rtol=1e-10, atol=1e-13)  # fmt: skip


@pytest.mark.parametrize("container", [sp.csr_matrix, sp.csc_matrix, sp.csr_array, sp.csc_array])
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_every_sparse_container_equals_the_dense_input(container, solver):
    rng = np.random.default_rng(1)
    X = rng.random((40, 12))
    X[X < 0.7] = 0.0
    y = X @ rng.normal(size=12)
    w = rng.integers(1, 3, 40)
    kw = dict(hidden_layer_sizes=(5,), solver=solver, max_iter=15, random_state=0,
              early_stopping=solver == "adam")  # fmt: skip
    a = FFNNRegressor(**kw).fit(container(X), y, sample_weight=w)
    b = FFNNRegressor(**kw).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(a.predict(container(X)), b.predict(X), rtol=1e-9, atol=1e-12)


def test_ffnn_fit_takes_sparse_rows_and_refuses_a_sparse_x_for_other_layers():
    rng = np.random.default_rng(2)
    X = sp.random(30, 8, density=0.3, random_state=3, format="csr")
    y = rng.integers(0, 2, 30)
    a = ffnn.mlp([8, 4, 2], "tanh", output="softmax", rng=0, dtype="float64")
    b = a.copy()
    ffnn.fit(a, X, y, "cross_entropy", batch_size=7, epochs=3, validation=0.2, progress=False)
    ffnn.fit(b, X.toarray(), y, "cross_entropy", batch_size=7, epochs=3, validation=0.2,
             progress=False)  # fmt: skip
    np.testing.assert_allclose(a.theta, b.theta, atol=1e-14)
    x = ffnn.Input(8)
    h = ffnn.Dense(8)(x)
    skip = ffnn.Network(x, ffnn.Dense(2)(ffnn.Add()(h, x)), dtype="float64")
    with pytest.raises(FFNNError, match="sparse X can only feed Dense"):
        skip.forward(X)
    with pytest.raises(FFNNError, match="NaN"):
        bad = X.copy()
        bad.data[0] = np.nan
        ffnn.fit(a, bad, y, "cross_entropy", progress=False)
