"""Built-in data sets, all available offline.

scikit-learn's bundled tables (digits, iris, wine, breast_cancer, diabetes), MNIST-1D regenerated
locally with the ``mnist1d`` package (no download; cached under the user cache directory), and
the synthetic sets of :mod:`ffnn.data.synthetic`.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ffnn.data import synthetic
from ffnn.data.dataset import Dataset
from ffnn.errors import FFNNError
from ffnn.limits import check_bytes

__all__ = ["DATASETS", "DatasetInfo", "load_dataset", "load_data", "cache_dir", "mnist1d"]


def cache_dir() -> Path:
    """Where generated data is cached: $FFNN_CACHE_DIR, else $XDG_CACHE_HOME/ffnn, else
    ~/.cache/ffnn."""
    if os.environ.get("FFNN_CACHE_DIR"):
        return Path(os.environ["FFNN_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ffnn"


def _sklearn(name: str) -> Callable[..., Dataset]:
    def load(**_) -> Dataset:
        import sklearn.datasets as skd

        bunch = getattr(skd, f"load_{name}")()
        X, y = bunch.data, bunch.target
        features = [str(f) for f in getattr(bunch, "feature_names", [])] or None
        if name == "diabetes":
            return Dataset(
                X,
                y,
                "regression",
                name,
                features,
                target_name="progression",
                description="scikit-learn diabetes: disease progression after a year",
            )
        classes = [c.item() if hasattr(c, "item") else str(c) for c in bunch.target_names]
        return Dataset(
            X,
            y.astype(np.int64),
            "classification",
            name,
            features,
            classes,
            description=f"scikit-learn {name} (bundled, no download)",
        )

    load.__doc__ = f"scikit-learn's bundled {name} data set."
    return load


def mnist1d(n: int = 5000, *, seed: int = 42, cache: bool = True, **_) -> Dataset:
    """MNIST-1D (Greydanus 2020): 10 classes of 40-sample 1-D signals, X: (n, 40).

    Regenerated locally with ``mnist1d.data.make_dataset`` (the package's default arguments, seed
    42 = the published data set; no download). The arrays are cached as
    ``<cache_dir>/mnist1d-<hash>.npz``, written atomically. mnist1d seeds the global NumPy and
    ``random`` states; they are restored afterwards.
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 10:
        raise FFNNError(f"mnist1d needs n >= 10 examples, got {n!r}")
    check_bytes(int(n) * 40 * 8 * 4, f"mnist1d with n={int(n):,}", "choose a smaller n")
    try:
        from mnist1d.data import get_dataset_args
    except ImportError:
        raise FFNNError(
            'the mnist1d data set needs the optional mnist1d package: pip install "ffnn[mnist1d]"'
        ) from None

    args = get_dataset_args(as_dict=True)
    args.update(num_samples=int(n), seed=int(seed))
    args.pop("url", None)
    key = hashlib.sha256(json.dumps(args, sort_keys=True).encode()).hexdigest()[:12]
    path = cache_dir() / f"mnist1d-{key}.npz"
    X = y = None
    if cache and path.is_file():
        try:
            with np.load(path) as f:
                X, y = f["X"], f["y"]
        except (OSError, ValueError, KeyError):
            X = y = None  # a damaged cache file: regenerate
    if X is None:
        X, y = _make_mnist1d(args)
        if cache:
            _save_npz_atomic(path, X=X, y=y)
    return Dataset(
        X,
        y.astype(np.int64),
        "classification",
        "mnist1d",
        [f"t{j}" for j in range(X.shape[1])],
        list(range(10)),
        target_name="digit",
        description="MNIST-1D, regenerated locally (mnist1d package)",
    )


def _make_mnist1d(args: dict) -> tuple[np.ndarray, np.ndarray]:
    from mnist1d.data import make_dataset
    from mnist1d.utils import ObjectView

    np_state, py_state = np.random.get_state(), random.getstate()  # noqa: NPY002
    try:
        d = make_dataset(ObjectView(dict(args)))
    finally:
        np.random.set_state(np_state)  # noqa: NPY002
        random.setstate(py_state)
    X = np.concatenate([d["x"], d["x_test"]]).astype(np.float64)
    y = np.concatenate([d["y"], d["y_test"]])
    return X, y


