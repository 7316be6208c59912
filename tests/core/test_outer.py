"""The per-example outer-product store: the compiled non-temporal loop against NumPy's einsum."""

import numpy as np
import pytest

import ffnn
import ffnn.core.outer as outer
from ffnn.core.outer import outer_rows
from ffnn.lab.jacobian import per_example_gradients

needs_numba = pytest.mark.skipif(not outer.compiled(), reason="Numba is not installed")


def reference(g, x, s):
    R = np.einsum("ni,nj->nij", g, x)
    if s != 1.0:
        R *= s
    return R


SHAPES = [  # (m, n_out, n_in, offset of the block in its row, s)
    (5, 7, 13, 1, 1.0),  # rows that start off a 32-byte boundary, n_in not a multiple of V
    (3, 1, 1, 0, 0.5),  # fewer numbers than one vector
    (4, 33, 9, 3, 0.37),  # every vector but a few across a row's end
    (2, 8, 8, 2, 1.0),
    (6, 3, 5, 0, 2.0),
    (16, 64, 40, 5, 0.1),
    (1, 2, 16, 7, 1.0),
]


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m, n_o, n_i, off, s", SHAPES)
def test_compiled_store_equals_einsum_bits_and_leaves_the_rest(dtype, m, n_o, n_i, off, s):
    rng = np.random.default_rng(m * 100 + n_i)
    p = off + n_o * n_i + 11
    out = np.full((m, p), np.nan, dtype)
    block = out[:, off : off + n_o * n_i].reshape(m, n_o, n_i)
    g = rng.standard_normal((m, n_o)).astype(dtype)
    x = rng.standard_normal((m, n_i)).astype(dtype)
    outer_rows(g, x, s, block, fast=True)
    np.testing.assert_array_equal(block, reference(g, x, s))
    assert np.isnan(out[:, :off]).all() and np.isnan(out[:, off + n_o * n_i :]).all()


@needs_numba
def test_compiled_store_takes_strided_messages_and_inputs():
    rng = np.random.default_rng(3)
    g = rng.standard_normal((6, 20)).astype(np.float32)[:, ::2]  # (6, 10), not contiguous
    x = np.asfortranarray(rng.standard_normal((6, 12)).astype(np.float32))
    out = np.empty((6, 10, 12), np.float32)
    outer_rows(g, x, 1.0, out, fast=True)
    np.testing.assert_array_equal(out, reference(g, x, 1.0))


def test_blocks_it_cannot_take_go_to_numpy(monkeypatch):
    """Non-contiguous rows, mixed dtypes, small blocks (fast=None) and fast=False: einsum."""
    monkeypatch.setattr(outer, "_kernel", lambda: pytest.fail("the compiled loop ran"))
    rng = np.random.default_rng(4)
    g = rng.standard_normal((3, 4)).astype(np.float32)
    x = rng.standard_normal((3, 5)).astype(np.float32)
    transposed = np.empty((3, 5, 4), np.float32).transpose(0, 2, 1)
    outer_rows(g, x, 0.5, transposed, fast=True)
    np.testing.assert_array_equal(transposed, reference(g, x, 0.5))
    wide = np.empty((3, 4, 5), np.float64)
    outer_rows(g, x, 1.0, wide, fast=True)
    np.testing.assert_array_equal(wide, np.einsum("ni,nj->nij", g, x, out=np.empty_like(wide)))
    for fast in (None, False):
        out = np.empty((3, 4, 5), np.float32)
        outer_rows(g, x, 2.0, out, fast=fast)
        np.testing.assert_array_equal(out, reference(g, x, 2.0))


@needs_numba
@pytest.mark.parametrize("param", ["standard", "ntk"])
def test_per_example_gradients_are_the_same_bits_either_way(monkeypatch, param):
    """A network whose blocks pass MIN_BYTES (lowered here): the compiled store gives NumPy's
    bits, and the rows still average to the batch gradient."""
    init = ffnn.Init(C_b=0.1, parameterization=param)  # NTK: s_W = 1/√n_in ≠ 1
    net = ffnn.mlp([9, 31, 17, 2], "tanh", rng=0, init=init)
    rng = np.random.default_rng(5)
    X = rng.standard_normal((13, 9)).astype(np.float32)
    Y = rng.standard_normal((13, 2)).astype(np.float32)
    monkeypatch.setattr(outer, "MIN_BYTES", 1)
    fast = per_example_gradients(net, X, Y, "mse")
    monkeypatch.setattr(outer, "MIN_BYTES", 1 << 62)
    slow = per_example_gradients(net, X, Y, "mse")
    np.testing.assert_array_equal(fast, slow)
    _, grad = net.loss_and_grad(X, Y, "mse")
    np.testing.assert_allclose(fast.mean(axis=0), grad, rtol=1e-4, atol=1e-6)
