"""Model files validated as data before anything is built: schema, sizes, dtypes, NaN weights."""

import json
import struct
import tracemalloc

import numpy as np
import pytest
from safetensors.numpy import save_file

import ffnn
from ffnn.errors import FFNNError
from ffnn.io import load_model, save_model
from ffnn.modelfile import check_network_config, read_header

_NET = ffnn.mlp([2, 4, 3], rng=0)
_ARRAYS = [a for W, b in _NET.params for a in (W, b)]
_TENSORS = {
    k: np.zeros(a.shape, np.float32) for (k, _), a in zip(_NET.param_blocks(), _ARRAYS, strict=True)
}


def _file(tmp_path, header: dict, name="m.safetensors"):
    p = tmp_path / name
    save_file(_TENSORS, str(p), metadata={"ffnn": json.dumps(header)})
    return p


def _header(**network_changes):
    config = json.loads(json.dumps(_NET.config()))
    config.update(network_changes)
    return {"format": "ffnn.model/1", "network": config, "metadata": {}}


def test_a_saved_model_passes_and_counts_its_parameters(tmp_path):
    net = ffnn.mlp([3, 7, 2], rng=0)
    save_model(tmp_path / "m.safetensors", net)
    h = read_header(tmp_path / "m.safetensors")
    assert h.n_params == net.n_params == check_network_config(net.config())


@pytest.mark.parametrize(
    "change, message",
    [
        ({"layers": {"a": 1}}, "network.layers is"),
        ({"dtype": "bogus"}, "network.dtype is 'bogus'"),
        ({"input": {"dim": "abc"}}, "network.input.dim is 'abc'"),
        ({"input": [3]}, "network.input is"),
        ({"nodes": []}, "nodes is empty"),
        ({"nodes": [{"layer": 9, "parents": [0]}]}, "not among the 3 layers"),
        ({"nodes": [{"layer": 0, "parents": [1]}]}, "must name earlier nodes"),
    ],
)
def test_schema_errors_name_the_field(tmp_path, change, message):
    with pytest.raises(FFNNError, match=message.replace("[", r"\[")):
        load_model(_file(tmp_path, _header(**change)))


def test_metadata_that_is_not_an_object_or_nested_too_deep(tmp_path):
    h = _header()
    h["metadata"] = [1, 2]
    with pytest.raises(FFNNError, match="'metadata' is not an object"):
        load_model(_file(tmp_path, h))
    p = tmp_path / "deep.safetensors"
    deep = '{"network": ' + "[" * 100_000 + "]" * 100_000 + "}"
    save_file({"a": np.zeros(1, np.float32)}, str(p), metadata={"ffnn": deep})
    with pytest.raises(FFNNError, match="nested too deeply"):
        load_model(p)


def test_a_1kB_file_declaring_a_huge_network_fails_fast_without_allocating(tmp_path, monkeypatch):
    monkeypatch.delenv("FFNN_MAX_BYTES", raising=False)
    config = _header()["network"]
    config["layers"][0]["n_out"] = 10**13  # P = 10^13·(2+1) + 3·(10^13+1): 218 TiB of float32
    p = _file(tmp_path, {"format": "ffnn.model/1", "network": config})
    assert p.stat().st_size < 2048
    tracemalloc.start()
    try:
        with pytest.raises(
            FFNNError, match="declares 60,000,000,000,003 parameters.*beyond the limit"
        ):
            load_model(p)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20


def test_limit_argument_and_parameter_count_against_the_tensors(tmp_path):
    net = ffnn.mlp([20, 50, 3], rng=0)
    save_model(tmp_path / "m.safetensors", net)
    with pytest.raises(FFNNError, match="1,203 parameters.*limit of 1.0 KiB"):
        load_model(tmp_path / "m.safetensors", limit=1024)
    h = _header()
    h["network"]["layers"][2]["n_out"] = 5  # the file holds (3, 4) for this layer
    with pytest.raises(FFNNError, match=r"has shape \(3, 4\), the architecture needs \(5, 4\)"):
        load_model(_file(tmp_path, h))


def test_tensor_dtypes_other_than_float32_or_64_are_refused(tmp_path):
    p = tmp_path / "m.safetensors"
    save_model(p, ffnn.mlp([2, 4, 3], rng=0))
    raw = p.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    for dtype, message in [("BF16", "no bfloat16"), ("F16", "parameters must be F32 or F64")]:
        h = json.loads(json.dumps(header))
        for k, v in h.items():
            if k != "__metadata__":
                a, b = v["data_offsets"]
                v["dtype"], v["data_offsets"] = dtype, [a // 2, a // 2 + (b - a) // 2]
        text = json.dumps(h).encode()
        p.write_bytes(struct.pack("<Q", len(text)) + text + raw[8 + n :][: len(raw) // 2])
        with pytest.raises(FFNNError, match=message):
            load_model(p)


def test_nan_or_inf_weights_are_refused_unless_asked_for(tmp_path):
    net = ffnn.mlp([2, 4, 3], rng=0)
    for bad in (np.nan, np.inf):
        net.theta[3] = bad
        save_model(tmp_path / "m.safetensors", net)
        with pytest.raises(
            FFNNError, match="1 of the 27 parameters are NaN or inf.*allow_nonfinite"
        ):
            load_model(tmp_path / "m.safetensors")
        loaded, _ = load_model(tmp_path / "m.safetensors", allow_nonfinite=True)
        assert not np.isfinite(loaded.theta[3])
