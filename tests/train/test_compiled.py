"""The compiled epoch (Numba) against the NumPy step loop, the reference: the same run to float32
rounding (float64: to 1e-9), the runs it refuses, divergence, and Ctrl-C-style stops."""

import numpy as np
import pytest

import ffnn
from ffnn.errors import FFNNError
from ffnn.train import compiled as C
from ffnn.train import fit, rows

pytest.importorskip("numba")

CASES = [  # widths, activations, output, loss, batch, validation, shuffle
    ([1, 16, 16, 1], "relu", "identity", "mse", 16, None, True),
    ([3, 12, 8, 4], ["tanh", "sigmoid"], "softmax", "cross_entropy", 7, 0.25, True),
    ([2, 9, 3], "identity", "identity", "mse", 10, None, False),
    ([5, 6, 6, 6, 2], ["relu", "tanh", "relu"], "softmax", "cross_entropy", None, None, True),
    ([20, 64, 48, 3], "relu", "softmax", "cross_entropy", 32, None, True),  # products to BLAS
]


def _data(widths, output, n=90, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, widths[0]))
    if output == "softmax":
        return X, rng.integers(0, widths[-1], n)
    return X, np.sin(X[:, :1] * 2 + X[:, -1:]) @ np.ones((1, widths[-1]))


def _run(case, compiled, dtype, epochs=12, threads=None, n=90):
    widths, act, output, loss, bs, val, shuffle = case
    X, y = _data(widths, output, n=n)
    net = ffnn.mlp(widths, act, output=output, rng=1, dtype=dtype)
    h = fit(net, X.astype(dtype), y, loss, lr=0.1, batch_size=bs, epochs=epochs, validation=val,
            shuffle=shuffle, progress=False, compiled=compiled, rng=3, threads=threads)  # fmt: skip
    return net.theta.copy(), h


@pytest.mark.parametrize("case", CASES)
def test_a_whole_run_agrees_with_the_numpy_path(case):
    for dtype, rtol in ((np.float32, 2e-4), (np.float64, 1e-9)):
        theta_np, h_np = _run(case, False, dtype)
        theta_c, h_c = _run(case, True, dtype)
        scale = np.abs(theta_np).max()
        np.testing.assert_allclose(theta_c, theta_np, rtol=rtol, atol=rtol * scale)
        np.testing.assert_allclose(h_c["train_loss"], h_np["train_loss"], rtol=10 * rtol)
        np.testing.assert_allclose(h_c["grad_norm"], h_np["grad_norm"], rtol=10 * rtol)
        assert h_c["step"] == h_np["step"]
        assert not np.array_equal(theta_np, _run(case, False, dtype, epochs=1)[0])  # it trained


def test_fit_takes_the_compiled_path_by_itself_for_a_small_supported_run():
    net = ffnn.mlp([2, 8, 1], "tanh", rng=0)
    X, y = _data([2, 8, 1], "identity")
    trainer = _trainer_of(net, X, y, None)
    assert isinstance(trainer.compiled, C.Epochs)
    assert _trainer_of(net, X, y, False).compiled is None
    assert _trainer_of(net, X, y, None, optimizer="adam").compiled is None


def _trainer_of(net, X, y, compiled, optimizer="sgd"):
    from ffnn.train.step import Batches, Trainer

    loss = ffnn.get_loss("mse")
    opt = ffnn.train.get_optimizer(optimizer, 0.1)
    Y = y.astype(net.dtype)
    trainer = Trainer(net, loss, opt, Batches(net, X.astype(net.dtype), Y, 8))
    trainer.use_compiled(compiled)
    return trainer


@pytest.mark.parametrize(
    "build, kw, reason",
    [
        (lambda: ffnn.mlp([2, 4, 1], "relu", rng=0), {"optimizer": "adam"}, "plain SGD"),
        (
            lambda: ffnn.mlp([2, 4, 1], "relu", rng=0),
            {"momentum": 0.9, "optimizer": "momentum"},
            "plain SGD",
        ),  # fmt: skip
        (lambda: ffnn.mlp([2, 4, 1], "leaky_relu", rng=0), {}, "leaky_relu"),
        (lambda: ffnn.mlp([2, 4, 1], "relu", rng=0), {"loss": "mae"}, "loss 'mae'"),
    ],
)
def test_unsupported_runs_are_refused_with_the_reason(build, kw, reason):
    X, y = _data([2, 4, 1], "identity")
    kw = {"loss": "mse", **kw}
    with pytest.raises(FFNNError, match=reason):
        fit(build(), X, y, epochs=1, progress=False, compiled=True, **kw)
    fit(build(), X, y, epochs=1, progress=False, **kw)  # None: the NumPy path, silently


