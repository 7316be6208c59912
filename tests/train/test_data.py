"""ffnn.train.data: fit's input checks (X with a NaN or an infinity anywhere is refused with the
reason; finite X is not, even where its row sums would overflow), and the evaluations in
chunks of rows, on one thread or several (the same bits)."""

import threading

import numpy as np
import pytest

import ffnn
from ffnn.errors import FFNNError
from ffnn.train import data
from ffnn.train.data import EVAL_CHUNK, EVAL_MIN_ROWS, EVAL_PARTS, _all_finite, eval_chunks


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


# --- evaluations in chunks of rows, on threads ---------------------------------------------------
@pytest.mark.parametrize("n", [0, 1, 1023, 1024, 8192 * 4, 8192 * 4 + 1, 100_000])
def test_evaluation_chunks_cover_the_rows_evenly_and_depend_on_n_alone(n):
    chunks = eval_chunks(n)
    assert [a for a, _ in chunks[1:]] == [b for _, b in chunks[:-1]]  # contiguous
    assert (chunks[0][0], chunks[-1][1]) == (0, n) if n else chunks == []
    sizes = [b - a for a, b in chunks]
    assert not sizes or (max(sizes) <= EVAL_CHUNK and max(sizes) - min(sizes) <= 1)
    if n >= EVAL_MIN_ROWS:
        assert len(chunks) % EVAL_PARTS == 0


def _eval_case(weighted: bool, rows: bool):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3000, 6)).astype(np.float32)
    Y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 3000)]
    net = ffnn.mlp([6, 16, 3], "tanh", output="softmax", rng=0)
    w = rng.uniform(0.5, 2, 3000) if weighted else None
    idx = rng.permutation(3000)[:2500] if rows else None
    return net, ffnn.get_loss("cross_entropy"), X, Y, idx, w


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("rows", [False, True])
def test_an_evaluation_on_threads_gives_the_bits_of_one_thread(monkeypatch, weighted, rows):
    monkeypatch.setattr(data, "EVAL_THREAD_WORK", 0)  # every chunk worth a thread
    net, loss, X, Y, idx, w = _eval_case(weighted, rows)
    names, one = set(), net.z_out

    def z_out(A):
        names.add(threading.current_thread().name)
        return one(A)

    monkeypatch.setattr(net, "z_out", z_out)
    L1, f1 = data.evaluate(net, loss, X, Y, True, idx, w)
    assert names == {threading.main_thread().name}
    names.clear()
    L2, f2 = data.evaluate(net, loss, X, Y, True, idx, w, threads=2)
    assert L2 == L1
    np.testing.assert_array_equal(f2, f1)
    assert len(names) == 2 and all(n.startswith("ffnn-eval") for n in names)
    # and the loss is the (weighted) mean over the rows, as one pass over all of them gives it
    Xr, Yr = (X, Y) if idx is None else (X[idx], Y[idx])
    per = ffnn.train.weights.per_example(loss, one(Xr), Yr, net.output)
    wr = np.ones(len(Xr)) if w is None else (w if idx is None else w[idx])
    assert L1 == pytest.approx(float(per @ wr / wr.sum()), rel=1e-5)


def test_small_chunks_stay_on_the_calling_thread(monkeypatch):
    net, loss, X, Y, _, _ = _eval_case(False, False)  # 3000 rows x 163 parameters: too little
    names, one = set(), net.z_out
    monkeypatch.setattr(
        net, "z_out", lambda A: names.add(threading.current_thread().name) or one(A)
    )
    data.evaluate(net, loss, X, Y, False, threads=2)
    assert names == {threading.main_thread().name}


def test_an_error_in_a_threaded_chunk_reaches_the_caller(monkeypatch):
    monkeypatch.setattr(data, "EVAL_THREAD_WORK", 0)
    net, loss, X, Y, _, _ = _eval_case(False, False)
    one = net.z_out

    def z_out(A):
        if threading.current_thread() is not threading.main_thread() and len(A) < 751:
            raise FFNNError("a chunk failed")
        return one(A)

    monkeypatch.setattr(net, "z_out", z_out)
    with pytest.raises(FFNNError, match="a chunk failed"):
        data.evaluate(net, loss, X, Y, False, threads=2)


def test_fit_evaluates_on_the_cores_where_blas_is_held_at_one_thread(monkeypatch):
    """The NumPy path of a small network ("auto": BLAS on one thread) hands the cores to its
    validation passes; threads=1 keeps them on the calling thread, threads=2 leaves them to
    BLAS's two threads."""
    seen, evaluate = [], ffnn.train.loop._evaluate

    def spy(*args, **kw):
        seen.append(kw.get("threads"))
        return evaluate(*args, **kw)

    monkeypatch.setattr(ffnn.train.loop, "_evaluate", spy)
    X = np.random.default_rng(0).standard_normal((60, 3))
    cores = ffnn.train.threads.split_threads("auto", 100)
    for threads, want in (("auto", cores), (1, 1), (2, 1)):
        seen.clear()
        ffnn.fit(ffnn.mlp([3, 4, 1], rng=0), X, X[:, :1], epochs=2, validation=0.25,
                 threads=threads, compiled=False, progress=False)  # fmt: skip
        assert seen == [want, want]


def test_a_network_with_a_users_layer_evaluates_on_the_calling_thread(monkeypatch):
    """A user's layer may keep state between calls: its network is never run on two threads."""
    from ffnn.core.graph import Input, Network
    from ffnn.core.layers import Act, Dense, Layer

    class Halve(Layer):  # a user's layer with no parameters: y = x / 2
        kind = "halve"
        param_names = ()

        def bind(self, dims):
            return self._need_one(dims)

        @property
        def shapes(self):
            return ()

        def forward(self, P, xs, out=None):
            return np.multiply(xs[0], 0.5, out=out), None

    monkeypatch.setattr(data, "EVAL_THREAD_WORK", 0)
    x = Input(6)
    net = Network(x, Dense(3)(Halve()(Act("tanh")(Dense(16)(x)))), rng=0, output="softmax")
    own = ffnn.mlp([6, 16, 3], "tanh", output="softmax", rng=0)
    assert own.own_layers and not net.own_layers
    _, loss, X, Y, _, _ = _eval_case(False, False)
    names, one = set(), net.z_out
    spy = lambda A: names.add(threading.current_thread().name) or one(A)  # noqa: E731
    monkeypatch.setattr(net, "z_out", spy)
    data.evaluate(net, loss, X, Y, False, threads=2)
    assert names == {threading.main_thread().name}
