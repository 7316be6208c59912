"""Training speed: ffnn against PyTorch (CPU, eager) and scikit-learn's MLP, and the matmul limit.

    python benchmarks/bench_train.py [--quick] [--repeats 5] [--threads 2] [--configs tiny,wide]

Every peer trains the same ReLU network, in float32, on the same synthetic data, by minibatch SGD
without momentum at the same batch size: one epoch of n = 20,000 examples (after a warm-up epoch),
softmax + cross-entropy (MSE for the one-output ``tiny`` net), shuffled every epoch.

* ffnn        ``fit(net, X, y, optimizer="sgd", epochs=1, progress=False)``: the user path
* ffnn core   the bare step loop (gather, forward, loss, backward, θ -= η g), no bookkeeping
* torch       ``nn.Sequential`` + ``torch.optim.SGD``, the usual eager loop (randperm, index, step)
* sklearn     ``MLPClassifier``/``MLPRegressor(solver="sgd", momentum=0, alpha=0, ...)``, one epoch
              per ``partial_fit`` (it keeps float32 input in float32; checked and printed)
* limit       the matrix products one training step needs, timed with numpy on preallocated
              arrays: forward X Wᵀ for every layer, backward gᵀx for every layer and g W for every
              layer but the first (nobody computes ∂L/∂x^(0)). samples/s at that rate is the
              ceiling a float32 CPU trainer can reach at these shapes.

Columns: samples/s, GFLOP/s counted as 6·p·n per epoch (2pn forward, 4pn backward), the ratio of
ffnn to each peer, ffnn's fraction of the limit, and the process's CPU seconds per epoch. On a
loaded machine the wall-clock limit (best of 20 single steps) is biased against whole epochs; the
fraction in CPU seconds (a whole epoch of the limit's products, process_time) is the robust one
at one thread. JAX peers: ``jax step`` (a jitted step from a Python loop) and ``jax scan`` (the
epoch as one jitted lax.scan); XLA's pool is sized by the affinity while its client starts.
``--busy`` adds a competing spin loop pinned to the first core and an ``ffnn auto`` runner
(``fit(threads=None)``) beside ``ffnn`` (``fit(threads=--threads)``).
Medians over ``--repeats`` repeats, the peers
interleaved within each repeat so that a noisy shared machine hits them alike. Inference rows time
forward passes in batches of 1,024 (ffnn ``net.predict``, torch under ``no_grad``, sklearn
``predict_proba``/``predict``). A subprocess then trains the mnist-shape network for one epoch on
200,000 × 784 float32 examples (~630 MB) and reports its peak resident memory over the data size.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time

CONFIGS = {  # name: (widths, batch)
    "tiny": ([1, 32, 32, 1], 32),
    "small": ([64, 128, 128, 10], 64),
    "mnist": ([784, 256, 256, 10], 128),
    "wide": ([784, 1024, 1024, 10], 256),
}
TARGETS = {  # name: (x torch, x sklearn, fraction of the matmul limit, x jax scan)
    "tiny": (4.0, 3.0, None, 0.5),
    "small": (1.5, 2.0, None, 0.7),
    "mnist": (1.0, 2.0, 0.85, 1.0),
    "wide": (0.95, 1.8, 0.85, 1.0),
}
JAX_STEP_TARGET = 1.0  # ahead of JAX's jitted step loop at every size
CORE_TARGET = 0.95  # fit (NumPy path) within 5% of the bare core step
LR = 0.01
INFER_BATCH = 1024


def _args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer examples and repeats")
    ap.add_argument("--repeats", type=int, default=None, help="timed repeats (default 5; quick 3)")
    ap.add_argument("--threads", type=int, default=2, help="BLAS / torch threads (default 2)")
    ap.add_argument("--n", type=int, default=None, help="examples per epoch (default 20000)")
    ap.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated config names")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--no-sklearn", action="store_true")
    ap.add_argument("--no-jax", action="store_true")
    ap.add_argument(
        "--busy", action="store_true", help="a competing busy process on one core while timing"
    )
    ap.add_argument("--no-memory", action="store_true", help="skip the 630 MB memory run")
    ap.add_argument("--memory-n", type=int, default=200_000, help="rows of the memory run")
    ap.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    return ap.parse_args()


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
def matmul_step(widths, bs):
    """One training step's matrix products on preallocated float32 arrays; returns a callable."""
    import numpy as np

    rng = np.random.default_rng(0)
    ops = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:], strict=False)):
        W = rng.standard_normal((n_out, n_in), dtype=np.float32)
        x = rng.standard_normal((bs, n_in), dtype=np.float32)
        g = rng.standard_normal((bs, n_out), dtype=np.float32)
        z, gW, dx = np.empty((bs, n_out), np.float32), np.empty_like(W), np.empty_like(x)
        ops.append((x, W.T, z))  # forward  z = x Wᵀ
        ops.append((g.T, x, gW))  # backward ∂L/∂W = gᵀ x
        if i > 0:
            ops.append((g, W, dx))  # backward ∂L/∂x = g W
    matmul = np.matmul

    def step():
        for a, b, out in ops:
            matmul(a, b, out=out)

    return step


