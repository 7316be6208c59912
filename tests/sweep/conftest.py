"""Tiny sweeps (iris, a few epochs) and real Dask clusters on 127.0.0.1, stopped in teardown."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[2] / "src")

TINY = """\
[sweep]
seeds = 2
x = "width"

[fixed]
data = "iris"
epochs = {epochs}
validation = 0.0
depth = 1

[grid]
width = [4, 16]
lr = [0.01, 0.1]
"""

# what a cell computes: equal across backends, bit for bit
METRICS = ("train_loss", "train_accuracy", "test_loss", "test_accuracy", "epochs_run")


@pytest.fixture
def tiny_spec(tmp_path):
    """8 cells (2 widths x 2 learning rates x 2 seeds) on iris, a few epochs each."""

    def write(epochs: int = 5, text: str | None = None) -> Path:
        p = tmp_path / "tiny.toml"
        p.write_text(text if text is not None else TINY.format(epochs=epochs))
        return p

    return write


def by_key(rows):
    return {r["key"]: tuple(r[m] for m in METRICS) for r in rows}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(procs) -> None:
    for p in reversed(procs):  # the workers, then the scheduler
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)


@pytest.fixture(scope="module")
def dask_processes():
    """`dask scheduler` and two `dask worker` processes, started as separate commands."""
    distributed = pytest.importorskip("distributed")
    dask = Path(sys.executable).parent / "dask"
    cmd = [str(dask)] if dask.exists() else [sys.executable, "-m", "dask"]
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = []
    common = dict(env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        procs.append(
            subprocess.Popen(
                [*cmd, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                **common,
            )
        )
        for _ in range(2):
            procs.append(
                subprocess.Popen(
                    [
                        *cmd,
                        "worker",
                        address,
                        "--nthreads",
                        "1",
                        "--nworkers",
                        "1",
                        "--no-dashboard",
                        "--host",
                        "127.0.0.1",
                    ],
                    **common,
                )  # fmt: skip
            )
        with distributed.Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        _stop(procs)


def wait_gone(pid: int, timeout: float = 10.0) -> None:
    t = time.monotonic() + timeout
    while time.monotonic() < t:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
