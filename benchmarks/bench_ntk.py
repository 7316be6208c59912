"""Empirical NTK and per-example gradients: ffnn against PyTorch torch.func, side by side.

    python benchmarks/bench_ntk.py [--n 1000] [--repeat 3] [--only-per-example]

Network 40-512-512-1 (ReLU, float32, standard He init), n inputs. Prints a table:

1. empirical NTK Θ (n × n) with ffnn (Gram matrices of layer inputs and per-example
   sensitivities) and with torch.func (vmap of jacrev over the parameters, then the
   contraction J Jᵀ), same weights; the speed-up;
2. agreement in float64 of ffnn's NTK with a materialized-Jacobian reference (on a subset);
3. per-example gradients of a minibatch against the batch gradient (both ffnn), the ratio
   (issue 6 target: at most 3×); and (issue 16) the same through the factors δ_i^(l), x_i^(l-1)
   (``per_example_factors``): the squared norms ‖g_i‖² and the Gram matrix g_i·g_j, no m×p array
   (each timed from the forward pass on, best of 20·repeat, after the interleaved pair).
   Like with like: the batch gradient is one forward + backward
   (``loss_and_grad``); per-example gradients are one forward, one backward message pass and the
   m×p outer-product write. Both are timed interleaved, minimum of 20·repeat runs, into reused
   output buffers. Beside them, the cost of only storing m×p float32 values into the same
   buffer (``fill``, no arithmetic, and ``copyto`` from another m×p array): the per-example
   result cannot be written faster than that, whatever the arithmetic.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import ffnn
from ffnn.lab.jacobian import per_example_factors, per_example_gradients
from ffnn.lab.ntk import empirical_ntk, ntk_from_jacobian


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def torch_ntk(net: ffnn.Network, X: np.ndarray, dtype):
    import torch
    from torch.func import functional_call, jacrev, vmap

    layers = []
    for i, (W, b) in enumerate(net.params):
        lin = torch.nn.Linear(W.shape[1], W.shape[0])
        with torch.no_grad():
            lin.weight.copy_(torch.as_tensor(np.array(W)))
            lin.bias.copy_(torch.as_tensor(np.array(b)))
        layers.append(lin)
        if i < len(net.params) - 1:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers).to(dtype)
    params = {k: v.detach() for k, v in model.named_parameters()}
    Xt = torch.as_tensor(X, dtype=dtype)

    def f(p, x):
        return functional_call(model, p, (x.unsqueeze(0),)).squeeze(0)

    def run():
        jac = vmap(jacrev(f), (None, 0))(params, Xt)  # dict of (n, 1, *param.shape)
        flat = [j.reshape(j.shape[0], -1) for j in jac.values()]
        return sum(a @ a.T for a in flat)

    return run


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--check-n", type=int, default=200)
    ap.add_argument("--only-per-example", action="store_true", help="skip the NTK rows")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    widths = [40, 512, 512, 1]
    net = ffnn.mlp(widths, "relu", rng=0)  # float32
    X = rng.standard_normal((args.n, 40)).astype(np.float32)
    print(f"network {'-'.join(map(str, widths))} ReLU, p = {net.n_params}, n = {args.n}")
    rows = []
    if not args.only_per_example:
        _ntk_rows(net, X, args, rows)
    _per_example_rows(net, X, rng, args, rows)

    print("times: the minimum over the repeats (least disturbed by other load on the machine)")
    print(f"{'what':<58}{'ms':>10}  note")
    for what, t, note in rows:
        ts = f"{1e3 * t:10.2f}" if t == t else f"{'':>10}"
        print(f"{what:<58}{ts}  {note}")


def _ntk_rows(net, X, args, rows) -> None:
    t_first = best_of(lambda: empirical_ntk(net, X), 1)  # allocates the buffers it keeps
    t_ffnn = best_of(lambda: empirical_ntk(net, X), args.repeat)
    rows.append(("NTK n×n float32, ffnn (layer Gram matrices)", t_ffnn, ""))
    rows.append(("  its first call (allocates the buffers it keeps)", t_first, ""))
    try:
        import torch

        run = torch_ntk(net, X, torch.float32)
        t_torch = best_of(run, max(1, args.repeat - 1))
        th_t = run().numpy()
        th_f = empirical_ntk(net, X)
        rel32 = np.linalg.norm(th_f - th_t) / np.linalg.norm(th_t)
        rows.append(
            (
                "NTK n×n float32, torch.func vmap(jacrev) + J Jᵀ",
                t_torch,
                f"speed-up {t_torch / t_ffnn:.1f}×, rel. diff {rel32:.1e}",
            )
        )
    except ImportError:
        rows.append(("NTK n×n float32, torch.func", float("nan"), "torch not installed"))

    net64 = net.astype(np.float64)
    Xc = X[: args.check_n].astype(np.float64)
    A = empirical_ntk(net64, Xc)
    B = ntk_from_jacobian(net64, Xc)
    rel64 = float(np.linalg.norm(A - B) / np.linalg.norm(B))
    rows.append(
        (
            f"float64 check on {args.check_n} inputs vs materialized J Jᵀ",
            float("nan"),
            f"rel. error {rel64:.1e} ({'ok' if rel64 < 1e-5 else 'FAIL'} at 1e-5)",
        )
    )


def _per_example_rows(net, X, rng, args, rows) -> None:
    for m in (32, 128):
        Xb, yb = X[:m], rng.standard_normal((m, 1)).astype(np.float32)
        buf = net.gradient_buffer()
        G = np.empty((m, net.n_params), dtype=np.float32)
        G2 = np.ones_like(G)
        # interleaved, best of many: the two are timed back to back under the same load
        t_b = t_p = t_fill = t_copy = float("inf")
        for _ in range(20 * args.repeat):
            t_fill = min(t_fill, best_of(lambda G=G: G.fill(1.0), 1))
            t_copy = min(t_copy, best_of(lambda G=G, G2=G2: np.copyto(G, G2), 1))
            t_b = min(
                t_b,
                best_of(lambda Xb=Xb, yb=yb, buf=buf: net.loss_and_grad(Xb, yb, "mse", out=buf), 1),
            )
            t_p = min(
                t_p,
                best_of(
                    lambda Xb=Xb, yb=yb, G=G: per_example_gradients(net, Xb, yb, "mse", out=G), 1
                ),
            )
        rows.append((f"batch gradient, minibatch {m}", t_b, ""))
        for what, use in (
            ("norms ‖g_i‖²", lambda F: F.sq_norms()),
            ("Gram g_i·g_j", lambda F: F.gram()),
        ):
            t_f = min(
                best_of(
                    lambda Xb=Xb, yb=yb, use=use: use(per_example_factors(net, Xb, yb, "mse")), 1
                )
                for _ in range(20 * args.repeat)
            )
            rows.append(
                (
                    f"per-example {what}, minibatch {m} (factors, no m×p)",
                    t_f,
                    f"{t_f / t_b:.2f}× the batch gradient "
                    f"(≤ 3×: {'met' if t_f <= 3 * t_b else 'MISSED'})",
                )
            )
        rows.append(
            (
                f"per-example gradients, minibatch {m} ({m}×p)",
                t_p,
                f"{t_p / t_b:.2f}× the batch gradient (issue 6: ≤ 3×, "
                f"{'met' if t_p <= 3 * t_b else 'MISSED'})",
            )
        )
        mb = G.nbytes / 1e6
        rows.append(
            (
                f"  store only: fill {m}×p float32 ({mb:.0f} MB)",
                t_fill,
                f"{t_fill / t_b:.2f}× the batch gradient, {G.nbytes / t_fill / 1e9:.0f} GB/s",
            )
        )
        rows.append(
            (
                f"  store only: copyto {m}×p float32 from another array",
                t_copy,
                f"{t_copy / t_b:.2f}× the batch gradient",
            )
        )


if __name__ == "__main__":
    main()
