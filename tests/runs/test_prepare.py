"""Preparing a run: every mistake refused before a file is written; hostile files in one line."""

import numpy as np
import pytest

from ffnn.data import load_file
from ffnn.errors import FFNNError
from ffnn.runs import RunConfig, prepare_run
from ffnn.runs.prepare import accepts


def _hostile(tmp_path):
    """Files whose readers raise something other than FFNNError (before the guard)."""
    (tmp_path / "binary.csv").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "latin1.csv").write_bytes("a,b,lab\xe9l\n1,2,x\n3,4,y\n".encode("latin-1"))
    (tmp_path / "long.csv").write_text("a,b,label\n" + "1" * 200_000 + ",2,x\n3,4,y\n")
    np.savez(tmp_path / "ok.npz", X=np.ones((6, 2)), y=np.arange(6) % 2)
    whole = (tmp_path / "ok.npz").read_bytes()
    (tmp_path / "truncated.npz").write_bytes(whole[: len(whole) // 2])
    obj = np.array([[1, "a"]] * 4, dtype=object)
    np.savez(tmp_path / "object.npz", X=obj, y=np.arange(4), allow_pickle=True)
    np.save(tmp_path / "complex.npy", np.ones((6, 3), dtype=complex))
    return ["binary.csv", "latin1.csv", "long.csv", "truncated.npz", "object.npz", "complex.npy"]


def test_hostile_files_are_refused_as_user_errors(tmp_path):
    for name in _hostile(tmp_path):
        cfg = RunConfig(str(tmp_path / name), out=str(tmp_path / "r"))
        with pytest.raises(FFNNError):  # not UnicodeDecodeError, csv.Error, BadZipFile, ...
            prepare_run(cfg)
    assert not (tmp_path / "r").exists()


def test_hidden_widths_below_one_are_refused(tmp_path):
    for hidden in ([0], [8, 0], [-3]):
        with pytest.raises(FFNNError, match="whole numbers >= 1"):
            prepare_run(RunConfig("iris", hidden=hidden, out=str(tmp_path / "r")))
    assert prepare_run(RunConfig("iris", hidden=[], out=str(tmp_path / "r"))).net.widths == [4, 3]


def test_sep_and_drop_reach_load_file_or_are_refused(tmp_path):
    f = tmp_path / "semi.csv"
    f.write_text("id;a;b;label\n" + "".join(f"{i};{i % 3};{i % 5};{i % 2}\n" for i in range(40)))
    cfg = RunConfig(str(f), target="label", sep=";", drop=("id",), out=str(tmp_path / "r"))
    if accepts(load_file, "sep") and accepts(load_file, "drop"):
        prep = prepare_run(cfg)
        assert prep.dataset.feature_names == ["a", "b"]
    else:  # before ffnn.data.load_file takes them: a clear refusal, not a silent no-op
        with pytest.raises(FFNNError, match="--sep needs ffnn.data.load_file"):
            prepare_run(cfg)
    with pytest.raises(FFNNError, match="apply to data files"):
        prepare_run(RunConfig("iris", drop=("x",), out=str(tmp_path / "r")))
