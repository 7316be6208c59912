"""Shared helpers for the core tests: central finite differences and a seeded random-DAG builder.

They are handed to tests as fixtures (not imported), so that the tests work under any pytest
import mode and beside other conftest.py files.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from ffnn import Act, Add, Concat, Dense, Input, Network
from ffnn.core.activations import ACTIVATIONS as BUILTIN_ACTIVATIONS

# every built-in σ (the list of their names: tests/core/test_activations.py)
ALL_ACTIVATIONS = tuple(BUILTIN_ACTIVATIONS)


def fd_grad(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of a scalar f at x (any shape): (f(x + εe_k) − f(x − εe_k)) / 2ε."""
    x = np.array(x, dtype=np.float64)
    g = np.empty_like(x)
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        g[idx] = (f(xp) - f(xm)) / (2 * eps)
    return g


def fd_directional(F, x: np.ndarray, v: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central difference of an array-valued F at x along v: (F(x + εv) − F(x − εv)) / 2ε."""
    return (F(x + eps * v) - F(x - eps * v)) / (2 * eps)


def rel_error(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)


def random_dag(
    seed: int,
    *,
    n_in: int = 3,
    n_out: int = 2,
    steps: int = 8,
    output: str = "identity",
    activations=ALL_ACTIVATIONS,
    dtype=np.float64,
) -> tuple[Network, Counter]:
    """A random feed-forward graph built from Dense, Act, Add, Concat and shared Dense layers.

    Nodes are picked as parents at random from everything built so far, so a node often feeds
    several consumers (fan-out). Every sink is gathered into the output, so every node reaches it.
    Returns the network and a Counter of what the graph contains ("add", "concat", "shared",
    "fanout", "skip").
    """
    rng = np.random.default_rng(seed)
    x = Input(n_in)
    pool = [x]
    consumers: Counter = Counter()
    dense_layers: list[Dense] = []
    kinds: Counter = Counter()

    def use(*nodes):
        for n in nodes:
            consumers[id(n)] += 1

    def pick():
        return pool[rng.integers(len(pool))]

    def dense(p, width=None):
        layer = Dense(int(width or rng.integers(2, 5)))
        dense_layers.append(layer)
        use(p)
        node = layer(p)
        pool.append(node)
        return node

    for _ in range(steps):
        op = rng.choice(["dense", "act", "add", "concat", "shared"], p=[0.3, 0.25, 0.2, 0.15, 0.1])
        if op == "dense" or len(pool) == 1:
            dense(pick())
        elif op == "act":
            p = pick()
            use(p)
            pool.append(Act(str(rng.choice(activations)))(p))
        elif op == "add":
            p = pick()
            same = [q for q in pool if q.dim == p.dim and q is not p]
            q = same[rng.integers(len(same))] if same else dense(pick(), p.dim)
            use(p, q)
            pool.append(Add()(p, q))
            kinds["add"] += 1
            if q.layer is None or p.layer is None:
                kinds["skip"] += 1
        elif op == "concat":
            k = int(rng.integers(2, 4))
            parents = [pick() for _ in range(k)]
            use(*parents)
            pool.append(Concat()(*parents))
            kinds["concat"] += 1
        else:  # weight sharing: call an existing Dense layer a second time, on another node
            if not dense_layers:
                dense(pick())
                continue
            layer = dense_layers[rng.integers(len(dense_layers))]
            fits = [q for q in pool if q.dim == layer.n_in]
            q = fits[rng.integers(len(fits))] if fits else dense(pick(), layer.n_in)
            use(q)
            pool.append(layer(q))
            kinds["shared"] += 1
    sinks = [n for n in pool[1:] if consumers[id(n)] == 0]
    if not sinks:
        sinks = [pool[-1]]
    if x not in [p for n in pool for p in n.parents]:
        sinks.append(dense(x))  # make sure the input is read
    top = Concat()(*sinks) if len(sinks) > 1 else sinks[0]
    if len(sinks) > 1:
        kinds["concat"] += 1
    out = Dense(n_out)(top)
    net = Network(x, out, output=output, rng=seed, dtype=dtype)
    if any(len(c) > 1 for c in net._consumers):
        kinds["fanout"] += 1
    return net, kinds


@pytest.fixture(name="fd_grad")
def _fd_grad_fixture():
    return fd_grad


@pytest.fixture(name="fd_directional")
def _fd_directional_fixture():
    return fd_directional


@pytest.fixture(name="rel_error")
def _rel_error_fixture():
    return rel_error


@pytest.fixture(name="random_dag")
def _random_dag_fixture():
    return random_dag
