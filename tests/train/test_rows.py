"""The compiled path's threads (ffnn.train.rows): the barrier keeps T threads in step, an abort
releases a waiting thread, a long wait is measured, and the thread count follows threads=, the
size and the batch."""

import threading
import time

import numpy as np
import pytest

from ffnn.train import rows

numba = pytest.importorskip("numba")


@numba.njit(nogil=True)
def _rounds(sync, T, relax, clock, seen, rank, n):
    """n rounds: write the round number, barrier, check every thread's, barrier."""
    wrong = 0
    for s in range(n):
        seen[8 * rank] = s
        rows.barrier(sync, T, rank, relax, clock)
        for r in range(T):
            wrong += seen[8 * r] != s
        rows.barrier(sync, T, rank, relax, clock)
    return wrong


def test_the_barrier_keeps_the_threads_in_step():
    T, n = 3, 2000
    sync, seen = np.zeros(rows.sync_size(T), np.int64), np.zeros(8 * T, np.int64)
    relax, clock, wrong = rows.relax_fn(), rows.clock_fn(), []
    _rounds(sync, 1, relax, clock, seen, 0, 1)  # compile first
    sync[:] = 0
    helpers = [threading.Thread(target=lambda r=r: wrong.append(_rounds(sync, T, relax, clock,
                                seen, r, n))) for r in (1, 2)]  # fmt: skip
    for h in helpers:
        h.start()
    wrong.append(_rounds(sync, T, relax, clock, seen, 0, n))
    for h in helpers:
        h.join(timeout=60)
    assert wrong == [0, 0, 0]
    assert sync[rows.GEN] == 2 * n and sync[rows.COUNT] == 0


def test_one_thread_passes_the_barrier_alone():
    sync = np.zeros(rows.sync_size(1), np.int64)
    assert rows.barrier(sync, 1, 0, rows.relax_fn(), rows.clock_fn()) == 0


def test_an_abort_releases_a_waiting_thread():
    sync = np.zeros(rows.sync_size(2), np.int64)
    relax, clock, got = rows.relax_fn(), rows.clock_fn(), []
    rows.barrier(sync, 1, 0, relax, clock)  # compiled
    waiter = threading.Thread(target=lambda: got.append(rows.barrier(sync, 2, 1, relax, clock)))
    waiter.start()
    rows.abort(sync)  # the other thread never comes
    waiter.join(timeout=60)
    assert got == [-1] and not waiter.is_alive()


def test_a_long_wait_is_measured_and_a_short_one_is_not():
    """The thread that waits yields its core after SPINS spins and measures the wait from there:
    here its partner comes 50 ms late; the partner itself, last to arrive, waited 0."""
    sync = np.zeros(rows.sync_size(2), np.int64)
    relax, clock, got = rows.relax_fn(), rows.clock_fn(), []
    rows.barrier(sync, 1, 0, relax, clock)  # compiled
    t0 = rows.now(clock, sync, 0)
    time.sleep(0.01)
    assert 5e6 < rows.now(clock, sync, 0) - t0 < 5e9  # ns
    sync[:] = 0
    waiter = threading.Thread(target=lambda: got.append(rows.barrier(sync, 2, 1, relax, clock)))
    waiter.start()
    time.sleep(0.05)
    late = rows.barrier(sync, 2, 0, relax, clock)
    waiter.join(timeout=60)
    assert late == 0 and 20e6 < got[0] < 5e9


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


def test_each_thread_gets_min_work_at_least(monkeypatch):
    """On many cores: 64-128-128-10 in batches of 64 (5.0 M multiply-adds a step, 4.8 times
    MIN_WORK) splits four ways, not 64 (nor 8, one per 8 examples)."""
    monkeypatch.setattr(rows.os, "sched_getaffinity", lambda pid: set(range(64)), raising=False)
    assert rows.row_threads(64, 26_122, 64) == 4
    assert rows.row_threads(64, 269_322, 128) == 16  # 128 examples: 8 a thread


def test_no_more_threads_than_cores(monkeypatch):
    monkeypatch.setattr(rows.os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert rows.row_threads(4, 269_322, 128) == 1
