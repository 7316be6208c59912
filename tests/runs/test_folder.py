"""One writer per run folder: the lock (O_EXCL, pid, stale locks) and no empty folder left."""

import os
import socket
import subprocess
import sys

import pytest

from ffnn.errors import FFNNError
from ffnn.runs import LOCK_FILE, RunConfig, locked_folder, prepare_run, train_prepared


def test_the_lock_is_held_while_the_run_writes_and_removed_after(tmp_path):
    out = tmp_path / "r"
    with locked_folder(out):
        assert (out / LOCK_FILE).read_text().split()[0] == str(os.getpid())
        with pytest.raises(FFNNError, match="in use by another ffnn process"):
            with locked_folder(out):
                pass
    assert list(out.iterdir()) == []


def test_a_stale_lock_is_taken_over(tmp_path):
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()  # its pid is now dead
    (tmp_path / LOCK_FILE).write_text(f"{p.pid} {socket.gethostname()}\n")
    with locked_folder(tmp_path):
        assert (tmp_path / LOCK_FILE).read_text().split()[0] == str(os.getpid())
    assert not (tmp_path / LOCK_FILE).exists()


def test_a_second_run_into_a_locked_folder_is_refused(tmp_path):
    out = tmp_path / "r"
    prep = prepare_run(RunConfig("iris", epochs=2, hidden=[4], out=str(out), progress=False))
    with locked_folder(out):  # a first run is writing there
        with pytest.raises(FFNNError, match="in use by another ffnn process"):
            train_prepared(prep)
    assert list(out.iterdir()) == []  # the first run's lock is gone, no model was written


def test_an_error_leaves_no_empty_folder(tmp_path):
    out = tmp_path / "a" / "b" / "r"
    with pytest.raises(FFNNError, match="boom"):
        with locked_folder(out):
            assert (out / LOCK_FILE).exists()
            raise FFNNError("boom")
    assert list(tmp_path.iterdir()) == []  # r, b and a were made by this run: all removed


def test_an_error_keeps_a_folder_that_was_there(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(KeyboardInterrupt):
        with locked_folder(tmp_path):
            raise KeyboardInterrupt
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
