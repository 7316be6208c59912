"""Hessian-vector products: ffnn's R-operator against one gradient and PyTorch's double backprop.

    python benchmarks/bench_hvp.py [--batch 1000] [--repeat 20] [--threads 2]

Network 784-256-256-10 ReLU, softmax + cross-entropy, float32, random inputs and labels. Rows:

* gradient                 one forward + backward (``net.loss_and_grad``), the unit of cost,
                           timed in turn with the one-off hvp (``--paired`` runs of each)
* hvp, stored trace        H v with the forward/backward kept in a Curvature (what Lanczos uses)
* hvp, one-off             ``hvp(net, X, y, loss, v)``: forward, δ messages and the R-passes
                           (the gradient ∂L/∂W itself is never formed); per-thread buffers reused
                           from the previous one-off call of the same shape
* hvp, one-off, new Curvature  ``Curvature(net, X, y).hvp(v)``: the same work in fresh arrays
                           (their page faults cost about a third at this size)
* gnvp, stored trace       Gauss-Newton product G v
* torch gradient           torch forward + backward on the same weights
* torch hvp, double bwd    forward, grad(create_graph=True), grad(g·v): the usual one-off HVP
* torch hvp, kept graph    only grad(g·v) with the first-order graph retained (torch's best case)
* top eigenvalue           Lanczos (eigsh, k=1) on the Hessian of the 1,000 examples, wall time

Set the thread count before numpy loads (``--threads``, default 2, the target machine). Times are
the minimum over repeats (least disturbed by other load) with the median beside it. The targets:
one-off hvp ≤ 3× the gradient, and faster than torch's double backward (issue 7); ≤ 2× the
gradient (issue 16), from the gradient and the one-off hvp run in turn, so that both see the
same load: the ratio of their minima, and the median of the pairs' ratios.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time


def _args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--paired", type=int, default=60, help="gradient/one-off hvp runs in turn")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-torch", action="store_true")
    return ap.parse_args()


def main() -> None:
    args = _args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import numpy as np

    import ffnn
    from ffnn.lab.hessian import Curvature, hvp
    from ffnn.lab.spectrum import top_eigenvalues

    widths = [784, 256, 256, 10]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.batch, widths[0])).astype(np.float32)
    y = rng.integers(0, widths[-1], args.batch)
    net = ffnn.mlp(widths, "relu", output="softmax", rng=0)
    v = rng.standard_normal(net.n_params).astype(np.float32)
    buf = net.gradient_buffer()

    def timeit(f, repeat=args.repeat):
        f()
        best = []
        for _ in range(repeat):
            t = time.perf_counter()
            f()
            best.append(time.perf_counter() - t)
        # the minimum: least disturbed by other load; the median beside it
        return float(np.min(best)), float(np.median(best))

    def paired(f, g, repeat=args.paired):
        """f and g timed in turn (g first in odd repeats): both minima under the same load.
        Returns f's and g's (min, median) and the median of the repeats' ratios g/f."""
        f(), g()
        tf, tg = [], []
        for r in range(repeat):
            for fn, acc in ((g, tg), (f, tf)) if r % 2 else ((f, tf), (g, tg)):
                t = time.perf_counter()
                fn()
                acc.append(time.perf_counter() - t)
        ratio = float(np.median(np.array(tg) / np.array(tf)))
        return (min(tf), float(np.median(tf))), (min(tg), float(np.median(tg))), ratio

    rows = []
    t_grad, t_one, pair_ratio = paired(
        lambda: net.loss_and_grad(X, y, "cross_entropy", out=buf),
        lambda: hvp(net, X, y, "cross_entropy", v),
    )
    rows.append(("ffnn gradient", t_grad))
    C = Curvature(net, X, y, "cross_entropy")
    rows.append(("ffnn hvp, stored trace", timeit(lambda: C.hvp(v))))
    rows.append(("ffnn hvp, one-off", t_one))
    rows.append(
        (
            "ffnn hvp, one-off, new Curvature",
            timeit(lambda: Curvature(net, X, y, "cross_entropy").hvp(v)),
        )
    )
    rows.append(("ffnn gnvp, stored trace", timeit(lambda: C.gnvp(v))))

    torch_note = "not installed"
    t_torch_hvp = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            torch = None
        if torch is not None:
            torch.set_num_threads(args.threads)
            torch_note = torch.__version__
            params = []
            for W, b in net.params:
                params += [torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True)]
            Xt, yt = torch.tensor(X), torch.tensor(y)
            vt = [torch.tensor(a) for W_b in net.unflatten(v) for a in W_b]

            def loss_fn():
                h = Xt
                for i in range(0, len(params), 2):
                    h = h @ params[i].T + params[i + 1]
                    if i + 2 < len(params):
                        h = torch.relu(h)
                return torch.nn.functional.cross_entropy(h, yt)

            def t_grad_fn():
                g = torch.autograd.grad(loss_fn(), params)
                return g

            def t_hvp():
                g = torch.autograd.grad(loss_fn(), params, create_graph=True)
                dot = sum((gi * vi).sum() for gi, vi in zip(g, vt, strict=True))
                return torch.autograd.grad(dot, params)

            g_kept = torch.autograd.grad(loss_fn(), params, create_graph=True)

            def t_hvp_kept():
                dot = sum((gi * vi).sum() for gi, vi in zip(g_kept, vt, strict=True))
                return torch.autograd.grad(dot, params, retain_graph=True)

            # the same product: check the two libraries agree
            h_t = np.concatenate([a.detach().numpy().ravel() for a in t_hvp()])
            h_f = C.hvp(v)
            flat = np.concatenate([np.concatenate([W.ravel(), b]) for W, b in net.unflatten(h_f)])
            rel = np.linalg.norm(flat - h_t) / np.linalg.norm(h_t)
            torch_note += f" (relative difference of H v: {rel:.1e})"
            rows.append(("torch gradient", timeit(t_grad_fn)))
            t_torch_hvp = timeit(t_hvp)
            rows.append(("torch hvp, double backward", t_torch_hvp))
            rows.append(("torch hvp, kept graph", timeit(t_hvp_kept)))

    t0 = time.perf_counter()
    C1 = Curvature(net, X[:1000], y[:1000], "cross_entropy")
    lam = top_eigenvalues(C1, k=1)[0]
    t_eig = time.perf_counter() - t0

    print(
        f"machine: {platform.machine()} {platform.processor() or ''} cpus={os.cpu_count()} "
        f"threads={args.threads}; python {sys.version.split()[0]}; numpy {np.__version__}; "
        f"torch {torch_note}"
    )
    print(
        f"network 784-256-256-10 relu, softmax + cross-entropy, float32, p = {net.n_params}, "
        f"batch {args.batch}, best of {args.repeat}"
    )
    print(f"{'operation':<34}{'min ms':>9}{'median':>9}{'min/min grad':>14}")
    for name, (t, med) in rows:
        print(f"{name:<34}{1e3 * t:>9.2f}{1e3 * med:>9.2f}{t / t_grad[0]:>14.2f}")
    ratio = t_one[0] / t_grad[0]
    print(
        f"issue 7 (a), one-off hvp <= 3x gradient: {ratio:.2f}x "
        f"({'met' if ratio <= 3 else 'MISSED'})"
    )
    print(
        f"issue 16, one-off hvp <= 2x gradient: {ratio:.2f}x, min over min of {args.paired} "
        f"runs of each in turn ({'met' if ratio <= 2 else 'MISSED'}); median of their "
        f"ratios {pair_ratio:.2f}x ({'met' if pair_ratio <= 2 else 'MISSED'})"
    )
    if t_torch_hvp is not None:
        vs = t_one[0] / t_torch_hvp[0]
        print(
            f"issue 7 (b), one-off hvp faster than torch double backward: {vs:.2f}x torch's time "
            f"({'met' if vs < 1 else 'MISSED'})"
        )
    print(
        f"top eigenvalue λ_max = {lam:.4f} on {min(1000, args.batch)} examples: {t_eig:.2f} s "
        f"({C1.n_products} Hessian-vector products)"
    )


if __name__ == "__main__":
    main()
