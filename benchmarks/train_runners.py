"""The runners of benchmarks/bench_train.py, each timed in a process of its own.

    python benchmarks/train_runners.py RUNNER CONFIG N THREADS

builds one runner (an epoch of training on CONFIG's network and N synthetic examples), runs a
warm-up epoch (JAX compiles, Numba loads its cache), prints ``ready {json}`` and then answers
commands on stdin, one JSON line each on stdout:

* ``epoch``  one timed epoch: {"t": wall seconds, "cpu": the process's CPU seconds (all threads)};
  ``epoch warm``: an untimed epoch first, then the timed one right after it
* ``infer``  forward passes over the N examples in batches of INFER_BATCH: {"t": ...}
* ``limit``  (the limit runner) the best of 20 single steps times the steps per epoch: {"t": ...}
* ``numpy``  (the core step's runners) one epoch of the NumPy fit, built in the same process on
  the same data: {"t": ...} (``numpy warm``: after an untimed one)

One process per runner keeps the thread pools apart: inside one process, a runner that followed
other threaded runners (torch's OpenMP pool, XLA's, a second OpenBLAS's) was slowed up to 10x by
their still-spinning threads.
"""

from __future__ import annotations

import json
import os
import sys
import time

CONFIGS = {  # name: (widths, batch)
    "tiny": ([1, 32, 32, 1], 32),
    "small": ([64, 128, 128, 10], 64),
    "mnist": ([784, 256, 256, 10], 128),
    "wide": ([784, 1024, 1024, 10], 256),
}
RUNNERS = ("ffnn", "ffnn auto", "ffnn numpy", "ffnn core", "ffnn core 2", "jax step",
           "jax scan", "torch", "sklearn", "limit")  # fmt: skip
LR = 0.01
INFER_BATCH = 1024


