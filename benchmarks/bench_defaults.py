"""`ffnn train NAME` at its defaults on every built-in data set, beside scikit-learn peers.

    python benchmarks/bench_defaults.py [--only mnist1d,spirals] [--seeds 0 1 2]
                                        [--set patience=50 --set monitor=val_accuracy]

For each built-in data set and seed, one training run exactly as `ffnn train NAME --seed S`
(``ffnn.runs.run_training`` with the default ``RunConfig``; ``--set`` changes a default, to try
another), then, on the same split and the same standardized inputs (the preprocessing fitted on
the run's training part; the validation part is given to the peers as training data too),
scikit-learn's LogisticRegression / Ridge and MLPClassifier / MLPRegressor at their defaults
(random_state = the seed; max_iter 1000 for LogisticRegression). The score is the test accuracy
(classification) or the test R² (regression), the mean over seeds (± the spread when several).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
import warnings
from dataclasses import fields, replace


def _args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="comma-separated data set names (default: all built-in)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    return ap.parse_args()


def _overrides(pairs: list[str]) -> dict:
    from ffnn.runs import RunConfig

    types = {f.name: f.type for f in fields(RunConfig)}
    out = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key not in types:
            sys.exit(f"--set {pair}: RunConfig has no field {key!r}")
        out[key] = _parse(value)
    return out


def _parse(value: str):
    if value.lower() in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    if "," in value:
        return [int(v) for v in value.split(",")]
    return value


def _peers(prep) -> dict[str, float]:
    """Test scores of scikit-learn's linear model and MLP at their defaults on the run's split."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    seed, pre = prep.config.seed, prep.preprocessor
    parts = [prep.train] + ([prep.val] if prep.val is not None else [])
    X = pre.transform_X(np.concatenate([p.X for p in parts]))
    y = np.concatenate([p.y for p in parts])
    Xt, yt = pre.transform_X(prep.test.X), prep.test.y
    if prep.dataset.task == "classification":
        models = {
            "logistic": LogisticRegression(max_iter=1000, random_state=seed),
            "sk_mlp": MLPClassifier(random_state=seed),
        }
    else:
        models = {"ridge": Ridge(), "sk_mlp": MLPRegressor(random_state=seed)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter: part of the default
        return {k: float(m.fit(X, y).score(Xt, yt)) for k, m in models.items()}


def _one(name: str, seed: int, overrides: dict, folder: str) -> dict:
    from ffnn.runs import RunConfig, prepare_run, train_prepared

    cfg = replace(RunConfig(name, seed=seed, progress=False), **overrides)
    cfg = replace(cfg, out=os.path.join(folder, f"{name}-{seed}"))
    prep = prepare_run(cfg)
    t0 = time.perf_counter()
    result = train_prepared(prep)
    seconds = time.perf_counter() - t0
    test = result.metrics["test"]
    score = test.get("accuracy", test.get("r2"))
    h = result.history
    return {"ffnn": score, "epochs": len(h), "seconds": seconds, **_peers(prep),
            "stop": h.stop_reason}  # fmt: skip


def _cell(values: list[float], percent: bool) -> str:
    import numpy as np

    v = np.array(values, dtype=float)
    f = 100 * v if percent else v
    fmt = ".1f" if percent else ".3f"
    text = f"{f.mean():{fmt}}" + ("%" if percent else "")
    if len(v) > 1:
        text += f" ± {(f.max() - f.min()) / 2:{fmt}}"
    return text


def main() -> None:
    args = _args()
    from ffnn.data import DATASETS

    names = args.only.split(",") if args.only else list(DATASETS)
    overrides = _overrides(args.set)
    print(f"# {platform.machine()}, {os.cpu_count()} CPUs, python {platform.python_version()};"
          f" seeds {args.seeds}; overrides {overrides or 'none'}")  # fmt: skip
    print("| data set | task | ffnn train (default) | epochs | s | linear (sklearn) | "
          "MLP (sklearn) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            rows = [_one(name, s, overrides, folder) for s in args.seeds]
            pct = DATASETS[name].task == "classification"
            lin = "logistic" if pct else "ridge"
            epochs = "/".join(str(r["epochs"]) for r in rows)
            secs = sum(r["seconds"] for r in rows) / len(rows)
            print(f"| {name} | {'accuracy' if pct else 'R²'} | "
                  f"{_cell([r['ffnn'] for r in rows], pct)} | {epochs} | {secs:.1f} | "
                  f"{_cell([r[lin] for r in rows], pct)} | "
                  f"{_cell([r['sk_mlp'] for r in rows], pct)} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
