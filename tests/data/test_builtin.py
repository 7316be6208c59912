import socket

import numpy as np
import pytest

from ffnn.data import DATASETS, load_data, load_dataset
from ffnn.errors import FFNNError

SHAPES = {
    "digits": (1797, 64, "classification", 10),
    "iris": (150, 4, "classification", 3),
    "wine": (178, 13, "classification", 3),
    "breast_cancer": (569, 30, "classification", 2),
    "diabetes": (442, 10, "regression", 1),
    "sine": (256, 1, "regression", 1),
    "piecewise": (256, 1, "regression", 1),
    "spirals": (400, 2, "classification", 2),
    "moons": (400, 2, "classification", 2),
    "circles": (400, 2, "classification", 2),
    "xor": (400, 2, "classification", 2),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_shapes_and_tasks(name):
    n, n0, task, k = SHAPES[name]
    ds = load_dataset(name)
    assert ds.X.shape == (n, n0) and ds.y.shape == (n,)
    assert ds.task == task and ds.n_outputs == k
    assert len(ds.feature_names) == n0
    assert np.isfinite(ds.X).all()


def test_every_registered_dataset_is_checked():
    assert set(DATASETS) == set(SHAPES) | {"mnist1d"}


def test_synthetic_seeded_and_sized():
    a, b = load_dataset("moons", rng=1, n=50), load_dataset("moons", rng=1, n=50)
    c = load_dataset("moons", rng=2, n=50)
    assert a.X.shape == (50, 2)
    assert np.array_equal(a.X, b.X) and not np.array_equal(a.X, c.X)


def test_mnist1d_offline_cached_and_no_global_rng_change(tmp_path, monkeypatch):
    monkeypatch.setenv("FFNN_CACHE_DIR", str(tmp_path))

    def no_network(*a, **k):
        raise AssertionError("mnist1d tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    np.random.seed(123)  # noqa: NPY002
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    ds = load_dataset("mnist1d", n=200)
    assert np.array_equal(np.random.get_state()[1], before)  # noqa: NPY002
    assert ds.X.shape == (200, 40) and ds.classes == list(range(10))
    files = list(tmp_path.glob("mnist1d-*.npz"))
    assert len(files) == 1 and not list(tmp_path.glob("*.tmp"))
    again = load_dataset("mnist1d", n=200)  # from the cache
    assert np.array_equal(again.X, ds.X) and np.array_equal(again.y, ds.y)


def test_unknown_dataset_lists_available():
    with pytest.raises(FFNNError, match="unknown dataset 'mnist'.*digits"):
        load_dataset("mnist")
    with pytest.raises(FFNNError, match="neither a built-in data set nor a file"):
        load_data("nonsense")


def test_mnist1d_without_its_package_names_the_extra(monkeypatch):
    import sys

    from ffnn.data import load_dataset
    from ffnn.errors import FFNNError

    monkeypatch.setitem(sys.modules, "mnist1d", None)
    monkeypatch.setitem(sys.modules, "mnist1d.data", None)
    with pytest.raises(FFNNError, match=r'pip install "ffnn\[mnist1d\]"'):
        load_dataset("mnist1d", n=100, cache=False)