# --- data and networks -------------------------------------------------------------------------
def make_data(widths, n, seed=0):
    """X: (n, n_0) float32 standard normal; y: int labels (K > 1) or a smooth target (n, 1)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, widths[0]), dtype=np.float32)
    if widths[-1] == 1:
        y = np.sin(2.0 * X[:, :1]).astype(np.float32)
    else:
        y = rng.integers(0, widths[-1], n)
    return X, y


def n_params(widths) -> int:
    return sum(a * b + b for a, b in zip(widths[:-1], widths[1:], strict=False))


# --- ffnn --------------------------------------------------------------------------------------
def ffnn_fit_epoch(widths, bs, X, y, threads=None, compiled=None):
    """A closure running one epoch of ffnn.train.fit; the network persists across calls.
    ``compiled``: fit's choice (None: the compiled path where Numba supports the run), False:
    the NumPy step loop, True: the compiled path."""
    import ffnn

    classify = widths[-1] > 1
    net = ffnn.mlp(widths, "relu", output="softmax" if classify else "identity", rng=0)
    loss = "cross_entropy" if classify else "mse"
    seed = iter(range(10**6))

    def epoch():
        ffnn.fit(net, X, y, loss, optimizer="sgd", lr=LR, batch_size=bs, epochs=1,
                 progress=False, rng=next(seed), threads=threads, compiled=compiled)  # fmt: skip

    return net, epoch


def _compiled_as(epoch) -> str:
    """Run ``epoch`` once (untimed) and say whose gemm the compiled path's last run called and
    how it cut its steps ("mkl by units", "openblas by rows", ...; "numpy": the NumPy path)."""
    from ffnn.train import compiled

    seen, run = [], compiled.Epochs.run

    def spy(self, *args):
        out = run(self, *args)
        seen.append(f"{self.blas} by {self.how}" if self.shares > 1 else f"{self.blas}, whole")
        return out

    compiled.Epochs.run = spy
    try:
        epoch()
    finally:
        compiled.Epochs.run = run
    return seen[-1] if seen else "numpy"


def ffnn_core_epoch(widths, bs, X, y):
    """The bare step loop on the core API: what fit costs beyond forward/backward/update."""
    import numpy as np

    import ffnn

    classify = widths[-1] > 1
    net = ffnn.mlp(widths, "relu", output="softmax" if classify else "identity", rng=0)
    loss = ffnn.get_loss("cross_entropy" if classify else "mse")
    Y = np.eye(widths[-1], dtype=np.float32)[y] if classify else y
    n = X.shape[0]
    Xb = np.empty((bs, X.shape[1]), np.float32)
    Yb = np.empty((bs, Y.shape[1]), np.float32)
    g = net.gradient_buffer()
    out_act = net.output
    rng = np.random.default_rng(0)

    def epoch():
        order = rng.permutation(n)
        for a in range(0, n - bs + 1, bs):  # full batches only
            idx = order[a : a + bs]
            X.take(idx, axis=0, out=Xb, mode="clip")
            Y.take(idx, axis=0, out=Yb, mode="clip")
            z, trace = net.forward(Xb)
            _, delta = loss.value_and_delta(z, Yb, out_act)
            net.backward(trace, delta, out=g)
            net.theta -= LR * g  # in place: the W, b views follow

    return epoch


# --- peers -------------------------------------------------------------------------------------
def torch_epoch(widths, bs, X, y):
    import torch
    from torch import nn

    torch.manual_seed(0)
    layers: list = []
    for a, b in zip(widths[:-2], widths[1:-1], strict=True):
        layers += [nn.Linear(a, b), nn.ReLU()]
    model = nn.Sequential(*layers, nn.Linear(widths[-2], widths[-1]))
    classify = widths[-1] > 1
    loss_fn = nn.CrossEntropyLoss() if classify else nn.MSELoss()
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    n = X.shape[0]
    gen = torch.Generator().manual_seed(0)

    def epoch():
        perm = torch.randperm(n, generator=gen)
        for a in range(0, n, bs):
            idx = perm[a : a + bs]
            opt.zero_grad()
            loss = loss_fn(model(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()

    def predict(Xi):
        with torch.no_grad():
            z = model(Xi)
            return torch.softmax(z, dim=1) if classify else z

    return model, epoch, predict


def _jax_parts(widths, bs, X, y):
    """The JAX step as an expert writes it: params a pytree [(W, b)], the loss from logits
    (log_softmax / squared error), jax.grad, SGD by tree_map; data on the device once, the batch
    gathered inside the jitted function. Initial weights are ffnn's (same init)."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    import ffnn

    classify = widths[-1] > 1
    net = ffnn.mlp(widths, "relu", output="softmax" if classify else "identity", rng=0)
    params = [(jnp.asarray(W), jnp.asarray(b)) for W, b in net.unflatten(net.theta)]
    Xd = jnp.asarray(X)
    yd = jnp.asarray(y.astype(np.int32) if classify else y)

    def loss_fn(params, xb, yb):
        h = xb
        for W, b in params[:-1]:
            h = jax.nn.relu(h @ W.T + b)
        W, b = params[-1]
        z = h @ W.T + b
        if classify:
            logp = jax.nn.log_softmax(z)
            return -jnp.mean(jnp.take_along_axis(logp, yb[:, None], axis=1))
        return jnp.mean(jnp.sum((z - yb) ** 2, axis=1))

    def sgd(params, idx):
        g = jax.grad(loss_fn)(params, Xd[idx], yd[idx])
        return jax.tree_util.tree_map(lambda p, gp: p - LR * gp, params, g)

    return params, sgd, np.random.default_rng(0), X.shape[0]


def jax_step_epoch(widths, bs, X, y):
    """A jitted step called from a Python loop, one dispatch per batch."""
    import jax
    import numpy as np

    params, sgd, rng, n = _jax_parts(widths, bs, X, y)
    step = jax.jit(sgd, donate_argnums=0)
    box = [params]

    def epoch():
        order = rng.permutation(n).astype(np.int32)
        p = box[0]
        for a in range(0, n, bs):
            p = step(p, order[a : a + bs])
        box[0] = jax.block_until_ready(p)

    return epoch


def jax_scan_epoch(widths, bs, X, y):
    """The epoch as one jitted ``lax.scan`` over the full batches (then one jitted step on the
    remainder, if n is not a multiple of the batch)."""
    import jax
    import numpy as np

    params, sgd, rng, n = _jax_parts(widths, bs, X, y)
    full = n // bs

    def scan_epoch(params, batches):
        return jax.lax.scan(lambda p, idx: (sgd(p, idx), None), params, batches)[0]

    run_scan = jax.jit(scan_epoch, donate_argnums=0)
    step = jax.jit(sgd, donate_argnums=0)
    box = [params]

    def epoch():
        order = rng.permutation(n).astype(np.int32)
        p = run_scan(box[0], order[: full * bs].reshape(full, bs))
        if full * bs < n:
            p = step(p, order[full * bs :])
        box[0] = jax.block_until_ready(p)

    return epoch


