"""A model file validated as data, before anything is read into memory or built.

A safetensors file is ``u64 N`` (little endian), ``N`` bytes of JSON, then the tensors' bytes.
:func:`read_header` reads only the first ``8 + N`` bytes and checks, against the file's size:

* the JSON header: each tensor's dtype (float, int, bool; BF16 / FP8 refused: NumPy has none),
  shape (non-negative ints) and byte range (inside the file, ``prod(shape) · itemsize`` long);
* the ffnn metadata (``__metadata__["ffnn"]``): a JSON object whose ``network`` follows the schema
  of ``Network.config()`` — input dim, layers (kind, name, n_out, activation), nodes (layer
  index, parents that come earlier), dtype — see :func:`check_network_config`;
* the parameter count the architecture declares, P = Σ_l n_l (n_{l-1} + 1), against the limit of
  :mod:`ffnn.limits` and against the tensors actually in the file (``theta``: (P,), or each
  ``NAME.W``: (n_l, n_{l-1}) and ``NAME.b``: (n_l,)).

Only then are the tensors read. Nothing here executes code from the file.
"""

from __future__ import annotations

import json
import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path

from ffnn.errors import FFNNError
from ffnn.limits import check_bytes

__all__ = ["FileHeader", "read_header", "check_network_config", "MAX_HEADER_BYTES"]

MAX_HEADER_BYTES = 100 * 2**20  # safetensors' own cap on the JSON header
_ITEMSIZE = {
    "F64": 8, "F32": 4, "F16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
    "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1,
}  # fmt: skip
_PARAM_DTYPES = {"float32": "F32", "float64": "F64"}
_KINDS = ("dense", "act", "add", "concat")


@dataclass
class FileHeader:
    """The checked header: ``tensors`` maps a name to (dtype, shape); ``ffnn`` is the decoded
    metadata object; ``n_params`` the architecture's P."""

    tensors: dict[str, tuple[str, tuple[int, ...]]]
    ffnn: dict
    n_params: int


def _bad(path, what: str) -> FFNNError:
    return FFNNError(f"{str(path)!r} is not a valid ffnn model file: {what}")


def _unreadable(path, what: str, detail: str) -> FFNNError:
    return FFNNError(
        f"{what} file {str(path)!r} is not a readable safetensors file (corrupt or truncated?): "
        f"{detail}"
    )


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _json(text: str, fail):
    try:
        return json.loads(text)
    except RecursionError:
        raise fail("it is nested too deeply") from None
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as e:
        raise fail(f"not valid JSON ({e})") from None


def _raw_header(path: Path, what: str) -> tuple[dict, int]:
    size = path.stat().st_size
    fail = lambda detail: _unreadable(path, what, detail)
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise fail(f"only {size} bytes, too short for a safetensors header")
        (n,) = struct.unpack("<Q", head)
        if n > MAX_HEADER_BYTES or 8 + n > size:
            raise fail(
                f"the header declares {n} bytes but the file has {size} (truncated, or not a "
                f"safetensors {what} file)",
            )
        raw = fh.read(n)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise fail("the header is not UTF-8 text (not a safetensors file?)") from None
    header = _json(text, lambda d: fail(f"the header: {d}"))
    if not isinstance(header, dict):
        raise fail(f"the header is a JSON {type(header).__name__}, not an object")
    return header, size - 8 - n