def _save_npz_atomic(path: Path, **arrays) -> None:
    """Best effort: a cache that cannot be written is skipped silently."""
    import io

    from ffnn.fs import atomic_write_bytes

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        atomic_write_bytes(path, buf.getvalue())
    except (OSError, FFNNError):
        pass


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    task: str
    loader: Callable[..., Dataset]
    description: str
    seeded: bool = False  # does the loader take rng (synthetic sets)?


DATASETS: dict[str, DatasetInfo] = {
    d.name: d
    for d in [
        DatasetInfo(
            "digits",
            "classification",
            _sklearn("digits"),
            "8x8 handwritten digits, 1797 x 64, 10 classes (scikit-learn)",
        ),
        DatasetInfo(
            "iris",
            "classification",
            _sklearn("iris"),
            "iris flowers, 150 x 4, 3 classes (scikit-learn)",
        ),
        DatasetInfo(
            "wine",
            "classification",
            _sklearn("wine"),
            "wine cultivars, 178 x 13, 3 classes (scikit-learn)",
        ),
        DatasetInfo(
            "breast_cancer",
            "classification",
            _sklearn("breast_cancer"),
            "breast cancer diagnosis, 569 x 30, 2 classes (scikit-learn)",
        ),
        DatasetInfo(
            "diabetes",
            "regression",
            _sklearn("diabetes"),
            "diabetes progression, 442 x 10, regression (scikit-learn)",
        ),
        DatasetInfo(
            "mnist1d",
            "classification",
            mnist1d,
            "MNIST-1D signals, 5000 x 40, 10 classes (generated locally)",
        ),
        DatasetInfo(
            "sine", "regression", synthetic.sine, "y = sin(2πx) + noise on [-1, 1], 256 x 1", True
        ),
        DatasetInfo(
            "piecewise",
            "regression",
            synthetic.piecewise,
            "lecture 11's piecewise-linear f on [0, 14], 256 x 1",
            True,
        ),
        DatasetInfo(
            "spirals", "classification", synthetic.spirals, "two interleaved spirals, 400 x 2", True
        ),
        DatasetInfo("moons", "classification", synthetic.moons, "two half moons, 400 x 2", True),
        DatasetInfo(
            "circles", "classification", synthetic.circles, "two concentric circles, 400 x 2", True
        ),
        DatasetInfo("xor", "classification", synthetic.xor, "XOR of two signs, 400 x 2", True),
    ]
}


def load_dataset(name: str, rng=0, **kwargs) -> Dataset:
    """A built-in data set by name (see ``DATASETS``); ``rng`` seeds the synthetic ones, and
    keyword arguments (e.g. ``n=1000, noise=0.2``) go to their generator."""
    info = DATASETS.get(str(name).lower().replace("-", "_"))
    if info is None:
        raise FFNNError(f"unknown dataset {name!r}; built-in data sets: {', '.join(DATASETS)}")
    if info.seeded:
        kwargs["rng"] = rng
    try:
        return info.loader(**kwargs)
    except TypeError as e:
        raise FFNNError(f"dataset {info.name!r}: {e}") from None


def load_data(
    spec: str | os.PathLike, *, target=None, task: str | None = None, rng=0, **kwargs
) -> Dataset:
    """A built-in data set name, or a path to a .csv / .npz / .npy file."""
    s = str(spec)
    if s.lower().replace("-", "_") in DATASETS and not Path(s).is_file():
        return load_dataset(s, rng=rng, **kwargs)
    p = Path(s)
    if p.suffix.lower() in (".csv", ".npz", ".npy", ".txt", ".tsv") or p.exists():
        from ffnn.data.files import load_file

        return load_file(p, target=target, task=task, **kwargs)
    raise FFNNError(
        f"{s!r} is neither a built-in data set nor a file; built-in data sets: "
        f"{', '.join(DATASETS)}; files: .csv, .npz, .npy"
    )
