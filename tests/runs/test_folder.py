"""One writer per run folder: the lock (O_EXCL, pid, stale locks) and no empty folder left."""

import os
import socket
import subprocess
import sys

import pytest

from ffnn.errors import FFNNError
from ffnn.runs import LOCK_FILE, RunConfig, locked_folder, prepare_run, train_prepared
from ffnn.runs.folder import acquire, release


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_lock_is_exclusive_and_released(tmp_path):
    lock = tmp_path / LOCK_FILE
    acquire(lock)
    assert lock.read_text().split() == [str(os.getpid()), socket.gethostname()]
    with pytest.raises(FFNNError, match=f"in use by another ffnn train \\(pid {os.getpid()}\\)"):
        acquire(lock)
    release(lock)
    assert not lock.exists()


def test_a_stale_lock_is_taken_over(tmp_path):
    lock = tmp_path / LOCK_FILE
    lock.write_text(f"{_dead_pid()} {socket.gethostname()}\n")
    acquire(lock)
    assert lock.read_text().split()[0] == str(os.getpid())
    assert sorted(p.name for p in tmp_path.iterdir()) == [LOCK_FILE]  # nothing set aside left
    release(lock)


def test_a_lock_from_another_machine_is_respected(tmp_path):
    lock = tmp_path / LOCK_FILE
    lock.write_text("1 some-other-host\n")
    with pytest.raises(FFNNError, match="some-other-host"):
        acquire(lock)
    assert lock.read_text() == "1 some-other-host\n"


def test_release_leaves_a_lock_that_is_not_ours(tmp_path):
    lock = tmp_path / LOCK_FILE
    lock.write_text("1 some-other-host\n")
    release(lock)
    assert lock.exists()


def test_a_second_run_into_a_locked_folder_is_refused(tmp_path):
    out = tmp_path / "r"
    prep = prepare_run(RunConfig("iris", epochs=2, hidden=[4], out=str(out), progress=False))
    with locked_folder(out):  # a first run is writing there
        with pytest.raises(FFNNError, match="in use by another ffnn train"):
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
