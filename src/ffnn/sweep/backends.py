"""Where cells run: in this process, on local processes (joblib's loky), or on a Dask cluster.

Each backend submits a cell, waits for the first of its futures to finish, gives a finished
future's record, and tells a lost worker (:class:`WorkerLost`, the cell is retried) from a
cell's own error (recorded inside the record by :func:`ffnn.sweep.cells.run_cell`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import contextlib
import logging
import os
import signal
from collections import deque

from ffnn.errors import FFNNError
from ffnn.sweep.cells import run_cell
from ffnn.sweep.spec import Cell

__all__ = ["WorkerLost", "make_backend", "Serial", "Loky", "Dask"]

_ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


class WorkerLost(Exception):
    """The process running a cell died; the cell did not fail, it is run again."""


class _Deferred:
    def __init__(self, cell: Cell):
        self.cell, self.record = cell, None


class Serial:
    """One cell after another in this process (jobs = 1)."""

    name = "serial"

    def submit(self, cell: Cell):
        return _Deferred(cell)

    def wait(self, pending: set) -> tuple[set, set]:
        f = next(iter(pending))
        f.record = run_cell(f.cell)
        return {f}, pending - {f}

    def result(self, f) -> dict:
        return f.record

    def recover(self) -> None:
        return None

    def close(self, cancel: bool = False) -> None:
        return None


class Loky:
    """``jobs`` local worker processes (joblib's loky), one BLAS thread each.

    Each worker is its own one-process loky executor, and a cell goes to a worker only when that
    worker is free: a worker that dies takes only the cell it was running with it (loky breaks the
    whole executor a dead process belonged to, which would lose every other worker's cell and
    every queued one). The executors are kept for the next sweep of the same size (warm workers);
    idle ones exit by themselves after a minute.
    """

    _pool: dict[int, list] = {}  # jobs -> the executors kept between sweeps

    def __init__(self, jobs: int):
        self.name, self.jobs = f"loky ({jobs} workers)", jobs
        self.slots = Loky._pool.setdefault(jobs, [None] * jobs)
        self.busy: dict = {}  # the loky future of a running cell -> (slot, the cell's future)
        self.queue: deque = deque()  # the cells' futures not yet given to a worker
        for i in range(jobs):
            self._ensure(i)

    def _ensure(self, i: int) -> None:
        from joblib.externals.loky import ProcessPoolExecutor

        ex = self.slots[i]
        if ex is None or getattr(ex, "_flags", None) is None or ex._flags.broken:
            self.slots[i] = ProcessPoolExecutor(max_workers=1, timeout=60, env=_ONE_THREAD)

    def recover(self) -> None:
        for i in range(self.jobs):
            self._ensure(i)

    def submit(self, cell: Cell):
        f = cf.Future()
        f.cell = cell
        self.queue.append(f)
        return f

    def _dispatch(self) -> None:
        free = set(range(self.jobs)) - {slot for slot, _ in self.busy.values()}
        for i in sorted(free):
            if not self.queue:
                return
            f = self.queue.popleft()
            self._ensure(i)
            self.busy[self.slots[i].submit(run_cell, f.cell)] = (i, f)

    def wait(self, pending: set) -> tuple[set, set]:
        self._dispatch()
        done, _ = cf.wait(list(self.busy), timeout=0.5, return_when=cf.FIRST_COMPLETED)
        for g in done:
            i, f = self.busy.pop(g)
            try:
                f.set_result(g.result())
            except (cf.BrokenExecutor, cf.CancelledError) as e:
                f.set_exception(WorkerLost(f"{type(e).__name__}: {e}"))
                self._ensure(i)  # a fresh worker in that slot only
        finished = {f for f in pending if f.done()}
        return finished, pending - finished

    def result(self, f) -> dict:
        return f.result()

    def close(self, cancel: bool = False) -> None:
        """On Ctrl-C, stop the workers at once; else leave them to the next sweep (as joblib
        does): idle workers exit by themselves after a minute, and with this process."""
        if not cancel:
            return
        # kill the processes, then shut the (now broken) executors down; loky's own
        # kill_workers=True races with queued work (a KeyError in its manager thread, joblib 1.6)
        for ex in self.slots:
            for pid in list(getattr(ex, "_processes", {}) or {}):
                with contextlib.suppress(OSError):
                    os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))
        for i, ex in enumerate(self.slots):
            if ex is not None:
                ex.shutdown(wait=True)
            self.slots[i] = None


def _distributed():
    try:
        import distributed
    except ImportError:
        raise FFNNError(
            'sweeps on Dask need the dask extra: pip install "ffnn[dask]" '
            "(or run them on local processes with --jobs N)"
        ) from None
    return distributed


class Dask:
    """A Dask distributed cluster: an address (``tcp://HOST:8786``) or ``local`` workers here."""

    def __init__(self, address: str | None = None, local: int | None = None, timeout: float = 10):
        distributed = _distributed()
        self.cluster = None
        if local is not None:
            self.cluster = distributed.LocalCluster(
                n_workers=local,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                silence_logs=logging.ERROR,
                host="127.0.0.1",
                env=_ONE_THREAD,
            )
            address = self.cluster.scheduler_address
        try:
            self.client = distributed.Client(address, timeout=f"{timeout}s")
        except (OSError, TimeoutError) as e:
            raise FFNNError(
                f"cannot reach the Dask scheduler at {address} ({type(e).__name__} after "
                f"{timeout:g} s); start one with `dask scheduler` or check the address"
            ) from None
        n = len(self.client.scheduler_info().get("workers", {}))
        self.name = f"dask at {address} ({n} workers)"
        self._distributed = distributed

    def submit(self, cell: Cell):
        return self.client.submit(run_cell, cell, pure=False)

    def wait(self, pending: set) -> tuple[set, set]:
        try:
            done, rest = self._distributed.wait(
                list(pending), timeout=0.5, return_when="FIRST_COMPLETED"
            )
        except (TimeoutError, asyncio.TimeoutError):  # two classes before Python 3.11
            return set(), pending
        return set(done), set(rest)

    def result(self, f) -> dict:
        try:
            return f.result()
        except (self._distributed.KilledWorker, cf.CancelledError) as e:
            raise WorkerLost(f"{type(e).__name__}: {e}") from None

    def recover(self) -> None:
        return None  # the scheduler moves a dead worker's tasks itself

    def close(self, cancel: bool = False) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def make_backend(jobs: int | None, scheduler: str | None, dask_local: int | None, timeout=10):
    """The backend the options name: scheduler > dask_local > jobs (default: 1 per core)."""
    if scheduler is not None and dask_local is not None:
        raise FFNNError("give --scheduler ADDRESS or --dask-local N, not both")
    if scheduler is not None or dask_local is not None:
        if jobs is not None:
            raise FFNNError("--jobs is for local processes; a Dask cluster has its own workers")
        if dask_local is not None and dask_local < 1:
            raise FFNNError(f"--dask-local takes a number of workers >= 1, got {dask_local}")
        return Dask(scheduler, dask_local, timeout)
    if jobs is None:
        jobs = os.cpu_count() or 1
    if jobs < 1:
        raise FFNNError(f"--jobs takes a number of worker processes >= 1, got {jobs}")
    return Serial() if jobs == 1 else Loky(jobs)
