"""FFNNClassifier against MLPClassifier on digits and breast cancer, with matched settings.

    python benchmarks/bench_sklearn.py [--repeat 5] [--threads 2] [--max-iter 200]

Both estimators get the same hidden_layer_sizes, solver="adam", learning_rate_init, batch_size,
alpha, max_iter, tol / n_iter_no_change and random_state, on the same stratified 75/25 split of
standardized features (the scaler is fit on the training part). Each repeat r uses the split and
the seed r; the table gives the median over repeats of the test accuracy and of the fit time (wall
seconds of ``fit`` alone); the mean test accuracy ± its standard error is printed too.
FFNNClassifier computes in the data's float64 (its default, dtype=None, as MLPClassifier) and in
float32 (``dtype="float32"``, the speed choice, the row marked so).

Fit times on a shared machine are noisy: read them with the machine line and the spread
(min-max) printed beside each median. The last two columns count the repeats (same split and
seed) in which the row's accuracy is at least MLPClassifier's, and its fit is faster.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time


def _args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-iter", type=int, default=200)
    ap.add_argument("--hidden", type=int, nargs="+", default=[100])
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch-size", type=int, default=200)
    return ap.parse_args()


def main() -> None:
    args = _args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import warnings

    import numpy as np
    import sklearn
    from sklearn.datasets import load_breast_cancer, load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    from ffnn.sklearn import FFNNClassifier

    warnings.simplefilter("ignore", ConvergenceWarning)
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print(
        f"machine: {platform.machine()} {cpu} cpus={os.cpu_count()} "
        f"threads={args.threads}; python {sys.version.split()[0]}, numpy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}; load average {os.getloadavg()[0]:.2f}"
    )
    settings = dict(
        hidden_layer_sizes=tuple(args.hidden),
        solver="adam",
        learning_rate_init=args.lr,
        batch_size=args.batch_size,
        max_iter=args.max_iter,
        alpha=1e-4,
    )
    print(
        f"settings: {settings}, tol=1e-4, n_iter_no_change=10, {args.repeat} repeats "
        "(split and seed = repeat index)"
    )
    models = {
        "MLPClassifier": lambda r: MLPClassifier(random_state=r, **settings),
        "FFNNClassifier": lambda r: FFNNClassifier(random_state=r, **settings),
        "FFNNClassifier f32": lambda r: FFNNClassifier(random_state=r, dtype="float32", **settings),
    }
    datasets = {"digits": load_digits, "breast_cancer": load_breast_cancer}
    header = (
        f"{'dataset':<14}{'estimator':<20}{'test acc':>9}{'mean ± se':>17}{'acc min-max':>13}"
        f"{'fit s':>9}{'fit min-max':>15}{'epochs':>8}{'acc>=':>8}{'faster':>8}"
    )
    print(header)
    print("-" * len(header))
    for dname, loader in datasets.items():
        X, y = loader(return_X_y=True)
        runs = {m: [] for m in models}
        for r in range(args.repeat):
            Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=r, stratify=y)
            sc = StandardScaler().fit(Xtr)
            Xtr, Xte = sc.transform(Xtr), sc.transform(Xte)
            for mname, make in models.items():
                est = make(r)
                t0 = time.perf_counter()
                est.fit(Xtr, ytr)
                dt = time.perf_counter() - t0
                runs[mname].append((est.score(Xte, yte), dt, est.n_iter_))
        ref = runs["MLPClassifier"]
        for mname, rs in runs.items():
            acc = np.array([a for a, _, _ in rs])
            sec = np.array([s for _, s, _ in rs])
            its = np.array([i for _, _, i in rs])
            print(
                f"{dname:<14}{mname:<20}{np.median(acc):>9.4f}"
                f"{f'{acc.mean():.4f} ± {acc.std(ddof=1) / np.sqrt(len(acc)):.4f}':>17}"
                f"{f'{acc.min():.3f}-{acc.max():.3f}':>13}{np.median(sec):>9.3f}"
                f"{f'{sec.min():.3f}-{sec.max():.3f}':>15}{int(np.median(its)):>8}"
                + (
                    ""
                    if mname == "MLPClassifier"
                    else f"{sum(a >= b[0] for (a, _, _), b in zip(rs, ref, strict=True)):>6}"
                    f"/{len(rs)}{sum(s < b[1] for (_, s, _), b in zip(rs, ref, strict=True)):>6}"
                    f"/{len(rs)}"
                )
            )


if __name__ == "__main__":
    main()
