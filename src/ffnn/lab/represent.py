"""How a network represents a function f: weights set by formula (notes 003, 004).

* :func:`relu_interpolant`: a one-hidden-layer ReLU network equal to the continuous piecewise-linear
  function through given breakpoints (t_j, v_j), continued linearly outside [t_0, t_m]:

      f(x) = v_0 + s_0 (relu(x − t_0) − relu(t_0 − x))
             + Σ_{j=1}^{m-1} (s_j − s_{j-1}) relu(x − t_j),

  with s_j the slope on [t_j, t_{j+1}]; m + 1 hidden units for m + 1 breakpoints, exact.
* :func:`interpolate`: that construction at k knots of a continuous f on [a, b]; for f ∈ C² the
  sup error is at most h² max|f''| / 8 with h = (b − a)/(k − 1).
* :func:`step_network`, :func:`bump_network`, :func:`staircase`: steep sigmoids σ(s (x − t)) (notes
  004: (x − 3)·1000) are almost steps; a difference of two steps is a bump; a sum of steps
  approximates any continuous f.
* :func:`sawtooth_deep` / :func:`sawtooth_shallow`: the tent map composed k times has 2^k linear
  pieces on [0, 1] and is computed by k hidden layers of width 2; one hidden layer needs 2^k + 1
  units for the same function (a one-hidden-layer ReLU net with m units has at most m + 1 pieces).
* :func:`count_pieces` (numerically, on a grid) and :func:`linear_pieces` (exactly, by tracking
  breakpoints through the layers) count the linear pieces of a scalar ReLU network of one input.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ffnn.core.graph import Network, from_weights
from ffnn.errors import FFNNError

__all__ = [
    "relu_interpolant",
    "interpolate",
    "step_network",
    "bump_network",
    "staircase",
    "sawtooth_deep",
    "sawtooth_shallow",
    "sawtooth",
    "count_pieces",
    "linear_pieces",
]


def relu_interpolant(t, v) -> Network:
    """One-hidden-layer ReLU network equal to the piecewise-linear interpolant of (t_j, v_j).

    t: (m+1,) strictly increasing breakpoints (m ≥ 1), v: (m+1,) values. Outside [t_0, t_m] the
    first and last pieces continue linearly. Widths [1, m+1, 1], float64.
    """
    t = np.asarray(t, dtype=np.float64).ravel()
    v = np.asarray(v, dtype=np.float64).ravel()
    if t.shape != v.shape or t.size < 2:
        raise FFNNError(
            f"need at least two breakpoints with one value each; got {t.size}, {v.size}"
        )
    if not np.all(np.diff(t) > 0):
        raise FFNNError("breakpoints t must be strictly increasing")
    s = np.diff(v) / np.diff(t)  # slope s_j on [t_j, t_{j+1}]
    # hidden units: relu(x - t0), relu(t0 - x), relu(x - t_j) for interior j
    W1 = np.concatenate([[1.0, -1.0], np.ones(t.size - 2)])[:, None]
    b1 = np.concatenate([[-t[0], t[0]], -t[1:-1]])
    W2 = np.concatenate([[s[0], -s[0]], np.diff(s)])[None, :]
    b2 = np.array([v[0]])
    return from_weights([(W1, b1), (W2, b2)], "relu")


def interpolate(f: Callable[[np.ndarray], np.ndarray], a: float, b: float, k: int) -> Network:
    """ReLU network interpolating f at k ≥ 2 equally spaced knots of [a, b]."""
    if k < 2:
        raise FFNNError(f"interpolation needs k >= 2 knots, got {k}")
    t = np.linspace(a, b, k)
    return relu_interpolant(t, np.asarray(f(t), dtype=np.float64))


def step_network(t: float = 3.0, scale: float = 1000.0) -> Network:
    """x ↦ σ(scale · (x − t)) with the logistic sigmoid: ≈ 1[x > t] away from t (notes 004)."""
    return from_weights([([[scale]], [-scale * t]), ([[1.0]], [0.0])], "sigmoid")


def bump_network(a: float, b: float, height: float = 1.0, scale: float = 1000.0) -> Network:
    """x ↦ height (σ(scale (x − a)) − σ(scale (x − b))): ≈ height on (a, b), 0 outside."""
    if not b > a:
        raise FFNNError(f"a bump needs a < b, got a={a}, b={b}")
    W1, b1 = [[scale], [scale]], [-scale * a, -scale * b]
    return from_weights([(W1, b1), ([[height, -height]], [0.0])], "sigmoid")


def staircase(
    f: Callable[[np.ndarray], np.ndarray], a: float, b: float, k: int, scale: float | None = None
) -> Network:
    """One-hidden-layer sigmoid network ≈ f by k steps.

        x ↦ f(t_0) + Σ_{j=1}^{k} (f(t_j) − f(t_{j-1})) σ(s (x − m_j))


    t_j are k+1 equally spaced points of [a, b], m_j the midpoints between them; the steepness
    defaults to s = 50 k / (b − a) so each step is sharp on the scale of its width. For
    Lipschitz f the sup error on [a, b] falls like 1/k.
    """
    if k < 1:
        raise FFNNError(f"staircase needs k >= 1 steps, got {k}")
    t = np.linspace(a, b, k + 1)
    ft = np.asarray(f(t), dtype=np.float64)
    m = (t[:-1] + t[1:]) / 2
    s = 50.0 * k / (b - a) if scale is None else scale
    W1, b1 = np.full((k, 1), s), -s * m
    W2, b2 = np.diff(ft)[None, :], np.array([ft[0]])
    return from_weights([(W1, b1), (W2, b2)], "sigmoid")


def sawtooth(x: np.ndarray, k: int) -> np.ndarray:
    """The tent map T(x) = 2 min(x, 1 − x) composed k times, on [0, 1] (reference values)."""
    y = np.asarray(x, dtype=np.float64)
    for _ in range(k):
        y = 2 * np.minimum(y, 1 - y)
    return y


def sawtooth_deep(k: int) -> Network:
    """T∘…∘T (k times) as k hidden ReLU layers of width 2: 4k + 3 parameters, 2^k pieces on [0, 1].

    On [0, 1], T(x) = 2 relu(x) − 4 relu(x − 1/2); each layer computes relu(y), relu(y − 1/2) of
    the previous tent value y = 2 h_1 − 4 h_2, which is folded into the next layer's weights.
    """
    if k < 1:
        raise FFNNError(f"k must be >= 1, got {k}")
    first = (np.array([[1.0], [1.0]]), np.array([0.0, -0.5]))
    inner = (np.array([[2.0, -4.0], [2.0, -4.0]]), np.array([0.0, -0.5]))
    last = (np.array([[2.0, -4.0]]), np.array([0.0]))
    return from_weights([first] + [inner] * (k - 1) + [last], "relu")


def sawtooth_shallow(k: int) -> Network:
    """The function of :func:`sawtooth_deep` on [0, 1] with one hidden layer of 2^k + 1 units."""
    t = np.linspace(0.0, 1.0, 2**k + 1)
    return relu_interpolant(t, sawtooth(t, k))


def _scalar_fn(net: Network) -> Callable[[np.ndarray], np.ndarray]:
    if net.input_node.dim != 1 or net.widths[-1] != 1:
        raise FFNNError(f"need a network with one input and one output, got widths {net.widths}")
    net64 = net if net.dtype == np.float64 else net.astype(np.float64)
    return lambda x: net64.forward(np.asarray(x, dtype=np.float64)[:, None])[0][:, 0]


def count_pieces(net: Network, a: float, b: float, n_grid: int = 2**16, rtol: float = 1e-6) -> int:
    """Number of linear pieces of a scalar network on [a, b], counted numerically.

    Evaluates z on a grid of n_grid + 1 points (float64), takes the slope on every grid cell
    and counts the places where it changes by more than rtol · max|slope|; consecutive changed
    cells (a kink strictly inside a cell changes the slope twice) count as one kink. Exact when
    every piece is longer than two grid cells.
    """
    x = np.linspace(a, b, n_grid + 1)
    y = _scalar_fn(net)(x)
    slope = np.diff(y) / np.diff(x)
    scale = max(np.max(np.abs(slope)), 1e-300)
    change = np.abs(np.diff(slope)) > rtol * scale
    starts = np.sum(change[1:] & ~change[:-1]) + int(change[0]) if change.size else 0
    return int(starts) + 1


def linear_pieces(net: Network, a: float, b: float, rtol: float = 1e-9) -> np.ndarray:
    """Exact breakpoints of a scalar chain network with piecewise-linear activations on [a, b].

    Every pre-activation z^(l) is linear between consecutive known breakpoints; the zeros of
    each unit's z on each piece (where ReLU kinks) are added layer by layer. Finally adjacent
    pieces with equal slope (to rtol) are merged. Returns the breakpoints including a and b;
    the number of pieces is ``len(result) - 1``. Activations: relu, leaky_relu, identity.
    """
    if not net.is_chain:
        raise FFNNError("linear_pieces needs a chain network")
    if net.input_node.dim != 1 or net.widths[-1] != 1:
        raise FFNNError(f"need a network with one input and one output, got widths {net.widths}")
    net = net if net.dtype == np.float64 else net.astype(np.float64)
    bps = np.array([a, b], dtype=np.float64)
    for node in net.nodes[1:]:
        act = getattr(node.layer, "activation", None)  # an element-wise σ node
        if act is None:
            continue
        if not act.piecewise_linear:
            raise FFNNError(f"linear_pieces needs piecewise-linear activations, got {act.name}")
        if act.dsigma(np.array([-1.0]))[0] == act.dsigma(np.array([1.0]))[0]:
            continue  # no kink at z = 0 (identity)
        h = _prefix(net, node, bps)  # the pre-activation, exactly linear between breakpoints
        z0, z1 = h[:-1], h[1:]
        i, u = np.nonzero(z0 * z1 < 0)
        frac = z0[i, u] / (z0[i, u] - z1[i, u])
        bps = np.unique(np.concatenate([bps, bps[i] + frac * (bps[i + 1] - bps[i])]))
    y = net.forward(bps[:, None])[0][:, 0]
    slope = np.diff(y) / np.diff(bps)
    scale = max(np.max(np.abs(slope)), 1e-300)
    keep = np.abs(np.diff(slope)) > rtol * scale
    return np.concatenate([[bps[0]], bps[1:-1][keep], [bps[-1]]])


def _prefix(net: Network, upto, x: np.ndarray) -> np.ndarray:
    """Value of the node feeding ``upto`` (a chain's pre-activation) at inputs x."""
    _, trace = net.forward(x[:, None])
    i = next(i for i, n in enumerate(net.nodes) if n is upto)
    return trace.values[net._parents[i][0]]