def sklearn_epoch(widths, bs, X, y):
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    classify = widths[-1] > 1
    kw = dict(
        hidden_layer_sizes=tuple(widths[1:-1]),
        activation="relu",
        solver="sgd",
        learning_rate="constant",
        learning_rate_init=LR,
        momentum=0.0,
        nesterovs_momentum=False,
        alpha=0.0,
        batch_size=bs,
        shuffle=True,
        tol=1e-30,
        n_iter_no_change=10**9,
        max_iter=1,
        random_state=0,
    )
    model = MLPClassifier(**kw) if classify else MLPRegressor(**kw)
    yy = y if classify else y.ravel()
    classes = list(range(widths[-1])) if classify else None

    def epoch():
        if classify:
            model.partial_fit(X, yy, classes=classes)
        else:
            model.partial_fit(X, yy)

    predict = model.predict_proba if classify else model.predict
    return model, epoch, predict


# --- the limit ---------------------------------------------------------------------------------
def matmul_step(widths, bs, columns=False, gemm=None):
    """One training step's matrix products on preallocated float32 arrays; returns a callable.
    Rows (the default): a batch as rows, z = x Wᵀ, ∂L/∂W = gᵀ x, ∂L/∂x = g W; ``columns``: a
    batch as columns (as ffnn's compiled path stores it), z = W x, ∂L/∂W = g xᵀ, ∂L/∂x = Wᵀ g.
    ``gemm``: a cblas gemm (:func:`ffnn.core.blas.gemm_fn`'s arguments) instead of np.matmul."""
    import numpy as np

    rng = np.random.default_rng(0)
    ops = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:], strict=False)):
        W = rng.standard_normal((n_out, n_in), dtype=np.float32)
        x = rng.standard_normal((n_in, bs) if columns else (bs, n_in), dtype=np.float32)
        g = rng.standard_normal((n_out, bs) if columns else (bs, n_out), dtype=np.float32)
        z, gW, dx = np.empty_like(g), np.empty_like(W), np.empty_like(x)
        if columns:
            ops += [(W, x, z), (g, x.T, gW)] + ([(W.T, g, dx)] if i > 0 else [])
        else:  # forward z = x Wᵀ; backward ∂L/∂W = gᵀ x and (not for the first layer) g W
            ops += [(x, W.T, z), (g.T, x, gW)] + ([(g, W, dx)] if i > 0 else [])
    if gemm is not None:
        calls = [_gemm_args(a, b, out) for a, b, out in ops]

        def step():
            for args in calls:
                gemm(*args)

        step.arrays = ops  # the calls hold their addresses only: the arrays live with the step
        return step
    matmul = np.matmul

    def step():
        for a, b, out in ops:
            matmul(a, b, out=out)

    return step


def _gemm_args(a, b, out) -> tuple:
    """cblas gemm's arguments for out = a b (row-major; a, b possibly transposed views)."""
    from ffnn.core.blas import _operand

    (ta, lda), (tb, ldb) = _operand(a, a.itemsize), _operand(b, b.itemsize)
    M, K = a.shape
    N = b.shape[1]
    return (101, ta, tb, M, N, K, 1.0, a.ctypes.data, lda, b.ctypes.data, ldb, 0.0,
            out.ctypes.data, out.shape[1])  # fmt: skip


