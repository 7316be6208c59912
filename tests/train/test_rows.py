"""The compiled path's threads (ffnn.train.rows): the barrier keeps T threads in step, an abort
releases a waiting thread, and the thread count follows threads=, the size and the batch."""

import threading

import numpy as np
import pytest

from ffnn.train import rows

numba = pytest.importorskip("numba")


@numba.njit(nogil=True)
def _rounds(sync, T, relax, seen, rank, n):
    """n rounds: write the round number, barrier, check every thread's, barrier."""
    wrong = 0
    for s in range(n):
        seen[8 * rank] = s
        rows.barrier(sync, T, relax)
        for r in range(T):
            wrong += seen[8 * r] != s
        rows.barrier(sync, T, relax)
    return wrong


def test_the_barrier_keeps_the_threads_in_step():
    T, n = 3, 2000
    sync, seen = np.zeros(rows.SYNC_SIZE, np.int64), np.zeros(8 * T, np.int64)
    relax, wrong = rows.relax_fn(), []
    _rounds(sync, 1, relax, seen, 0, 1)  # compile first
    sync[:] = 0
    helpers = [threading.Thread(target=lambda r=r: wrong.append(_rounds(sync, T, relax, seen,
                                r, n))) for r in (1, 2)]  # fmt: skip
    for h in helpers:
        h.start()
    wrong.append(_rounds(sync, T, relax, seen, 0, n))
    for h in helpers:
        h.join(timeout=60)
    assert wrong == [0, 0, 0]
    assert sync[rows.GEN] == 2 * n and sync[rows.COUNT] == 0


def test_one_thread_passes_the_barrier_alone():
    assert rows.barrier(np.zeros(rows.SYNC_SIZE, np.int64), 1, rows.relax_fn()) is False


def test_an_abort_releases_a_waiting_thread():
    sync = np.zeros(rows.SYNC_SIZE, np.int64)
    relax, got = rows.relax_fn(), []
    rows.barrier(sync, 1, relax)  # compiled
    waiter = threading.Thread(target=lambda: got.append(rows.barrier(sync, 2, relax)))
    waiter.start()
    rows.abort(sync)  # the other thread never comes
    waiter.join(timeout=60)
    assert got == [True] and not waiter.is_alive()


@pytest.mark.parametrize(
    "blas, n_params, batch, expect",
    [
        (1, 269_322, 128, 1),  # one BLAS thread: one thread
        (2, 269_322, 128, 2),
        (2, 1_863_690, 256, 1),  # a million parameters and more: BLAS splits the products
        (2, 1_153, 32, 1),  # a step too small to pay for two barriers
        (2, 269_322, 12, 1),  # fewer than 8 examples a thread
    ],
)
def test_the_thread_count(monkeypatch, blas, n_params, batch, expect):
    monkeypatch.setattr(rows.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert rows.row_threads(blas, n_params, batch) == expect


def test_no_more_threads_than_cores(monkeypatch):
    monkeypatch.setattr(rows.os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert rows.row_threads(4, 269_322, 128) == 1
