"""Model files: safetensors + JSON, atomic writes, clear errors, no code executed (checkpoints:
tests/train/test_checkpoints.py)."""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest
from safetensors.numpy import save_file

import ffnn
from ffnn import Act, Add, Concat, Dense, Input, Network
from ffnn.errors import FFNNError
from ffnn.io import load_model, save_model


def dag_net(dtype=np.float32):
    x = Input(3)
    h = Act("relu")(Dense(8)(x))
    s = Add()(h, Dense(8)(x))
    out = Dense(2)(Concat()(s, Act("tanh")(Dense(4)(x))))
    return Network(x, out, output="softmax", rng=1, dtype=dtype)


@pytest.mark.parametrize(
    "make",
    [
        lambda: ffnn.mlp([3, 16, 16, 1], "tanh", rng=0),
        lambda: ffnn.mlp([3, 5, 4], ["gelu"], output="softmax", rng=2, dtype=np.float64),
        dag_net,
    ],
)
def test_model_round_trip_gives_identical_predictions(tmp_path, make):
    net = make()
    X = np.random.default_rng(0).standard_normal((7, 3))
    path = tmp_path / "model.safetensors"
    save_model(path, net, metadata={"note": "hello", "classes": [0, 1]})
    back, meta = load_model(path)
    assert meta == {"note": "hello", "classes": [0, 1]}
    assert back.dtype == net.dtype and back.widths == net.widths
    assert back.output.name == net.output.name
    np.testing.assert_array_equal(back.theta, net.theta)
    np.testing.assert_array_equal(back(X), net(X))


def test_file_is_plain_safetensors_with_named_blocks(tmp_path):
    from safetensors import safe_open

    net = ffnn.mlp([2, 3, 1], rng=0)
    save_model(tmp_path / "m.safetensors", net)
    with safe_open(str(tmp_path / "m.safetensors"), framework="np") as fh:
        keys = set(fh.keys())
        header = json.loads(fh.metadata()["ffnn"])
    assert keys == {name for name, _ in net.param_blocks()}
    assert header["format"] == "ffnn.model/1" and header["network"] == net.config()


def test_atomic_write_leaves_no_temp_files(tmp_path):
    net = ffnn.mlp([2, 3, 1], rng=0)
    for _ in range(3):
        save_model(tmp_path / "m.safetensors", net)
    assert sorted(os.listdir(tmp_path)) == ["m.safetensors"]


def test_failed_write_leaves_old_target_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    old = ffnn.mlp([2, 3, 1], rng=0)
    save_model(path, old)
    before = path.read_bytes()

    def boom(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        save_model(path, ffnn.mlp([2, 3, 1], rng=5))
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.safetensors"]
    with pytest.raises(OSError):
        save_model(tmp_path / "new.safetensors", old)
    assert os.listdir(tmp_path) == ["m.safetensors"]  # no partial new file either


def test_unserializable_metadata_is_refused_before_writing(tmp_path):
    with pytest.raises(FFNNError, match="JSON"):
        save_model(tmp_path / "m", ffnn.mlp([2, 1], rng=0), metadata={"f": object()})
    assert os.listdir(tmp_path) == []


def test_missing_corrupt_and_foreign_files(tmp_path):
    with pytest.raises(FFNNError, match="does not exist"):
        load_model(tmp_path / "nope.safetensors")
    with pytest.raises(FFNNError, match="not a file"):
        load_model(tmp_path)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00\x01garbage" * 10)
    with pytest.raises(FFNNError, match="not a readable safetensors"):
        load_model(junk)
    pick = tmp_path / "model.pkl"
    pick.write_bytes(pickle.dumps({"theta": np.zeros(3)}))
    with pytest.raises(FFNNError, match="safetensors"):
        load_model(pick)
    good = tmp_path / "good.safetensors"
    save_model(good, ffnn.mlp([2, 4, 1], rng=0))
    truncated = tmp_path / "trunc.safetensors"
    truncated.write_bytes(good.read_bytes()[:-20])
    with pytest.raises(FFNNError, match="not a readable safetensors"):
        load_model(truncated)
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": np.zeros(3, dtype=np.float32)}, str(foreign))
    with pytest.raises(FFNNError, match="not an ffnn"):
        load_model(foreign)


def test_mismatched_shapes_and_missing_blocks(tmp_path):
    net = ffnn.mlp([2, 4, 1], rng=0)
    meta = {"ffnn": json.dumps({"format": "ffnn.model/1", "network": net.config()})}
    tensors = {name: np.zeros(1, dtype=np.float32) for name, _ in net.param_blocks()}
    bad = tmp_path / "bad.safetensors"
    save_file(tensors, str(bad), metadata=meta)
    with pytest.raises(FFNNError, match="shape"):
        load_model(bad)
    tensors = {net.param_blocks()[0][0]: net.params[0][0].copy()}  # W^(1) only
    save_file(tensors, str(bad), metadata=meta)
    with pytest.raises(FFNNError, match="missing"):
        load_model(bad)
    meta = {"ffnn": "{broken"}
    save_file({"a": np.zeros(1)}, str(bad), metadata=meta)
    with pytest.raises(FFNNError, match="corrupt metadata"):
        load_model(bad)
