"""Property-based hostile inputs (hypothesis): whatever a model file's header or a data file holds,
the library either reads it correctly or raises FFNNError — never another exception."""

import copy
import json
import struct
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ffnn
from ffnn.data import load_file
from ffnn.errors import FFNNError
from ffnn.io import load_model, save_model

SETTINGS = settings(
    max_examples=int(__import__("os").environ.get("FFNN_HYPOTHESIS_EXAMPLES", 60)),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
LIMIT = 32 * 2**20

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


def _valid_file(tmp_path):
    p = tmp_path / "m.safetensors"
    net = ffnn.mlp([3, 5, 2], activation="tanh", rng=0)
    save_model(p, net, {"note": "x"})
    raw = p.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + n]), raw[8 + n :]


def _write(tmp_path, header: dict, blob: bytes):
    text = json.dumps(header).encode()
    p = tmp_path / "h.safetensors"
    p.write_bytes(struct.pack("<Q", len(text)) + text + blob)
    return p


def _paths(node, prefix=()):
    """Every (path, value) in a JSON tree."""
    yield prefix, node
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else []
    )
    for k, v in items:
        yield from _paths(v, (*prefix, k))


def _loads_or_refuses(path, monkeypatch):
    monkeypatch.setenv("FFNN_MAX_BYTES", str(LIMIT))
    try:
        net, meta = load_model(path)
    except FFNNError:
        return None
    assert np.isfinite(net.theta).all() and isinstance(meta, dict)
    return net


@SETTINGS
@given(data=st.data())
def test_mutated_metadata_loads_or_is_refused(tmp_path, monkeypatch, data):
    header, blob = _valid_file(tmp_path)
    meta = json.loads(header["__metadata__"]["ffnn"])
    for _ in range(data.draw(st.integers(1, 3))):
        paths = [p for p, _ in _paths(meta) if p]
        where = data.draw(st.sampled_from(paths))
        parent = meta
        for k in where[:-1]:
            parent = parent[k]
        if data.draw(st.booleans()) and isinstance(parent, dict):
            del parent[where[-1]]
        else:
            parent[where[-1]] = data.draw(json_values)
    header = copy.deepcopy(header)
    header["__metadata__"]["ffnn"] = json.dumps(meta)
    _loads_or_refuses(_write(tmp_path, header, blob), monkeypatch)


@SETTINGS
@given(
    name=st.sampled_from(["dense_a", "theta", "x"]),
    dtype=st.sampled_from(["F32", "F64", "BF16", "F16", "I64", "U8", "bogus", 3, None]),
    shape=st.lists(st.integers(-2, 2**40), max_size=3) | json_values,
    offsets=st.lists(st.integers(-5, 2**40), min_size=0, max_size=3) | json_values,
)
def test_mutated_tensor_entries_load_or_are_refused(
    tmp_path, monkeypatch, name, dtype, shape, offsets
):
    header, blob = _valid_file(tmp_path)
    key = next(k for k in header if k != "__metadata__")
    target = key if name == "dense_a" else name
    header[target] = {"dtype": dtype, "shape": shape, "data_offsets": offsets}
    _loads_or_refuses(_write(tmp_path, header, blob), monkeypatch)


@SETTINGS
@given(
    dims=st.lists(st.integers(1, 10**9), min_size=2, max_size=5),
    dtype=st.sampled_from(["float32", "float64"]),
)
def test_declared_architectures_are_sized_before_building(tmp_path, monkeypatch, dims, dtype):
    header, blob = _valid_file(tmp_path)
    meta = json.loads(header["__metadata__"]["ffnn"])
    dense = [c for c in meta["network"]["layers"] if c["kind"] == "dense"]
    meta["network"]["input"]["dim"] = dims[0]
    for c, n in zip(dense, dims[1:], strict=False):
        c["n_out"] = n
    meta["network"]["dtype"] = dtype
    header["__metadata__"]["ffnn"] = json.dumps(meta)
    assert _loads_or_refuses(_write(tmp_path, header, blob), monkeypatch) is None or dims[:3] == [
        3,
        5,
        2,
    ]


