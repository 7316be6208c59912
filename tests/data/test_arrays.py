""".npy / .npz as untrusted data: headers checked before reading, no pickle ever."""

import io
import os

import numpy as np
import pytest

from ffnn.data import load_file
from ffnn.data.arrays import read_npy, read_npz
from ffnn.errors import FFNNError


class _Bomb:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (self.path,))


def test_object_arrays_are_never_unpickled(tmp_path):
    a = np.empty(2, dtype=object)
    a[0] = _Bomb(str(tmp_path / "RAN"))
    np.save(tmp_path / "b.npy", a, allow_pickle=True)
    np.savez(tmp_path / "b.npz", X=a, y=np.zeros(2))
    for name in ("b.npy", "b.npz"):
        with pytest.raises(
            FFNNError, match="Python objects \\(a pickle\\), which ffnn never loads"
        ):
            load_file(tmp_path / name)
    assert not (tmp_path / "RAN").exists()


def test_a_header_declaring_1e12_rows_is_refused_from_the_file_size(tmp_path):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f8", "fortran_order": False, "shape": (10**12, 3)}
    )
    (tmp_path / "h.npy").write_bytes(buf.getvalue() + b"\0" * 80)
    with pytest.raises(
        FFNNError, match=r"declares shape \(1000000000000, 3\).*file holds 80; it is truncated"
    ):
        read_npy(tmp_path / "h.npy")


def test_dtypes_and_damaged_files(tmp_path, monkeypatch):
    np.save(tmp_path / "c.npy", np.ones((3, 2), complex))
    with pytest.raises(FFNNError, match="complex numbers"):
        load_file(tmp_path / "c.npy")
    np.savez(tmp_path / "ok.npz", X=np.ones((50, 3)), y=np.arange(50) % 2)
    (tmp_path / "t.npz").write_bytes((tmp_path / "ok.npz").read_bytes()[:-60])
    with pytest.raises(FFNNError, match="not a readable .npz file"):
        load_file(tmp_path / "t.npz")
    np.save(tmp_path / "big.npy", np.ones((1000, 100)))
    monkeypatch.setenv("FFNN_MAX_BYTES", "1M")
    with pytest.raises(FFNNError, match="needs 1.5 MiB, beyond the limit of 1.0 MiB"):
        read_npy(tmp_path / "big.npy")
    monkeypatch.delenv("FFNN_MAX_BYTES")
    assert read_npy(tmp_path / "big.npy").shape == (1000, 100)
    np.save(tmp_path / "f.npy", np.asfortranarray(np.arange(6.0).reshape(2, 3)))
    assert read_npy(tmp_path / "f.npy").tolist() == [[0, 1, 2], [3, 4, 5]]
    with read_npz(tmp_path / "ok.npz") as z:
        assert sorted(z.keys()) == ["X", "y"] and z["X"].shape == (50, 3)