def _check_tensor(path, name: str, entry, data_len: int, what: str) -> tuple[str, tuple[int, ...]]:
    fail = lambda detail: _unreadable(path, what, detail)
    if not isinstance(entry, dict):
        raise fail(f"tensor {name!r} is described by a {type(entry).__name__}, not an object")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if dtype not in _ITEMSIZE:
        hint = " (NumPy has no bfloat16: convert it to float32 first)" if dtype == "BF16" else ""
        raise fail(f"tensor {name!r} has dtype {dtype!r}, which ffnn does not read{hint}")
    if not isinstance(shape, list) or not all(_is_int(d) and d >= 0 for d in shape):
        raise fail(f"tensor {name!r} has shape {str(shape)[:80]}, not a list of sizes >= 0")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(_is_int(o) for o in offsets)
        or not 0 <= offsets[0] <= offsets[1] <= data_len
    ):
        raise fail(f"tensor {name!r} lies at bytes {str(offsets)[:80]}, outside the file's data")
    if math.prod(shape) * _ITEMSIZE[dtype] != offsets[1] - offsets[0]:
        raise fail(f"tensor {name!r}: shape {shape} does not match its {dtype} byte range")
    return dtype, tuple(shape)


def _field(d: dict, key: str, kinds, where: str, path, required: bool = True):
    if key not in d:
        if required:
            raise _bad(path, f"{where} has no {key!r}")
        return None
    v = d[key]
    ok = _is_int(v) if kinds is int else isinstance(v, kinds)
    if not ok:
        raise _bad(
            path, f"{where}.{key} is {str(v)[:60]!r}, not {getattr(kinds, '__name__', kinds)}"
        )
    return v


def _check_layer(c, i: int, path) -> None:
    where = f"network.layers[{i}]"
    if not isinstance(c, dict):
        raise _bad(path, f"{where} is a {type(c).__name__}, not an object")
    kind = _field(c, "kind", str, where, path)
    if kind not in _KINDS:
        raise _bad(path, f"{where}.kind is {kind!r}; known kinds: {', '.join(_KINDS)}")
    _field(c, "name", str, where, path)
    if kind == "dense":
        if _field(c, "n_out", int, where, path) < 1:
            raise _bad(path, f"{where}.n_out is {c['n_out']}, not a positive width")
        _field(c, "init", (dict, str, int, float), where, path, required=False)
    if kind == "act":
        from ffnn.core.activations import ACTIVATIONS

        if _field(c, "activation", str, where, path) not in ACTIVATIONS:
            raise _bad(path, f"{where}.activation {c['activation']!r} is not an ffnn activation")
        params = _field(c, "activation_params", list, where, path, required=False) or []
        if not all(isinstance(p, int | float) and not isinstance(p, bool) for p in params):
            raise _bad(path, f"{where}.activation_params must be numbers")


def _node_dim(layers: list, li: int, dims: list[int], where: str, path, n_in: dict) -> int:
    layer = layers[li]
    kind = layer["kind"]
    if kind in ("dense", "act"):
        if len(dims) != 1:
            raise _bad(path, f"{where}: a {kind} layer takes one input, got {len(dims)}")
        if kind == "act":
            return dims[0]
        if n_in.setdefault(li, dims[0]) != dims[0]:
            raise _bad(path, f"{where}: shared dense layer {layer['name']!r} sees two widths")
        return layer["n_out"]
    if len(dims) < 2:
        raise _bad(path, f"{where}: an {kind} layer takes two or more inputs, got {len(dims)}")
    if kind == "add" and len(set(dims)) != 1:
        raise _bad(path, f"{where}: add of inputs of unequal widths {dims}")
    return dims[0] if kind == "add" else sum(dims)


