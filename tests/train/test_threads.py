"""BLAS threads for training: the automatic choice, the context, and fit's threads=."""

import numpy as np
import pytest
from threadpoolctl import threadpool_info

import ffnn
from ffnn.errors import FFNNError
from ffnn.train import fit
from ffnn.train.threads import AUTO_ONE_THREAD_BELOW, blas_threads, choose_threads, split_threads


def _blas_counts():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def test_auto_is_one_thread_for_small_networks_and_the_default_for_large():
    assert choose_threads(None, 1000) == 1
    assert choose_threads("auto", AUTO_ONE_THREAD_BELOW - 1) == 1
    assert choose_threads("auto", AUTO_ONE_THREAD_BELOW) is None
    assert choose_threads(3, 10) == 3 and choose_threads("2", 10**7) == 2


def test_auto_splits_a_compiled_run_among_the_cores_below_a_million_parameters():
    import os

    cores = len(os.sched_getaffinity(0))
    assert split_threads(None, 1000) == cores == split_threads("auto", AUTO_ONE_THREAD_BELOW - 1)
    assert split_threads("auto", AUTO_ONE_THREAD_BELOW) == cores  # split by units
    assert split_threads(3, 10) == 3 and split_threads("2", 10**7) == 2
    with pytest.raises(FFNNError, match="threads"):
        split_threads(0, 10)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "many", True])
def test_a_wrong_thread_count_is_refused(bad):
    with pytest.raises(FFNNError, match="threads"):
        choose_threads(bad, 10)


def test_the_context_limits_blas_and_restores_it():
    before = _blas_counts()
    with blas_threads("auto", 10) as n:
        assert n == 1 and all(c == 1 for c in _blas_counts())
    assert _blas_counts() == before
    with blas_threads(None, 10**7) as n:
        assert n is None and _blas_counts() == before


def test_fit_trains_under_the_chosen_threads():
    seen = []
    X = np.random.default_rng(0).standard_normal((40, 2))
    y = X[:, :1]
    net = ffnn.mlp([2, 4, 1], rng=0)
    fit(net, X, y, epochs=2, progress=False, callbacks=[lambda *a: seen.append(_blas_counts())])
    assert seen and all(c == 1 for counts in seen for c in counts)
    with pytest.raises(FFNNError, match="threads"):
        fit(net, X, y, epochs=1, progress=False, threads=0)