def time_once(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def time_min_of(fn, k: int) -> float:
    return min(time_once(fn) for _ in range(k))


# --- memory ------------------------------------------------------------------------------------
def _rss_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def memory_child(n: int, threads: int) -> None:
    """Run in a fresh process: RSS before the data, peak RSS after one epoch of fit."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    import ffnn

    widths, bs = CONFIGS["mnist"]
    with threadpool_limits(threads):
        net = ffnn.mlp(widths, "relu", output="softmax", rng=0)
        # touch the code paths once on a little data so imports / first-call buffers are counted
        ffnn.fit(net, *make_data(widths, 256), "cross_entropy", epochs=1, progress=False)
        base = _rss_kb("VmRSS:")
        rng = np.random.default_rng(0)
        X = rng.standard_normal((n, widths[0]), dtype=np.float32)
        y = rng.integers(0, widths[-1], n).astype(np.int32)
        data_kb = (X.nbytes + y.nbytes) / 1024
        t = time.perf_counter()
        ffnn.fit(net, X, y, "cross_entropy", lr=LR, batch_size=bs, epochs=1, progress=False)
        t = time.perf_counter() - t
        peak = _rss_kb("VmHWM:")
        # and with a validation fraction split off (the 10% validation rows are copied)
        ffnn.fit(net, X, y, "cross_entropy", lr=LR, batch_size=bs, epochs=1, progress=False,
                 validation=0.1)  # fmt: skip
        peak_val = _rss_kb("VmHWM:")
    print(f"{base} {peak} {data_kb:.0f} {t:.3f} {peak_val}")


def memory_run(n: int, threads: int) -> str:
    cmd = [sys.executable, __file__, "--memory-child", "--memory-n", str(n)]
    cmd += ["--threads", str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        return f"memory run failed: {out.stderr.strip().splitlines()[-1:]}"
    base, peak, data, t, peak_val = out.stdout.split()[-5:]
    base, peak, data, peak_val = int(base), int(peak), float(data), int(peak_val)

    def verdict(top: int) -> str:
        ratio = (top - base) / data
        ok = "met" if ratio <= 1.25 else f"MISSED by {100 * (ratio - 1.25):.0f} points"
        return f"{(top - base) / 1024:.0f} MiB = {ratio:.3f} x data (target <= 1.25 x: {ok})"

    return (
        f"memory: {n:,} x 784 float32 + int32 labels = {data / 1024:.0f} MiB; one epoch of fit "
        f"(mnist net, batch 128) in {float(t):.1f} s; peak RSS - RSS before the data = "
        f"{verdict(peak)}; then with validation=0.1: {verdict(peak_val)}"
    )


# --- report ------------------------------------------------------------------------------------
def machine_line(threads: int) -> str:
    import numpy as np

    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    blas = "?"
    try:
        from threadpoolctl import threadpool_info

        for info in threadpool_info():
            if info.get("user_api") == "blas" and "numpy" in info.get("filepath", ""):
                blas = f"{info['internal_api']} {info.get('version')} ({info.get('architecture')})"
    except ImportError:
        pass
    parts = [
        f"CPU {cpu}, {os.cpu_count()} cores",
        f"python {platform.python_version()}",
        f"numpy {np.__version__} [{blas}]",
    ]
    for mod in ("torch", "sklearn", "jax", "numba"):
        try:
            parts.append(f"{mod} {__import__(mod).__version__}")
        except ImportError:
            parts.append(f"{mod} not installed")
    parts.append(
        f"threads {threads} (threadpoolctl for ffnn/sklearn/numba's BLAS, torch.set_num_threads, "
        "XLA: see below)"
    )
    try:
        parts.append("load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    except OSError:
        pass
    return "machine: " + "; ".join(parts)


def _fmt_rate(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


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


def _busy() -> subprocess.Popen:
    """A competing process that keeps one core busy (a pure-Python spin loop on the first core)."""
    core = min(os.sched_getaffinity(0))
    return subprocess.Popen(
        [sys.executable, "-c", "while True: pass"],
        preexec_fn=lambda: os.sched_setaffinity(0, {core}),
    )


def _peers(args):
    """The optional peers that import: (torch or None, use_sklearn, use_jax)."""
    torch = None
    if not args.no_torch:
        try:
            import torch

            torch.set_num_threads(args.threads)
        except ImportError:
            torch = None
    use_sklearn, use_jax = not args.no_sklearn, not args.no_jax
    for name, use in (("sklearn", use_sklearn), ("jax", use_jax)):
        if use:
            try:
                __import__(name)
            except ImportError:
                use_sklearn, use_jax = (
                    (False, use_jax) if name == "sklearn" else (use_sklearn, False)
                )
    return torch, use_sklearn, use_jax


def _runners(widths, bs, X, y, args, torch, use_sklearn, use_jax):
    """{name: epoch callable}, {name: predictor}, the sklearn model (or None)."""
    from ffnn.train import compiled

    runners: dict = {}
    net, runners["ffnn"] = ffnn_fit_epoch(widths, bs, X, y, args.threads)
    if args.busy:
        runners["ffnn auto"] = ffnn_fit_epoch(widths, bs, X, y, None)[1]  # threads=None
    if compiled.available():
        runners["ffnn numpy"] = ffnn_fit_epoch(widths, bs, X, y, args.threads, False)[1]
        if n_params(widths) > compiled.AUTO_MAX_PARAMS:
            runners["ffnn numba"] = ffnn_fit_epoch(widths, bs, X, y, args.threads, True)[1]
    runners["ffnn core"] = ffnn_core_epoch(widths, bs, X, y)
    predictors = {"ffnn": lambda Xi, net=net: net.predict(Xi)}
    if use_jax:
        runners["jax step"] = jax_step_epoch(widths, bs, X, y)
        runners["jax scan"] = jax_scan_epoch(widths, bs, X, y)
    if torch is not None:
        _, runners["torch"], predictors["torch"] = torch_epoch(widths, bs, X, y)
    smodel = None
    if use_sklearn:
        smodel, runners["sklearn"], predictors["sklearn"] = sklearn_epoch(widths, bs, X, y)
    return runners, predictors, smodel


def _time_config(name, n, repeats, args, peers):
    """Medians of the epoch times and of the inference times of every runner at one config."""
    widths, bs = CONFIGS[name]
    X, y = make_data(widths, n)
    runners, predictors, smodel = _runners(widths, bs, X, y, args, *peers)
    for run in runners.values():  # warm-up epoch (and JAX's compilation)
        run()
    step = matmul_step(widths, bs)
    steps = -(-n // bs)
    times: dict = {k: [] for k in [*runners, "limit"]}
    cpu: dict = {k: [] for k in [*runners, "limit"]}
    itimes: dict = {k: [] for k in predictors}
    Xt = None if peers[0] is None else peers[0].from_numpy(X)

    def limit_epoch():
        for _ in range(steps):
            step()

    for _ in range(repeats):
        for k, run in runners.items():
            c = time.process_time()
            times[k].append(time_once(run))
            cpu[k].append(time.process_time() - c)
        times["limit"].append(steps * time_min_of(step, 20))
        c = time.process_time()
        limit_epoch()
        cpu["limit"].append(time.process_time() - c)
        for k, pred in predictors.items():
            src = Xt if k == "torch" else X

            def infer(pred=pred, src=src):
                for a in range(0, n, INFER_BATCH):
                    pred(src[a : a + INFER_BATCH])

            itimes[k].append(time_once(infer))
    med = {k: statistics.median(v) for k, v in times.items()}
    med.update({f"cpu:{k}": statistics.median(v) for k, v in cpu.items()})
    imed = {k: statistics.median(v) for k, v in itimes.items()}
    skl_dtype = None if smodel is None else smodel.coefs_[0].dtype
    return med, imed, skl_dtype


def _verdict(name, med, skl_dtype) -> str:
    """One line: ffnn's ratio to each peer against its target, and the fraction of the limit."""
    tt, ts, tl, tj = TARGETS[name]
    f = med["ffnn"]
    parts = []
    for peer, target in (("jax step", JAX_STEP_TARGET), ("jax scan", tj), ("torch", tt),
                         ("sklearn", ts)):  # fmt: skip
        if peer in med:
            r = med[peer] / f
            parts.append(f"vs {peer} {r:.2f}x (target {target}x: {_ok(r, target)})")
    frac = med["limit"] / f
    cfrac = med["cpu:limit"] / med["cpu:ffnn"]
    goal = f" (target {100 * tl:.0f}%: {_ok(frac, tl)}; in CPU s {_ok(cfrac, tl)})" if tl else ""
    parts.append(f"of limit {100 * frac:.0f}%, in CPU seconds {100 * cfrac:.0f}%{goal}")
    if "ffnn numpy" in med:
        fn = med["cpu:limit"] / med["cpu:ffnn numpy"]
        r = med["ffnn core"] / med["ffnn numpy"]
        parts.append(
            f"NumPy fit: {100 * fn:.0f}% of limit in CPU s, {r:.2f}x the core step's speed "
            f"(target >= {CORE_TARGET}: {_ok(r, CORE_TARGET)})"
        )
    if "ffnn auto" in med:
        parts.append(f"threads=None (auto) {med['ffnn'] / med['ffnn auto']:.2f}x threads=n")
    if skl_dtype is not None:
        parts.append(f"sklearn trained in {skl_dtype}")
    return f"{name:<6} " + "; ".join(parts)


def main() -> None:
    args = _args()
    if args.memory_child:
        memory_child(args.memory_n, args.threads)
        return
    repeats = args.repeats or (3 if args.quick else 5)
    n = args.n or (5000 if args.quick else 20000)
    names = [c.strip() for c in args.configs.split(",") if c.strip()]
    for name in names:
        if name not in CONFIGS:
            sys.exit(f"unknown config {name!r}; choose among {', '.join(CONFIGS)}")
    pinned = _jax_threads(args.threads) if not args.no_jax else "no jax"
    from threadpoolctl import threadpool_limits

    peers = _peers(args)
    busy = _busy() if args.busy else None
    print(machine_line(args.threads) + f"; {pinned}" + ("; + 1 busy process" if busy else ""))
    print(f"n = {n:,} examples per epoch, {repeats} repeats (median), lr = {LR}, float32")
    rows, infer_rows, verdicts = [], [], []
    try:
        with threadpool_limits(args.threads):
            for name in names:
                widths = CONFIGS[name][0]
                p = n_params(widths)
                med, imed, skl_dtype = _time_config(name, n, repeats, args, peers)
                for k, t in med.items():
                    if not k.startswith("cpu:"):
                        rows.append(
                            (name, k, n / t, 6.0 * p * n / t / 1e9, med["ffnn"], t, med[f"cpu:{k}"])
                        )
                for k, t in imed.items():
                    infer_rows.append(
                        (name, k, n / t, 2.0 * p * n / t / 1e9, imed["ffnn"], t, None)
                    )
                verdicts.append(_verdict(name, med, skl_dtype))
    finally:
        if busy is not None:
            busy.kill()
    print()
    print(
        "training, one epoch (median; 'ffnn x': the runner's time over ffnn's; cpu s: the "
        "process's CPU time, all threads, XLA's pool included):"
    )
    _table(rows, ("limit",))
    print()
    print(f"inference, forward only in batches of {INFER_BATCH} (median; GFLOP/s as 2·p·n):")
    _table(infer_rows, ())
    print()
    print("targets:")
    for v in verdicts:
        print("  " + v)
    print("load average at the end: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    if not args.no_memory:
        print()
        print(memory_run(args.memory_n if not args.quick else 50_000, args.threads))


def _ok(r: float, target: float) -> str:
    if r >= target:
        return "met"
    return f"MISSED by {100 * (1 - r / target):.0f}%"


def _table(rows, no_ratio) -> None:
    head = f"{'config':<7}{'runner':<12}{'samples/s':>12}{'GFLOP/s':>9}{'ffnn x':>8}{'time s':>9}"
    print(head + (f"{'cpu s':>9}" if rows and rows[0][6] is not None else ""))
    for name, k, rate, gf, t_ffnn, t, c in rows:
        ratio = "" if k == "ffnn" or k in no_ratio else f"{t / t_ffnn:.2f}"
        if k == "limit":
            ratio = f"{100 * t / t_ffnn:.0f}%"
        line = f"{name:<7}{k:<12}{_fmt_rate(rate):>12}{gf:>9.1f}{ratio:>8}{t:>9.3f}"
        print(line + ("" if c is None else f"{c:>9.3f}"))


if __name__ == "__main__":
    main()
