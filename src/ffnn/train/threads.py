"""How many BLAS threads a training run uses, and the context that sets them.

The matrix products of a small network (well under a million parameters) take microseconds; a
second BLAS thread then costs more to start and to wait for than it saves, and on a loaded machine
a thread waiting for a busy core can make every step ten times slower (measured: the MNIST-1D
recipe 40-74 s per run with the BLAS default against ~4 s with one thread). So ``"auto"`` (what
``fit(threads=None)`` and the command line's ``--threads auto`` use) picks one BLAS thread below
``AUTO_ONE_THREAD_BELOW`` parameters and leaves BLAS at its default above. A run on the compiled
path may still use every core this process may run on: :func:`split_threads`, the batch split
among threads by examples (:mod:`ffnn.train.rows`) or, for a large network, each layer's units
(:mod:`ffnn.train.units`); either goes on on one thread by itself when a core is taken by
another process.

>>> with blas_threads("auto", net.n_params):
...     ...                                        # matrix products here use the chosen count
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

from ffnn.errors import FFNNError

__all__ = ["AUTO_ONE_THREAD_BELOW", "choose_threads", "split_threads", "blas_threads"]

AUTO_ONE_THREAD_BELOW = 1_000_000


def choose_threads(spec: int | str | None, n_params: int) -> int | None:
    """The BLAS thread count for ``spec``: an int >= 1 as given; ``"auto"``/None: 1 for networks
    of fewer than ``AUTO_ONE_THREAD_BELOW`` parameters, else None (the BLAS default)."""
    if spec is None or spec == "auto":
        return 1 if n_params < AUTO_ONE_THREAD_BELOW else None
    if isinstance(spec, str) and spec.isdigit():
        spec = int(spec)
    if isinstance(spec, bool) or not isinstance(spec, int) or spec < 1:
        raise FFNNError(f"threads must be a whole number >= 1, 'auto' or None (auto), got {spec!r}")
    return spec


def split_threads(spec: int | str | None, n_params: int) -> int | None:
    """The threads a compiled run may split its steps among: a count as given; ``"auto"``/None:
    the cores this process may run on. Below :data:`ffnn.train.rows.ROWS_BELOW` parameters a
    batch is split by examples (:mod:`ffnn.train.rows`), above by each layer's units
    (:mod:`ffnn.train.units`); the evaluations between epochs then share their chunks of rows
    among as many threads (:func:`ffnn.train.compiled.split_rows`).

    (Measured on this 2-core machine, a one-epoch fit of 784-256-256-10 on 20,000 examples:
    76 ms split against 132 ms on one thread when idle; 149 against 133 ms, and 206 against
    181 ms, with one and two other processes busy on the cores.)"""
    if spec is None or spec == "auto":
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return choose_threads(spec, n_params)


@contextlib.contextmanager
def blas_threads(spec: int | str | None, n_params: int) -> Iterator[int | None]:
    """Limit the BLAS threads to ``choose_threads(spec, n_params)`` inside the block (restored
    after); yields the count (None: the BLAS default, nothing changed)."""
    n = choose_threads(spec, n_params)
    controller = None if n is None else _controller()
    if controller is None:
        yield None
        return
    with controller.limit(limits=n, user_api="blas"):
        yield n


_CACHE: list = [None, -1]  # [ThreadpoolController, len(sys.modules) when it was made]


def _controller():
    """threadpoolctl's view of the loaded BLAS libraries, made again only when modules were
    imported since (finding the libraries reads /proc/self/maps: ~7 ms, per fit call a tiny
    network's whole epoch)."""
    if _CACHE[0] is None or _CACHE[1] != len(sys.modules):
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - threadpoolctl is a dependency
            return None
        _CACHE[0], _CACHE[1] = ThreadpoolController(), len(sys.modules)
    return _CACHE[0]