def test_a_dag_is_refused():
    from ffnn.core.graph import Network
    from ffnn.core.layers import Act, Add, Dense, Input

    x = Input(2)
    h = Act("relu")(Dense(4)(x))
    out = Dense(1)(Add()(h, Act("tanh")(Dense(4)(x))))
    net = Network(x, out, rng=0)
    assert "chain" in C.plan(net, ffnn.get_loss("mse"), ffnn.train.get_optimizer("sgd", 0.1),
                             _trainer_of(ffnn.mlp([2, 4, 1], rng=0), *_data([2, 4, 1],
                                         "identity"), False).batches)  # fmt: skip


def test_divergence_keeps_finite_parameters_like_the_numpy_path():
    X, y = _data([2, 16, 1], "identity", n=64)
    results = []
    for compiled in (False, True):
        net = ffnn.mlp([2, 16, 1], "relu", rng=0)
        with pytest.warns(RuntimeWarning, match="diverged"):
            h = fit(net, X, 100 * y, lr=50.0, epochs=50, progress=False, compiled=compiled)
        assert h.diverged and np.all(np.isfinite(net.theta))
        L, _ = net.loss_and_grad(X, 100 * y, "mse")
        assert np.isfinite(L)
        results.append(h.stop_reason.split(":")[0])
    assert results[0] == results[1]  # the same epoch and step


def test_a_stop_between_chunks_resumes_to_the_same_bits(monkeypatch):
    """The compiled steps run in chunks with the stop flag read between them; stopping after a
    chunk and going on gives the bits of the run that never stopped."""
    from ffnn.train import step as step_mod

    monkeypatch.setattr(step_mod, "CHUNK", 3)
    X, y = _data([2, 8, 1], "identity", n=80)
    a = ffnn.mlp([2, 8, 1], "tanh", rng=0)
    ta = _trainer_of(a, X, y, True)
    ta.epoch(1, np.random.default_rng(5))
    b = ffnn.mlp([2, 8, 1], "tanh", rng=0)
    tb = _trainer_of(b, X, y, True)

    class StopOnce:
        checks = 0

        @property
        def hit(self):
            self.checks += 1
            return self.checks == 3  # after two chunks

    assert not tb.epoch(1, np.random.default_rng(5), stop=StopOnce())
    assert tb.pos == 6
    assert tb.epoch(1, np.random.default_rng(99))  # the order drawn before is kept
    np.testing.assert_array_equal(a.theta, b.theta)
    assert ta.record(1) == tb.record(1)


def test_with_a_progress_display_runs_last_about_report_s_and_give_the_same_bits(monkeypatch):
    """With a progress display the compiled runs are cut by time (REPORT_S at the last run's
    pace, at FAST_FLOPS before the first) instead of every ``tick`` steps; each reports at its
    end, and the bits are those of the run without a display."""
    from ffnn.train import step as step_mod

    X, y = _data([2, 8, 1], "identity", n=400)  # 50 steps of 8

    class Progress:  # what fit's bar offers the trainer: every, and calls (running loss, step)
        every = 4

        def __init__(self):
            self.calls = []

        def __call__(self, loss, s):
            self.calls.append((loss, s))

    a, b = ffnn.mlp([2, 8, 1], "tanh", rng=0), ffnn.mlp([2, 8, 1], "tanh", rng=0)
    ta, tb = _trainer_of(a, X, y, True), _trainer_of(b, X, y, True)
    assert ta.epoch(1, np.random.default_rng(5))
    bar = Progress()
    assert tb.epoch(1, np.random.default_rng(5), progress=bar)
    np.testing.assert_array_equal(a.theta, b.theta)
    assert ta.record(1) == tb.record(1)
    assert bar.calls == [(pytest.approx(tb.loss_sum / 400), 50)]  # one run: a tiny network
    # run lengths: CHUNK without a display; REPORT_S of steps at FAST_FLOPS before a run was
    # timed, then at the last run's pace
    assert tb._run_steps(0) == step_mod.CHUNK
    monkeypatch.setattr(step_mod, "FAST_FLOPS", 6.0 * b.theta.size * 8 * 5 / step_mod.REPORT_S)
    fresh = _trainer_of(ffnn.mlp([2, 8, 1], "tanh", rng=0), X, y, True)
    assert fresh._run_steps(4) == 5  # a guessed pace of REPORT_S / 5 a step
    bar = Progress()
    assert fresh.epoch(1, np.random.default_rng(5), progress=bar)
    np.testing.assert_array_equal(fresh.theta, b.theta)
    steps = [s for _, s in bar.calls]
    assert steps[0] == 5 and steps[-1] == 50 and steps == sorted(set(steps))
    tb._step_s = step_mod.REPORT_S / 7
    assert tb._run_steps(4) == 7
    tb._step_s = 10.0  # a step slower than REPORT_S: one step a run
    assert tb._run_steps(4) == 1
    tb._step_s = 1e-12
    assert tb._run_steps(4) == step_mod.CHUNK  # the stop flag is still read every CHUNK steps
    trainer_np = _trainer_of(ffnn.mlp([2, 8, 1], "tanh", rng=0), X, y, False)
    bar_np = Progress()
    assert trainer_np.epoch(1, np.random.default_rng(5), progress=bar_np)
    assert [s for _, s in bar_np.calls] == list(range(4, 51, 4))  # the NumPy path: every tick