def time_once(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def time_min_of(fn, k: int) -> float:
    return min(time_once(fn) for _ in range(k))


def _jax_threads(threads: int) -> str:
    """Start XLA's CPU client with ``threads`` intra-op threads. It ignores the old flags
    (measured: JAX ran at 2 cores' speed with ``--xla_cpu_multi_thread_eigen=false``) and sizes
    its pool by the process's CPU affinity, so the affinity is narrowed to ``threads`` cores while
    the client starts, then restored (pinning the whole run instead left the pool's spinning
    threads on ffnn's one core and halved everyone else)."""
    cores = sorted(os.sched_getaffinity(0))
    if threads >= len(cores):
        return f"XLA pool: all {len(cores)} cores"
    os.sched_setaffinity(0, cores[:threads])
    try:
        import jax
        import jax.numpy as jnp

        jax.block_until_ready(jax.jit(lambda a: a @ a)(jnp.ones((64, 64))))
    except ImportError:
        pass
    finally:
        os.sched_setaffinity(0, cores)
    return f"XLA pool started under an affinity of {threads} core(s)"


# --- the worker ---------------------------------------------------------------------------------
def build(runner: str, name: str, n: int, threads: int):
    """(epoch callable, predictor or None, info dict) of one runner at config ``name``."""
    widths, bs = CONFIGS[name]
    info: dict = {}
    if runner.startswith("jax"):
        info["xla"] = _jax_threads(threads)
    X, y = make_data(widths, n)
    predict = None
    if runner in ("ffnn", "ffnn auto", "ffnn numpy"):
        compiled = False if runner == "ffnn numpy" else None
        thr = None if runner == "ffnn auto" else threads
        net, epoch = ffnn_fit_epoch(widths, bs, X, y, thr, compiled)
        predict = net.predict
        if compiled is None:
            epoch.compiled_as = lambda: _compiled_as(epoch)
    elif runner in ("ffnn core", "ffnn core 2"):  # the second: bench_train's A/A check
        epoch = ffnn_core_epoch(widths, bs, X, y)
        _, epoch.numpy = ffnn_fit_epoch(widths, bs, X, y, threads, False)  # the same process
    elif runner == "jax step":
        epoch = jax_step_epoch(widths, bs, X, y)
    elif runner == "jax scan":
        epoch = jax_scan_epoch(widths, bs, X, y)
    elif runner == "torch":
        import torch

        torch.set_num_threads(threads)
        _, epoch, tpredict = torch_epoch(widths, bs, X, y)
        predict = lambda Xi: tpredict(torch.from_numpy(Xi))  # noqa: E731
    elif runner == "sklearn":
        model, epoch, predict = sklearn_epoch(widths, bs, X, y)
        epoch()  # partial_fit's first call sets the model up: then the dtype is known
        info["dtype"] = str(model.coefs_[0].dtype)
    elif runner == "limit":
        epoch = _limit(widths, bs, n, threads)
        info["layout"] = epoch.layout
    else:
        raise SystemExit(f"unknown runner {runner!r}")
    return epoch, predict, X, info


def _limit(widths, bs, n, threads):
    """The limit's epoch: the step's products in the fastest of the layouts (rows or columns)
    and libraries (NumPy's OpenBLAS; MKL on ``threads`` threads of its own, where the ``mkl``
    package is installed: ffnn's compiled path calls it then), timed here as the best of 30
    steps each, so no layout or library ffnn picks beats it."""
    import numpy as np

    from ffnn.core.blas import mkl_gemm_fn

    ways = [("rows", matmul_step(widths, bs)), ("columns", matmul_step(widths, bs, columns=True))]
    mkl = mkl_gemm_fn(np.float32, threads)
    if mkl is not None:
        ways += [("rows, mkl", matmul_step(widths, bs, gemm=mkl)),
                 ("columns, mkl", matmul_step(widths, bs, columns=True, gemm=mkl))]  # fmt: skip
    for _, fn in ways:
        time_min_of(fn, 10)  # warm
    _, layout, step = min(((time_min_of(fn, 30), name, fn) for name, fn in ways), key=_first)
    steps = -(-n // bs)

    def epoch():
        for _ in range(steps):
            step()

    epoch.best = lambda: steps * time_min_of(step, 20)
    epoch.layout = layout
    return epoch


def _first(t: tuple):
    return t[0]


def _openblas() -> list:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    found = [i for i in threadpool_info() if i.get("internal_api") == "openblas"]
    return sorted({str(i.get("architecture")) for i in found})


def worker(runner: str, name: str, n: int, threads: int) -> None:
    from threadpoolctl import threadpool_limits

    epoch, predict, X, info = build(runner, name, n, threads)  # imports load the BLAS libraries
    with threadpool_limits(threads):  # then the limit reaches every one of them
        epoch()  # warm-up (JAX's compilation, Numba's cache, first-call buffers)
        if hasattr(epoch, "numpy"):
            epoch.numpy()
        if hasattr(epoch, "compiled_as"):
            info["blas"] = epoch.compiled_as()
        info["openblas"] = _openblas()
        print("ready " + json.dumps(info), flush=True)
        for line in sys.stdin:
            cmd, *opts = line.split() or [""]
            warm = "warm" in opts  # an untimed epoch first, back to back with the timed one
            if cmd == "epoch":
                if warm:
                    epoch()
                c = time.process_time()
                t = time_once(epoch)
                out = {"t": t, "cpu": time.process_time() - c}
            elif cmd == "infer" and predict is not None:

                def infer():
                    for a in range(0, n, INFER_BATCH):
                        predict(X[a : a + INFER_BATCH])

                out = {"t": time_once(infer)}
            elif cmd == "limit" and runner == "limit":
                out = {"t": epoch.best()}
            elif cmd == "numpy" and hasattr(epoch, "numpy"):
                if warm:
                    epoch.numpy()
                out = {"t": time_once(epoch.numpy)}
            else:
                out = {"error": f"unknown command {cmd!r}"}
            print(json.dumps(out), flush=True)


if __name__ == "__main__":
    runner, name, n, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    worker(runner, name, n, threads)