def check_network_config(config, path="<config>") -> int:
    """Check a ``Network.config()`` dict as data; return its parameter count P (raises
    FFNNError naming the first field that is wrong)."""
    if not isinstance(config, dict):
        raise _bad(path, f"'network' is a {type(config).__name__}, not an object")
    inp = _field(config, "input", dict, "network", path)
    if _field(inp, "dim", int, "network.input", path) < 1:
        raise _bad(path, f"network.input.dim is {inp['dim']}, not a positive width")
    _field(inp, "name", str, "network.input", path, required=False)
    layers = _field(config, "layers", list, "network", path)
    nodes = _field(config, "nodes", list, "network", path)
    for i, c in enumerate(layers):
        _check_layer(c, i, path)
    if not nodes:
        raise _bad(path, "network.nodes is empty")
    dtype = _field(config, "dtype", str, "network", path, required=False) or "float32"
    if dtype not in _PARAM_DTYPES:
        raise _bad(path, f"network.dtype is {dtype!r}; ffnn networks are float32 or float64")
    _field(config, "output_activation", str, "network", path, required=False)
    _field(config, "init", (dict, str, int, float), "network", path, required=False)
    dims, n_in = [inp["dim"]], {}
    for i, nd in enumerate(nodes):
        where = f"network.nodes[{i}]"
        if not isinstance(nd, dict):
            raise _bad(path, f"{where} is a {type(nd).__name__}, not an object")
        li = _field(nd, "layer", int, where, path)
        parents = _field(nd, "parents", list, where, path)
        if not 0 <= li < len(layers):
            raise _bad(path, f"{where}.layer {li} is not among the {len(layers)} layers")
        if not all(_is_int(p) and 0 <= p <= i for p in parents):
            raise _bad(path, f"{where}.parents {str(parents)[:60]} must name earlier nodes")
        dims.append(_node_dim(layers, li, [dims[p] for p in parents], where, path, n_in))
    return sum(layers[li]["n_out"] * (n + 1) for li, n in n_in.items())


def _check_params(path, tensors: dict, config: dict, n_params: int) -> None:
    want = _PARAM_DTYPES[config.get("dtype") or "float32"]
    if "theta" in tensors:
        expected = {"theta": (n_params,)}
    else:
        expected, n_in = {}, {}
        dims = [config["input"]["dim"]]
        layers = config["layers"]
        for nd in config["nodes"]:
            layer = layers[nd["layer"]]
            d = [dims[p] for p in nd["parents"]]
            dims.append(_node_dim(layers, nd["layer"], d, "network.nodes", path, n_in))
            if layer["kind"] == "dense":
                expected[f"{layer['name']}.W"] = (layer["n_out"], d[0])
                expected[f"{layer['name']}.b"] = (layer["n_out"],)
    for key, shape in expected.items():
        if key not in tensors:
            raise _bad(path, f"the parameters {key} are missing (the architecture needs {shape})")
        dtype, got = tensors[key]
        if got != shape:
            raise _bad(path, f"{key} has shape {got}, the architecture needs {shape}")
        if dtype not in ("F32", "F64"):
            raise _bad(path, f"{key} is {dtype}; parameters must be F32 or F64 ({want})")


def read_header(path: str | os.PathLike, what: str = "model", limit: int | None = None):
    """Check the file at ``path`` as data (see the module docstring); return a FileHeader.

    ``limit``: the most bytes the declared parameters may take (default: :mod:`ffnn.limits`).
    """
    path = Path(path)
    header, data_len = _raw_header(path, what)
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise _bad(path, "__metadata__ must map names to strings")
    tensors = {k: _check_tensor(path, k, v, data_len, what) for k, v in header.items()}
    if "ffnn" not in meta:
        raise FFNNError(
            f"{str(path)!r} is a safetensors file but not an ffnn {what} (no 'ffnn' metadata); "
            "save it with ffnn.io.save_model / save_checkpoint"
        )
    ffnn = _json(
        meta["ffnn"], lambda d: FFNNError(f"{what} file {str(path)!r} has corrupt metadata: {d}")
    )
    if not isinstance(ffnn, dict) or "network" not in ffnn:
        raise _bad(path, "its ffnn metadata has no network description")
    if not isinstance(ffnn.get("metadata", {}) or {}, dict):
        raise _bad(path, "its 'metadata' is not an object")
    n_params = check_network_config(ffnn["network"], path)
    itemsize = 8 if ffnn["network"].get("dtype") == "float64" else 4
    check_bytes(
        2 * n_params * itemsize,
        f"{str(path)!r} declares {n_params:,} parameters; building it",
        "this file describes a network larger than this machine can hold",
        limit,
    )
    _check_params(path, tensors, ffnn["network"], n_params)
    return FileHeader(tensors, ffnn, n_params)
