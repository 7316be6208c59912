"""fit's input checks (ffnn.train.data): X with a NaN or an infinity anywhere is refused with the
reason; finite X is not, even where its row sums would overflow."""

import numpy as np
import pytest

import ffnn
from ffnn.errors import FFNNError
from ffnn.train.data import _all_finite


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, "inf and -inf"])
@pytest.mark.parametrize("where", [(0, 0), (599, 6), (300, 3)])
def test_a_non_finite_entry_anywhere_is_found(dtype, bad, where):
    A = np.random.default_rng(0).standard_normal((600, 7)).astype(dtype)
    if bad == "inf and -inf":  # the row sum is NaN, not inf
        A[where[0], :2] = (np.inf, -np.inf)
    else:
        A[where] = bad
    assert not _all_finite(A)
    assert not _all_finite(np.asfortranarray(A))  # the chunked check


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_finite_rows_whose_sums_overflow_pass(dtype):
    big = np.finfo(dtype).max / 2
    A = np.full((50, 8), big, dtype)  # each row sums to 4x the largest finite value
    assert _all_finite(A)
    assert _all_finite(np.zeros((0, 3), dtype)) and _all_finite(np.arange(12).reshape(3, 4))


def test_fit_refuses_x_with_a_nan_and_says_why():
    X = np.random.default_rng(0).standard_normal((40, 2)).astype(np.float32)
    X[17, 1] = np.nan
    net = ffnn.mlp([2, 4, 1], rng=0)
    before = net.theta.copy()
    with pytest.raises(FFNNError, match="contains NaN or infinite values"):
        ffnn.fit(net, X, np.zeros((40, 1)), epochs=1, progress=False)
    np.testing.assert_array_equal(net.theta, before)  # nothing trained


def test_fit_says_when_x_is_beyond_the_networks_dtype():
    X = np.ones((10, 2))
    X[3, 0] = 1e300  # finite in float64, inf in float32
    with pytest.raises(FFNNError, match="beyond the range of the network's dtype"):
        ffnn.fit(ffnn.mlp([2, 4, 1], rng=0), X, np.zeros((10, 1)), epochs=1, progress=False)
