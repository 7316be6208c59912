import numpy as np
import pytest

from ffnn.data import piecewise, piecewise_f, sine, spirals, xor
from ffnn.errors import FFNNError


def test_piecewise_f_kinks_of_lecture_11():
    x = np.array([0.0, 3.0, 7.0, 11.0, 14.0])
    assert np.allclose(piecewise_f(x), [0, 0, 4, 0, 3])
    ds = piecewise(n=100, noise=0.0)
    assert np.allclose(ds.y, piecewise_f(ds.X[:, 0]))


def test_sine_noise_free_matches_function():
    ds = sine(n=64, noise=0.0, rng=2)
    assert np.allclose(ds.y, np.sin(2 * np.pi * ds.X[:, 0]))


def test_spirals_classes_balanced():
    ds = spirals(n=90, classes=3)
    assert ds.classes == [0, 1, 2] and np.bincount(ds.y).tolist() == [30, 30, 30]


def test_xor_labels_are_sign_products_without_noise():
    ds = xor(n=200, noise=0.0)
    assert np.array_equal(ds.y, (ds.X[:, 0] * ds.X[:, 1] < 0).astype(int))


def test_bad_sizes():
    with pytest.raises(FFNNError, match="n >= 2"):
        sine(n=1)
    with pytest.raises(FFNNError, match="noise"):
        xor(noise=-1.0)


def test_n_beyond_the_memory_limit_is_refused_before_allocating(monkeypatch):
    monkeypatch.setenv("FFNN_MAX_BYTES", "1G")
    with pytest.raises(
        FFNNError, match=r"n=2,000,000,000 examples needs 178\.8 GiB.*choose a smaller n"
    ):
        spirals(2 * 10**9)
    with pytest.raises(FFNNError, match="n >= 2"):
        sine(True)
    assert sine(1000).n == 1000