def test_sample_weights_take_the_numpy_path():
    X, y = _data([2, 4, 1], "identity")
    w = np.linspace(0.5, 2.0, X.shape[0])
    with pytest.raises(FFNNError, match="sample weights"):
        fit(ffnn.mlp([2, 4, 1], rng=0), X, y, epochs=1, progress=False, compiled=True,
            sample_weight=w)  # fmt: skip
    a, b = ffnn.mlp([2, 4, 1], rng=0), ffnn.mlp([2, 4, 1], rng=0)
    fit(a, X, y, epochs=2, progress=False, sample_weight=w)
    fit(b, X, y, epochs=2, progress=False, sample_weight=w, compiled=False)
    np.testing.assert_array_equal(a.theta, b.theta)


@pytest.mark.parametrize("chunk", [3, 4, 256])
def test_prev_is_theta_before_the_last_step(monkeypatch, chunk):
    """θ and θ_prev are two buffers used in turn: after chunks of odd and even lengths, theta
    holds the last θ and prev the one before, as in the NumPy step loop."""
    from ffnn.train import step as step_mod

    monkeypatch.setattr(step_mod, "CHUNK", chunk)
    X, y = _data([2, 8, 1], "identity", n=70)  # 7 steps of 10
    got = []
    for compiled in (False, True):
        net = ffnn.mlp([2, 8, 1], "tanh", rng=0, dtype=np.float64)
        tr = _trainer_of(net, X, y, compiled)
        assert tr.epoch(1, np.random.default_rng(5))
        assert tr.theta is net.theta  # the network's own buffer holds the last θ
        got.append((net.theta.copy(), tr.prev.copy()))
    np.testing.assert_allclose(got[1][0], got[0][0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got[1][1], got[0][1], rtol=1e-12, atol=1e-14)
    assert not np.array_equal(got[1][0], got[1][1])


def test_the_ntk_parameterization_is_refused():
    from ffnn.core.init import Init

    net = ffnn.mlp([2, 8, 1], "tanh", rng=0, init=Init(parameterization="ntk"))
    X, y = _data([2, 8, 1], "identity")
    assert _trainer_of(net, X, y, None).compiled is None  # the NumPy path, with the scales
    with pytest.raises(FFNNError, match="NTK parameterization"):
        _trainer_of(net, X, y, True)


def test_the_products_go_to_numpys_blas_or_else_np_dot(monkeypatch):
    """The kernels call NumPy's own cblas gemm where its OpenBLAS has one (one thread pool with
    the rest of ffnn), and np.dot (SciPy's BLAS, through Numba) otherwise: the same run."""
    from threadpoolctl import threadpool_info

    if any("numpy" in i.get("filepath", "") for i in threadpool_info() if i.get("internal_api")
           == "openblas"):  # fmt: skip
        assert C.numpy_gemm(np.float32) is not None and C.numpy_gemm(np.float64) is not None
    case = CASES[-1]
    monkeypatch.setenv(C.BLAS_ENV, "openblas")  # (where MKL is installed the kernels prefer it)
    theta_np, _ = _run(case, False, np.float64)
    monkeypatch.setattr(C, "numpy_gemm", lambda dtype: None)
    assert C.kernel_gemm(np.float64) == (None, "np.dot")
    theta_dot, _ = _run(case, True, np.float64)
    np.testing.assert_allclose(theta_dot, theta_np, rtol=1e-9, atol=1e-9 * np.abs(theta_np).max())


def _mkl_or_skip():
    from ffnn.core.blas import mkl_gemm_fn

    if mkl_gemm_fn(np.float32) is None:
        pytest.skip("MKL is not installed (pip install mkl), or runs another threading layer")


@pytest.mark.parametrize(("blas", "intel"), [("mkl", False), ("openblas", True), ("", True),
                                             ("", False)])  # fmt: skip
def test_the_products_go_to_mkl_on_intel_cpus_unless_told(monkeypatch, blas, intel):
    """FFNN_BLAS picks the kernels' gemm — unset: MKL on an Intel CPU where the mkl package is
    installed, OpenBLAS on others — and every choice trains the run the NumPy path trains,
    float32 and float64."""
    from ffnn.core import blas as _blas

    if blas == "mkl" or (blas == "" and intel):
        _mkl_or_skip()
    monkeypatch.setenv(C.BLAS_ENV, blas)
    monkeypatch.setattr(_blas, "intel_cpu", lambda: intel)
    case = CASES[-1]  # products large enough for BLAS
    from threadpoolctl import threadpool_limits

    X, y = _data([2, 8, 1], "identity")
    tr = _trainer_of(ffnn.mlp([2, 8, 1], "tanh", rng=0), X, y, True)
    with threadpool_limits(1):  # (unset, MKL takes the products that run on one thread)
        assert tr.epoch(1, np.random.default_rng(0))
    assert tr.compiled.blas == (blas or ("mkl" if intel else "openblas"))
    for dtype, rtol in ((np.float32, 2e-4), (np.float64, 1e-9)):
        theta_np, _ = _run(case, False, dtype)
        theta_c, _ = _run(case, True, dtype)
        np.testing.assert_allclose(theta_c, theta_np, rtol=rtol, atol=rtol * np.abs(theta_np).max())


def test_a_run_split_between_two_threads_calls_mkl_and_agrees(two_threads, monkeypatch):
    _mkl_or_skip()
    monkeypatch.setenv(C.BLAS_ENV, "mkl")
    case = CASES[-1]
    theta_np, _ = _run(case, False, np.float32, epochs=4, threads=2)
    theta_c, _ = _run(case, True, np.float32, epochs=4, threads=2)
    np.testing.assert_allclose(theta_c, theta_np, rtol=2e-4, atol=2e-4 * np.abs(theta_np).max())
    assert 2 in two_threads


def test_a_wrong_ffnn_blas_or_a_missing_mkl_is_a_clear_error(monkeypatch):
    from ffnn.core import blas

    case = CASES[-1]
    monkeypatch.setenv(C.BLAS_ENV, "cuda")
    with pytest.raises(FFNNError, match="FFNN_BLAS='cuda': choose mkl or openblas"):
        _run(case, True, np.float32, epochs=1)
    monkeypatch.setenv(C.BLAS_ENV, "mkl")
    monkeypatch.setattr(blas, "mkl_gemm_fn", lambda dtype, threads=1: None)
    with pytest.raises(FFNNError, match=r'MKL is not installed .*pip install "ffnn\[mkl\]"'):
        _run(case, True, np.float32, epochs=1)


# --- the batch split among threads (ffnn.train.rows) ---------------------------------------------
@pytest.fixture(params=["rows", "units"])
def two_threads(monkeypatch, request):
    """Even the tests' small networks split their steps between two threads — by examples
    (rows), or by units as large networks do (ffnn.train.units); yields the thread counts the
    runs used."""
    monkeypatch.setattr(rows, "MIN_WORK", 0)
    monkeypatch.setattr(rows, "MIN_ROWS", 1)
    if request.param == "units":
        monkeypatch.setattr(rows, "ROWS_BELOW", 0)  # every network is a large one
    if rows.split_of(2, 1000, 64)[0] < 2 or C.numpy_gemm(np.float32) is None:
        pytest.skip("one core, or no NumPy BLAS to set to one thread")
    used, run = _Used(), C.Epochs.run
    used.how = request.param

    def spy(self, *args):
        out = run(self, *args)
        assert self.how == request.param or self.shares == 1
        used.append(self.shares)
        return out

    monkeypatch.setattr(C.Epochs, "run", spy)
    return used


class _Used(list):
    how = "rows"


@pytest.mark.parametrize("case", CASES)
def test_a_run_split_between_two_threads_agrees_with_the_numpy_path(two_threads, case):
    for dtype, rtol in ((np.float32, 2e-4), (np.float64, 1e-9)):
        theta_np, h_np = _run(case, False, dtype)
        theta_c, h_c = _run(case, True, dtype, threads=2)
        scale = np.abs(theta_np).max()
        np.testing.assert_allclose(theta_c, theta_np, rtol=rtol, atol=rtol * scale)
        np.testing.assert_allclose(h_c["train_loss"], h_np["train_loss"], rtol=10 * rtol)
        np.testing.assert_allclose(h_c["grad_norm"], h_np["grad_norm"], rtol=10 * rtol)
        assert h_c["step"] == h_np["step"]
    assert set(two_threads) == {2}  # validation too: its passes on threads of their own


def test_a_last_batch_of_one_example_leaves_a_thread_without_work(two_threads):
    case = ([3, 12, 8, 4], "tanh", "softmax", "cross_entropy", 10, None, True)  # 91 = 9·10 + 1
    theta_np, h_np = _run(case, False, np.float64, n=91)
    theta_c, h_c = _run(case, True, np.float64, threads=2, n=91)
    np.testing.assert_allclose(theta_c, theta_np, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(h_c["train_loss"], h_np["train_loss"], rtol=1e-8)
    assert set(two_threads) == {2}


def test_two_threads_diverge_like_the_numpy_path(two_threads):
    X, y = _data([2, 16, 1], "identity", n=64)
    results = []
    for compiled, threads in ((False, 1), (True, 2)):
        net = ffnn.mlp([2, 16, 1], "relu", rng=0)
        with pytest.warns(RuntimeWarning, match="diverged"):
            h = fit(net, X, 100 * y, lr=50.0, epochs=50, progress=False, compiled=compiled,
                    threads=threads)  # fmt: skip
        assert h.diverged and np.all(np.isfinite(net.theta))
        results.append(h.stop_reason.split(":")[0])
    assert results[0] == results[1]
    assert set(two_threads) == {2}


def _refuse_a_gradient():
    """Inputs of 1e22 through identity layers and a last W of 1e-5: the outputs (< 1e18) and so
    the loss are finite, the float32 gradient of that W (terms δ h ~ 1e39) is not. The step is
    refused as in the NumPy path: θ as before it, prev a copy of θ."""
    X = 1e22 * np.random.default_rng(0).standard_normal((40, 2))
    for compiled in (False, True):
        net = ffnn.mlp([2, 8, 1], "identity", rng=0)
        net.unflatten(net.theta)[-1][0][:] = 1e-5
        tr = _trainer_of(net, X, np.zeros((40, 1)), compiled)
        before = net.theta.copy()
        with pytest.raises(ffnn.train.step.Diverged) as info:
            tr.epoch(1, np.random.default_rng(0))
        assert (info.value.what, info.value.step) == ("gradient norm", 0)
        np.testing.assert_array_equal(net.theta, before)
        np.testing.assert_array_equal(tr.prev, before)


def test_a_gradient_that_is_not_finite_is_refused():
    _refuse_a_gradient()


def test_a_gradient_that_is_not_finite_is_refused_on_two_threads(two_threads):
    _refuse_a_gradient()  # every thread refuses the step alike
    assert set(two_threads) == {2}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_finiteness_checks_see_inf_and_nan_of_sums(dtype):
    """np.isfinite in a fastmath kernel folded x − x to 0: an inf sum of two shares passed."""
    g = np.zeros((2, 10), dtype)
    assert C.finite_sum(g, 0, 10) and C.all_finite(g[0])
    for a, b in ((np.inf, 0.0), (np.nan, 1.0), (np.inf, -np.inf)):
        g[0, 7], g[1, 7] = a, b
        assert not C.finite_sum(g, 0, 10) and C.finite_sum(g, 0, 7)
        with np.errstate(invalid="ignore"):
            assert not C.finite(dtype(a) + dtype(b))
    assert not C.all_finite(g[0]) and C.finite(dtype(1e30))


@pytest.mark.parametrize("chunk", [3, 4, 256])
def test_prev_on_two_threads_is_theta_before_the_last_step(monkeypatch, two_threads, chunk):
    from ffnn.train import step as step_mod

    monkeypatch.setattr(step_mod, "CHUNK", chunk)
    X, y = _data([2, 8, 1], "identity", n=70)
    got = []
    for compiled in (False, True):
        net = ffnn.mlp([2, 8, 1], "tanh", rng=0, dtype=np.float64)
        tr = _trainer_of(net, X, y, compiled)
        assert tr.epoch(1, np.random.default_rng(5))
        got.append((net.theta.copy(), tr.prev.copy(), tr.grad.copy()))
    for a, b in zip(got[1], got[0], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    assert set(two_threads) == {2}


def test_blas_gets_its_thread_count_back_after_a_split_run(two_threads):
    get, _ = rows.blas_threads_fn(C._GEMM_LIB[0])
    before = get()
    if before < 2:
        pytest.skip("BLAS runs on one thread here")
    X, y = _data([2, 8, 1], "identity", n=40)
    tr = _trainer_of(ffnn.mlp([2, 8, 1], "tanh", rng=0), X, y, True)
    assert tr.epoch(1, np.random.default_rng(0))
    assert get() == before and two_threads == [2]


def test_fit_holds_blas_at_one_thread_while_it_splits_rows(two_threads, monkeypatch):
    """fit(threads=2) with a split run, by rows or by units: NumPy's BLAS stays at one thread
    for the whole run (no idle BLAS thread spinning into the next split run), the validation
    passes share their chunks among two threads of their own, the run is on two threads, and
    BLAS's count is as it was afterwards."""
    get, _ = rows.blas_threads_fn(C._GEMM_LIB[0])
    seen, evaluate = [], ffnn.train.loop._evaluate

    def spy(*args, **kw):
        seen.append((get(), kw.get("threads")))
        return evaluate(*args, **kw)

    monkeypatch.setattr(ffnn.train.loop, "_evaluate", spy)
    before = get()
    case = CASES[1]  # validation 0.25
    theta_np, h_np = _run(case, False, np.float64, epochs=3)
    seen.clear()
    theta_c, h_c = _run(case, True, np.float64, epochs=3, threads=2)
    np.testing.assert_allclose(theta_c, theta_np, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(h_c["val_loss"], h_np["val_loss"], rtol=1e-8)
    assert seen and set(seen) == {(1, 2)} and set(two_threads) == {2}
    assert get() == before


def test_the_first_fit_of_a_process_holds_blas_too():
    """split_rows finds NumPy's BLAS itself: in a fresh process (nothing looked it up before),
    a split fit with validation still runs its validation passes on one BLAS thread."""
    import subprocess
    import sys

    code = (
        "import numpy as np, ffnn\n"
        "from ffnn.train import compiled as C, loop, rows\n"
        "rows.MIN_WORK, rows.MIN_ROWS = 0, 1\n"
        "from threadpoolctl import threadpool_info as info\n"
        "ours = [i for i in info() if 'numpy' in i.get('filepath', '')]\n"
        "if rows.row_threads(2, 1000, 64) < 2 or not ours: raise SystemExit(0)  # nothing to test\n"
        "seen, ev = [], loop._evaluate\n"
        "def spy(*a, **k):\n"
        "    seen.append(rows.blas_threads_fn(C._GEMM_LIB[0])[0]())\n"
        "    return ev(*a, **k)\n"
        "loop._evaluate = spy\n"
        "X = np.random.default_rng(0).standard_normal((80, 3)); y = X[:, :1]\n"
        "ffnn.fit(ffnn.mlp([3, 8, 1], rng=0), X, y, epochs=2, validation=0.25, threads=2,\n"
        "         progress=False, compiled=True)\n"
        "assert seen and set(seen) == {1}, seen\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize("shares", [1, 2, 3])
def test_the_update_from_shares_is_theta_minus_eta_times_their_sum(shares):
    """sgd_update_sum on a slice: out = θ − η Σ_r g_r there, Σ g² returned, the shares unchanged
    (three shares take the general loop, which a 2-core machine never runs in fit)."""
    rng = np.random.default_rng(0)
    theta, grads = rng.standard_normal(50), rng.standard_normal((shares, 50))
    out, before = np.zeros(50), grads.copy()
    gsq = C.sgd_update_sum(theta, grads, -0.1, out, 10, 40)
    g = grads.sum(axis=0)
    np.testing.assert_allclose(out[10:40], theta[10:40] - 0.1 * g[10:40], rtol=1e-12)
    assert np.all(out[:10] == 0) and np.all(out[40:] == 0)
    assert gsq == pytest.approx(float(g[10:40] @ g[10:40]), rel=1e-12)
    np.testing.assert_array_equal(grads, before)
    grads[-1, 25] = np.inf
    assert not C.finite_sum(grads, 10, 40) and C.finite_sum(grads, 26, 40)


# --- fit's check of X, made as the compiled path gathers the rows -------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_the_gather_finds_a_non_finite_entry_of_its_rows(dtype, bad):
    X = np.random.default_rng(0).standard_normal((50, 9)).astype(dtype)
    Y = np.zeros((50, 2), dtype)
    idx = np.arange(50)[::-1].copy()
    x0, yb = np.empty((10, 9), dtype), np.empty((2, 10), dtype)
    assert C.gather(X, Y, idx, 20, x0, yb, True)
    np.testing.assert_array_equal(x0, X[idx[20:30]])
    X[idx[27], 8] = bad
    assert not C.gather(X, Y, idx, 20, x0, yb, True)
    assert C.gather(X, Y, idx, 20, x0, yb, False)  # not asked to check
    assert C.gather(X, Y, idx, 30, x0, yb, True)  # the bad row is not among these


def _checked_on_the_way(monkeypatch):
    """Fails the test if fit checks X in a pass of its own; returns the runs' check flags (and
    appends the last run's status)."""
    from ffnn.train import loop

    def no_pass(A, what):
        assert A.shape[0] < 100, "X was checked before training"  # the validation rows may be

    monkeypatch.setattr(loop, "require_finite", no_pass)
    seen, run = _Seen(), C.Epochs.run

    def spy(self, *args):
        seen.append(self.check)
        out = run(self, *args)
        seen.status = out[1]
        return out

    monkeypatch.setattr(C.Epochs, "run", spy)
    return seen


class _Seen(list):
    status = None


@pytest.mark.parametrize("row", [0, 257, 399])  # the first batch, one in the middle, the last
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_fit_refuses_a_non_finite_row_found_on_the_way_and_keeps_theta(monkeypatch, row, bad):
    seen = _checked_on_the_way(monkeypatch)
    X, y = _data([6, 16, 3], "softmax", n=400)
    X = X.astype(np.float32)
    X[row, 2] = bad
    net = ffnn.mlp([6, 16, 3], "relu", output="softmax", rng=0)
    before = net.theta.copy()
    with pytest.raises(FFNNError, match="X contains NaN or infinite values"):
        fit(net, X, y, "cross_entropy", lr=0.1, batch_size=16, epochs=3, progress=False, rng=2)
    np.testing.assert_array_equal(net.theta, before)
    assert seen and all(seen) and seen.status == 4  # found by the gather


def test_two_threads_refuse_a_non_finite_row_found_on_the_way(monkeypatch, two_threads):
    seen = _checked_on_the_way(monkeypatch)
    X, y = _data([6, 16, 3], "softmax", n=400)
    X[311, 0] = -np.inf
    net = ffnn.mlp([6, 16, 3], "relu", output="softmax", rng=0, dtype=np.float64)
    before = net.theta.copy()
    with pytest.raises(FFNNError, match="X contains NaN"):
        fit(net, X, y, "cross_entropy", lr=0.1, batch_size=16, epochs=3, progress=False,
            threads=2)  # fmt: skip
    np.testing.assert_array_equal(net.theta, before)
    assert seen and all(seen) and seen.status == 4 and set(two_threads) == {2}


def test_a_clean_run_checked_on_the_way_is_the_run_checked_before(monkeypatch):
    X, y = _data([6, 16, 3], "softmax", n=400)
    runs = []
    for on_the_way in (True, False):
        net = ffnn.mlp([6, 16, 3], "relu", output="softmax", rng=0, dtype=np.float64)
        with monkeypatch.context() as m:
            seen = _checked_on_the_way(m) if on_the_way else None
            if not on_the_way:
                m.setattr(ffnn.train.loop, "_check_entries", lambda run, validation: None)
            h = fit(net, X, y, "cross_entropy", lr=0.1, batch_size=16, epochs=3,
                    validation=0.2, progress=False)  # fmt: skip
        runs.append((net.theta.copy(), h["train_loss"], h["val_loss"]))
        if on_the_way:  # the first epoch's runs check, the later ones do not
            assert seen[0] and not seen[-1]
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    assert runs[0][1:] == runs[1][1:]


def test_validation_rows_drawn_from_x_are_checked_before_training():
    X, y = _data([6, 16, 3], "softmax", n=400)
    X[5] = np.nan  # every row once: the NaN is among the validation rows in some draws
    for seed in range(4):
        net = ffnn.mlp([6, 16, 3], "relu", output="softmax", rng=0, dtype=np.float64)
        before = net.theta.copy()
        with pytest.raises(FFNNError, match="X contains NaN"):
            fit(net, X, y, "cross_entropy", batch_size=16, epochs=2, validation=0.3, rng=seed,
                progress=False)  # fmt: skip
        np.testing.assert_array_equal(net.theta, before)


def test_a_first_epoch_that_diverges_early_still_reports_the_bad_row(monkeypatch):
    """A run that diverges at its first step never gathers the bad row: X is checked whole
    then, and fit refuses it as the check before training would have (no divergence warning)."""
    seen = _checked_on_the_way(monkeypatch)
    X, y = _data([2, 16, 1], "identity", n=640)
    X[630, 1] = np.nan
    net = ffnn.mlp([2, 16, 1], "relu", rng=0, dtype=np.float64)
    before = net.theta.copy()
    with pytest.raises(FFNNError, match="X contains NaN"):
        fit(net, X, 1e200 * y, lr=1e200, epochs=5, progress=False, shuffle=False)
    np.testing.assert_array_equal(net.theta, before)
    assert seen == [True]


def test_an_epoch_stopped_early_checks_the_rest_of_x(monkeypatch):
    from ffnn.train import step as step_mod

    monkeypatch.setattr(step_mod, "CHUNK", 3)
    from ffnn.train.step import Batches, Trainer

    X, y = _data([2, 8, 1], "identity", n=80)
    X[79, 0] = np.inf  # in the last step's batch (no shuffle): not reached before the stop
    net = ffnn.mlp([2, 8, 1], "tanh", rng=0, dtype=np.float64)
    opt = ffnn.train.get_optimizer("sgd", 0.1)
    tr = Trainer(net, ffnn.get_loss("mse"), opt, Batches(net, X, y, 8, shuffle=False))
    tr.use_compiled(True)
    before = tr.theta.copy()
    tr.check_rows("X")

    class StopAfterOneChunk:
        checks = 0

        @property
        def hit(self):
            self.checks += 1
            return self.checks == 2

    statuses, run = [], C.Epochs.run

    def spy(self, *args):
        out = run(self, *args)
        statuses.append(out[1])
        return out

    monkeypatch.setattr(C.Epochs, "run", spy)
    with pytest.raises(FFNNError, match="X contains NaN"):
        tr.epoch(1, np.random.default_rng(5), stop=StopAfterOneChunk())
    assert statuses == [0]  # one chunk, its rows clean: the rest was checked after the stop
    np.testing.assert_array_equal(tr.theta, before)
    assert tr.state["step"] == 0


# --- slow steps: the shares go on on one thread ------------------------------------------------
@pytest.fixture
def alone(monkeypatch):
    return _all_steps_slow(monkeypatch)


def _all_steps_slow(monkeypatch):
    """Every wait counts as a lost core (any share of the time, from the first step on): after
    one step the run's shares go on on one thread. Returns the (shares, alone) of each run."""
    monkeypatch.setattr(rows, "SLOW_NS", -1)
    monkeypatch.setattr(rows, "SLOW_AFTER_NS", 0)
    monkeypatch.setattr(rows, "SLOW_SHARE_PCT", 0)
    seen, run = [], C.Epochs.run

    def spy(self, *args):
        out = run(self, *args)
        seen.append((self.shares, self.alone))
        return out

    monkeypatch.setattr(C.Epochs, "run", spy)
    return seen


@pytest.mark.parametrize("case", CASES)
def test_shares_taken_in_turn_on_one_thread_give_the_bits_of_two_threads(
    two_threads, monkeypatch, case
):
    for dtype in (np.float32, np.float64):
        theta_2, h_2 = _run(case, True, dtype, threads=2)
        with monkeypatch.context() as m:
            seen = _all_steps_slow(m)
            theta_1, h_1 = _run(case, True, dtype, threads=2)
        np.testing.assert_array_equal(theta_1, theta_2)
        assert h_1["train_loss"] == h_2["train_loss"] and h_1["grad_norm"] == h_2["grad_norm"]
        assert seen[-1] == (2, True)  # one-step runs (full batches): alone from the second


def test_shares_on_one_thread_diverge_like_the_numpy_path(two_threads, alone):
    X, y = _data([2, 16, 1], "identity", n=64)
    results = []
    for compiled in (False, True):
        net = ffnn.mlp([2, 16, 1], "relu", rng=0)
        with pytest.warns(RuntimeWarning, match="diverged"):
            h = fit(net, X, 100 * y, lr=50.0, epochs=50, progress=False, compiled=compiled,
                    threads=2)  # fmt: skip
        assert h.diverged and np.all(np.isfinite(net.theta))
        results.append(h.stop_reason.split(":")[0])
    assert results[0] == results[1] and alone[-1] == (2, True)


def test_a_run_goes_on_alone_only_after_slow_steps(two_threads, monkeypatch):
    """Quiet threads never wait SLOW_NS in all (set to 1000 s): the run keeps its threads; with
    every wait counted as a lost core from the first step on, it goes on alone within the run."""
    epochs = []
    run = C.Epochs.run

    def spy(self, *args):
        out = run(self, *args)
        epochs.append((self.alone, self.threads))
        return out

    monkeypatch.setattr(C.Epochs, "run", spy)
    monkeypatch.setattr(rows, "SLOW_NS", 10**12)  # nothing is that slow
    _run(CASES[-1], True, np.float64, threads=2)
    assert all(e == (False, 2) for e in epochs)
    epochs.clear()
    monkeypatch.setattr(rows, "SLOW_NS", -1)
    monkeypatch.setattr(rows, "SLOW_AFTER_NS", 0)
    monkeypatch.setattr(rows, "SLOW_SHARE_PCT", 0)
    _run(CASES[-1], True, np.float64, threads=2)
    assert all(e == (True, 1) for e in epochs)
