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


def _lost(wait_of_step, wall_per_step, steps, T=2):
    """The step (1-based) after which lost_core sends a run to one thread, or None."""
    slow = np.array([rows.SLOW_NS, rows.SLOW_AFTER_NS, rows.SLOW_SHARE_PCT, 0, 0,
                     rows.SLOW_WINDOW_NS])  # fmt: skip
    part = np.zeros((T, 8))
    waits = wall = 0.0
    for k in range(steps):
        part[0, 4], part[0, 5] = wait_of_step(k), wall_per_step + wait_of_step(k)
        waits, wall, alone = rows.lost_core(slow, part, T, waits, wall)
        if alone:
            return k + 1
    return None


def test_a_lost_core_sends_the_run_to_one_thread_and_a_time_slice_does_not():
    ms = 1_000_000
    # a partner off its core half of every step: alone once SLOW_AFTER_NS have passed
    at = _lost(lambda k: 3 * ms, 3 * ms, 1000)
    assert at is not None and (at - 1) * 6 * ms < rows.SLOW_AFTER_NS <= at * 6 * ms
    assert _lost(lambda k: 3 * ms, 3 * ms, 1000, T=1) is None  # nobody to wait for
    # a neighbour's 4 ms time slice every 200 steps of 0.5 ms (one in 100 ms): never
    assert _lost(lambda k: 4 * ms if k % 200 == 7 else 0, 0.5 * ms, 20_000) is None
    # the same slice every 10 steps: the neighbour holds the core 44 % of the time
    assert _lost(lambda k: 4 * ms if k % 10 == 7 else 0, 0.5 * ms, 20_000) is not None


def test_the_window_forgets_the_quiet_start_of_a_long_run():
    ms = 1_000_000
    quiet, lost = 10**10 // ms, 2 * rows.SLOW_WINDOW_NS // ms  # 10 s quiet, then a lost core
    at = _lost(lambda k: 0 if k < quiet else ms, ms, quiet + lost)
    assert at is not None and at > quiet  # within about a window, not after 10 s more
