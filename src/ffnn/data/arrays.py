""".npy and .npz files read as untrusted data: the header is checked before the array is read.

The ``.npy`` header declares dtype and shape. :func:`read_npy` refuses object arrays (they are
pickles: never loaded), complex, text and other non-numeric dtypes, a shape whose bytes the file
does not hold (truncated, or a header declaring 10^12 rows), and a size beyond
:mod:`ffnn.limits` — all before allocating. A ``.npz`` is a zip of ``.npy`` members, each read the
same way (its declared uncompressed size checked too); a damaged zip is refused.
"""

from __future__ import annotations

import math
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ffnn.errors import FFNNError
from ffnn.limits import check_bytes

__all__ = ["read_npy", "read_npz"]

_READ_ERRORS = (OSError, EOFError, ValueError, zlib.error, zipfile.BadZipFile, NotImplementedError)


def _header(fh, where: str):
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fh)
        if version == (1, 0):
            return fmt.read_array_header_1_0(fh)
        if version == (2, 0):
            return fmt.read_array_header_2_0(fh)
        return fmt._read_array_header(fh, version)  # (3, 0): no public reader
    except (ValueError, SyntaxError, TypeError, EOFError, OSError, AttributeError, KeyError) as e:
        raise FFNNError(f"{where} is not a readable .npy array ({e})") from None


def _check_dtype(dtype: np.dtype, where: str, text_ok: bool) -> None:
    if dtype.hasobject:
        raise FFNNError(
            f"{where} holds Python objects (a pickle), which ffnn never loads (it could run "
            "code); save plain numbers: np.save(path, X.astype(float))"
        )
    kind = dtype.kind
    if kind == "c":
        raise FFNNError(
            f"{where} holds complex numbers; ffnn takes real features: save "
            "np.column_stack([X.real, X.imag]) or X.real"
        )
    if kind in "US" and text_ok:
        return
    if kind not in "biuf" or dtype.fields is not None:
        raise FFNNError(
            f"{where} has dtype {dtype}; ffnn reads numeric arrays (bool, int, float) only"
        )


def _read(fh, where: str, size: int | None, limit, text_ok: bool = False) -> np.ndarray:
    """Read one array from ``fh`` (at its magic string); ``size``: the bytes there in all."""
    shape, fortran, dtype = _header(fh, where)
    _check_dtype(dtype, where, text_ok)
    nbytes = math.prod(shape) * dtype.itemsize
    if size is not None and nbytes > size - fh.tell():
        raise FFNNError(
            f"{where}: its header declares shape {shape} ({nbytes:,} bytes of {dtype}) but the "
            f"file holds {max(size - fh.tell(), 0):,}; it is truncated or corrupt"
        )
    check_bytes(2 * nbytes, f"{where} (shape {shape}, {dtype})", "use fewer rows", limit)
    data = fh.read(nbytes)
    if len(data) != nbytes:
        raise FFNNError(f"{where}: the array is truncated ({len(data):,} of {nbytes:,} bytes)")
    order = "F" if fortran else "C"
    return np.frombuffer(data, dtype=dtype).reshape(shape, order=order)


def read_npy(path: Path, limit: int | None = None) -> np.ndarray:
    """The array of a .npy file, checked as described in the module docstring."""
    try:
        with open(path, "rb") as fh:
            return _read(fh, str(path), path.stat().st_size, limit)
    except FFNNError:
        raise
    except _READ_ERRORS as e:
        raise FFNNError(f"{path}: cannot read this .npy file ({e})") from None


class NpzReader:
    """The members of a .npz file by key, each read only when asked for."""

    def __init__(self, path: Path, limit: int | None = None):
        self.path, self.limit = path, limit
        try:
            self.zip = zipfile.ZipFile(path)
            self.members = {
                i.filename.removesuffix(".npy"): i for i in self.zip.infolist() if not i.is_dir()
            }
        except _READ_ERRORS as e:
            raise FFNNError(
                f"{path}: not a readable .npz file (corrupt or truncated zip: {e}); save it "
                "again with np.savez"
            ) from None

    def keys(self) -> list[str]:
        return list(self.members)

    def __getitem__(self, key: str) -> np.ndarray:
        info = self.members[key]
        where = f"{self.path}[{key!r}]"
        try:
            with self.zip.open(info) as fh:
                return _read(fh, where, info.file_size, self.limit, text_ok=True)
        except FFNNError:
            raise
        except _READ_ERRORS as e:
            raise FFNNError(
                f"{where}: cannot read this member of the .npz (corrupt or truncated: {e})"
            ) from None

    def close(self) -> None:
        self.zip.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def read_npz(path: Path, limit: int | None = None) -> NpzReader:
    """A reader over the members of a .npz (use it as a context manager)."""
    return NpzReader(path, limit)