@SETTINGS
@given(
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=8),
    cut=st.integers(0, 64),
)
def test_damaged_model_bytes_load_or_are_refused(tmp_path, monkeypatch, flips, cut):
    p = tmp_path / "m.safetensors"
    save_model(p, ffnn.mlp([3, 5, 2], rng=0))
    raw = bytearray(p.read_bytes())
    for pos, byte in flips:
        raw[pos % len(raw)] = byte
    p.write_bytes(bytes(raw[: len(raw) - cut]))
    _loads_or_refuses(p, monkeypatch)


def _read(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            return load_file(path, **kw)
        except FFNNError:
            return None


@SETTINGS
@given(raw=st.binary(max_size=600), ext=st.sampled_from([".csv", ".tsv", ".npy", ".npz"]))
def test_random_bytes_as_data_are_refused_or_read(tmp_path, monkeypatch, raw, ext):
    monkeypatch.setenv("FFNN_MAX_BYTES", str(LIMIT))
    p = tmp_path / f"d{ext}"
    p.write_bytes(raw)
    ds = _read(p)
    assert ds is None or np.isfinite(ds.X).all()


cells = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.integers(-(10**20), 10**20),
    st.sampled_from(["", "NA", "True", "false", "x", "1e400", "-1.7e308", '"1,5"', " 3 "]),
    st.text(max_size=5),
)


@SETTINGS
@given(
    rows=st.lists(st.lists(cells, min_size=3, max_size=3), min_size=1, max_size=12),
    sep=st.sampled_from([",", ";", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252"]),
    give_sep=st.booleans(),
)
def test_random_csv_tables_are_refused_or_read_truthfully(tmp_path, rows, sep, encoding, give_sep):
    lines = [sep.join(["a", "b", "target"])] + [sep.join(str(c) for c in r) for r in rows]
    p = tmp_path / "d.csv"
    try:
        p.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    except UnicodeEncodeError:
        return
    ds = _read(p, sep=sep if give_sep else None)
    if ds is not None:
        assert ds.X.shape[1] == 2 and np.isfinite(ds.X).all()


@SETTINGS
@given(
    X=st.lists(
        st.lists(st.floats(-1e300, 1e300, width=64), min_size=2, max_size=2),
        min_size=2,
        max_size=20,
    ),
    sep=st.sampled_from([",", ";", "\t"]),
)
def test_numeric_csv_reads_back_exactly(tmp_path, X, sep):
    X = np.array(X)
    y = np.arange(len(X)) % 2
    p = tmp_path / "n.csv"
    body = "\n".join(
        sep.join([repr(float(a)), repr(float(b)), str(t)]) for (a, b), t in zip(X, y, strict=True)
    )
    p.write_text(sep.join(["a", "b", "label"]) + "\n" + body + "\n")
    if len(set(y)) < 2:
        return
    ds = load_file(p)
    assert np.array_equal(ds.X, X) and ds.feature_names == ["a", "b"]


@pytest.mark.parametrize("dtype", ["<f8", "<i4", "|b1", "<c16", "|O", "<U3", "|V8"])
def test_npy_headers_with_any_dtype_and_shape(tmp_path, monkeypatch, dtype):
    import io

    monkeypatch.setenv("FFNN_MAX_BYTES", str(LIMIT))
    for shape in [(4, 3), (10**12, 3), (0, 2), (2, 2, 2), (5,)]:
        buf = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            buf, {"descr": dtype, "fortran_order": False, "shape": shape}
        )
        p = tmp_path / "a.npy"
        p.write_bytes(buf.getvalue() + b"\x01" * 96)
        ds = _read(p)
        assert ds is None or np.isfinite(ds.X).all()
