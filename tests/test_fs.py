import os
import subprocess
import sys

import pytest

import ffnn
from ffnn.errors import FFNNError
from ffnn.fs import LOCK_NAME, TMP_TAG, atomic_write_bytes, clean_stale_temps, run_lock
from ffnn.io import save_model


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_new_files_take_the_umask_mode(tmp_path, umask):
    old = os.umask(umask)
    try:
        save_model(tmp_path / "m.safetensors", ffnn.mlp([2, 3, 1], rng=0))
    finally:
        os.umask(old)
    assert (tmp_path / "m.safetensors").stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_replaced_file_keeps_its_mode(tmp_path):
    p = tmp_path / "f.txt"
    p.write_text("old")
    p.chmod(0o640)
    atomic_write_bytes(p, b"new")
    assert p.read_bytes() == b"new" and p.stat().st_mode & 0o777 == 0o640


def test_stale_temporary_files_of_dead_writers_are_removed(tmp_path):
    dead = tmp_path / f".m.safetensors{TMP_TAG}{_dead_pid()}-abc123"
    alive = tmp_path / f".m.safetensors{TMP_TAG}{os.getpid()}-def456"
    other = tmp_path / ".notes.tmp"
    for p in (dead, alive, other):
        p.write_bytes(b"x" * 100)
    atomic_write_bytes(tmp_path / "out.bin", b"data")
    assert not dead.exists() and alive.exists() and other.exists()
    assert clean_stale_temps(tmp_path) == []


def test_writing_over_a_folder_is_refused(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(FFNNError, match="folder"):
        atomic_write_bytes(tmp_path / "d", b"x")


def test_run_lock_is_exclusive_and_released(tmp_path):
    with run_lock(tmp_path) as lock:
        assert lock.read_text().split()[0] == str(os.getpid())
        with pytest.raises(FFNNError, match=f"in use by another ffnn process \\(pid {os.getpid()}"):
            with run_lock(tmp_path):
                pass
    assert not (tmp_path / LOCK_NAME).exists()
    with run_lock(tmp_path):  # free again
        pass


def test_run_lock_takes_over_a_stale_lock_and_refuses_a_live_one(tmp_path):
    import socket

    (tmp_path / LOCK_NAME).write_text(f"{_dead_pid()} {socket.gethostname()}\n")
    with run_lock(tmp_path) as lock:
        assert lock.read_text().split()[0] == str(os.getpid())
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        (tmp_path / LOCK_NAME).write_text(f"{holder.pid} {socket.gethostname()}\n")
        with pytest.raises(FFNNError, match=f"pid {holder.pid}"):
            with run_lock(tmp_path):
                pass
        assert (tmp_path / LOCK_NAME).exists()  # another's lock is never removed
    finally:
        holder.stdin.close()
        holder.wait()
    with pytest.raises(FFNNError, match="not a folder"):
        with run_lock(tmp_path / "nope"):
            pass
