"""The kernel sweep: the infinite-width NNGP kernel K and NTK Θ out of the network's graph.

As every hidden width → ∞ (at fixed ratios), the units of each node become independent, identically
distributed random functions of the input; each layer maps its inputs' kernels to its output's by
its own rule, ``layer.kernel(ks, ctx)`` (the idea of neural-tangents' ``kernel_fn``). For inputs
X1: (n1, n_0), X2: (n2, n_0) a :class:`Kernel` holds, per unit, the second moment
K(x, x') = E[y(x) y(x')] (the NNGP kernel) and the NTK Θ(x, x') = E[∂y(x)/∂θ · ∂y(x')/∂θ]:

    input x       K = x·x'/n_0,                        Θ = 0
    Dense         K ↦ C_W K + C_b,                     Θ ↦ C_W Θ + a K + c
    activation σ  K ↦ E[σ(u)σ(v)],                     Θ ↦ E[σ'(u)σ'(v)] ⊙ Θ,   (u, v) ~ N(0, K)
    Add           K ↦ Σ K_i,                           Θ ↦ Σ Θ_i   (inputs uncorrelated, see below)
    Concat        K ↦ Σ n_i K_i / Σ n_i,               Θ likewise  (the average over units)

where the weights have variance C_W/n_in and the biases C_b in both parameterizations, and the
parameters' own term is (a, c) = (s_W² n_in, s_b²) with the forward scales z = s_W W x + s_b b:
(C_W, C_b) in the NTK parameterization (the width-independent limit), (n_in, 1) in the standard
one (the expected NTK at these widths; it grows with width).

What the rules need, and check:

* an activation needs a Gaussian input: the output of a Dense layer, or a sum of independent
  ones (``gaussian``); otherwise E[σ(u)σ(v)] is not a function of K. The input x, an activation's
  output and a Concat (whose units are not identically distributed) are not;
* Add sums the kernels only if the cross moments E[y_i(x) y_j(x')] vanish: of every two inputs,
  one must end in Dense layers whose fresh zero-mean weights the other does not depend on (a
  residual x + Dense(…)(x)); then the cross NNGP and NTK terms are zero in expectation at any
  width;
* a layer used at several nodes (weight sharing) is refused: the rules assume fresh weights at
  every node.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from ffnn.core.gauss import GaussRule, quadrature
from ffnn.core.init import Init
from ffnn.errors import FFNNError

__all__ = ["Kernel", "KernelContext", "kernel_add", "kernel_concat", "kernel_sweep", "nngp_ntk"]


@dataclass(frozen=True)
class KernelContext:
    """What a layer's kernel rule may need besides its inputs' kernels.

    ``init``: the network's default Init (for Dense layers without their own); ``tol``, ``order``,
    ``step``: the quadrature for activations without a closed-form rule (a target accuracy, or a
    fixed Gauss–Hermite order or trapezoid step; see :func:`ffnn.core.gauss.quadrature`).
    """

    init: Init
    tol: float = 1e-9
    order: int | None = None
    step: float | None = None

    def gauss(self, activation) -> GaussRule:
        """The activation's own rule, or quadrature on its σ and σ'."""
        rule = getattr(activation, "gauss", None)
        if rule is not None:
            return rule
        return partial(
            quadrature,
            activation.sigma,
            activation.dsigma,
            tol=self.tol,
            order=self.order,
            step=self.step,
        )


@dataclass(frozen=True)
class Kernel:
    """The infinite-width kernels of one node between X1: (n1, n_0) and X2: (n2, n_0).

    ``K12``: (n1, n2) NNGP kernel, ``K11``: (n1,) and ``K22``: (n2,) its variances at X1 and X2,
    ``T12``: (n1, n2) the NTK; ``Kdot12``: (n1, n2) E[σ'(u)σ'(v)] of the activation that made the
    node (None otherwise). ``width``: the node's number of units. ``gaussian``: a centred Gaussian
    process (a Dense output or a sum of independent ones). ``fresh``: the Dense layers whose
    zero-mean weights enter every term linearly (empty if not such a sum); ``depends``: every Dense
    layer upstream.
    """

    K12: np.ndarray
    K11: np.ndarray
    K22: np.ndarray
    T12: np.ndarray
    width: int
    gaussian: bool = False
    fresh: frozenset = frozenset()
    depends: frozenset = frozenset()
    Kdot12: np.ndarray | None = None

    def dense(self, C_W: float, C_b: float, a: float, c: float, width: int, layer) -> Kernel:
        """Through z = s_W W x + s_b b: K ↦ C_W K + C_b, Θ ↦ C_W Θ + a K + c (module docstring)."""
        return Kernel(
            C_W * self.K12 + C_b,
            C_W * self.K11 + C_b,
            C_W * self.K22 + C_b,
            C_W * self.T12 + a * self.K12 + c,
            width,
            gaussian=True,
            fresh=frozenset([layer]),
            depends=self.depends | {layer},
        )

    def through(self, rule: GaussRule) -> Kernel:
        """Through x = σ(z): K ↦ E[σ(u)σ(v)], Θ ↦ E[σ'(u)σ'(v)] ⊙ Θ with (u, v) ~ N(0, K)."""
        if not self.gaussian:
            raise FFNNError(
                "its input is not a Gaussian process in the infinite-width limit (not the output "
                "of a Dense layer or a sum of independent ones), so E[σ(u)σ(v)] is not a "
                "function of the kernel; put a Dense layer before the activation"
            )
        e12, d12 = rule(self.K11[:, None], self.K22[None, :], self.K12)
        e11 = rule(self.K11, self.K11, self.K11)[0]
        e22 = rule(self.K22, self.K22, self.K22)[0]
        return Kernel(e12, e11, e22, d12 * self.T12, self.width, depends=self.depends, Kdot12=d12)


def _uncorrelated(a: Kernel, b: Kernel) -> bool:
    """E[a_i(x) b_i(x')] = 0 when a is linear in fresh weights that b does not depend on."""
    return bool(a.fresh) and not (a.fresh & b.depends)


def kernel_add(ks: list[Kernel]) -> Kernel:
    """y = Σ_i y_i: the kernels add when every two inputs are uncorrelated (module docstring)."""
    for i, a in enumerate(ks):
        for j in range(i + 1, len(ks)):
            if not (_uncorrelated(a, ks[j]) or _uncorrelated(ks[j], a)):
                raise FFNNError(
                    f"inputs {i} and {j} may be correlated, and then the kernel of a sum is not "
                    "the sum of the kernels; it is when, of every two inputs, one ends in a "
                    "Dense layer whose fresh weights the other does not depend on (a residual "
                    "x + Dense(...)(x))"
                )
    fresh = frozenset().union(*(k.fresh for k in ks)) if all(k.fresh for k in ks) else frozenset()
    return Kernel(
        sum(k.K12 for k in ks),
        sum(k.K11 for k in ks),
        sum(k.K22 for k in ks),
        sum(k.T12 for k in ks),
        ks[0].width,
        gaussian=all(k.gaussian for k in ks),
        fresh=fresh,
        depends=frozenset().union(*(k.depends for k in ks)),
    )


def kernel_concat(ks: list[Kernel]) -> Kernel:
    """[y_1, …, y_m]: the average over units Σ n_i K_i / Σ n_i (and Θ alike).

    Exact for what a Dense layer makes of it (z_j = Σ_u W_ju y_u weighs every unit alike); the
    units are not identically distributed, so the result is not Gaussian (no activation on it).
    """
    n = sum(k.width for k in ks)

    def mean(field: str) -> np.ndarray:
        return sum(k.width * getattr(k, field) for k in ks) / n

    fresh = frozenset().union(*(k.fresh for k in ks)) if all(k.fresh for k in ks) else frozenset()
    return Kernel(
        mean("K12"),
        mean("K11"),
        mean("K22"),
        mean("T12"),
        n,
        fresh=fresh,
        depends=frozenset().union(*(k.depends for k in ks)),
    )


def _input_kernel(X1: np.ndarray, X2: np.ndarray) -> Kernel:
    n0 = X1.shape[1]
    K12 = X1 @ X2.T / n0
    K11, K22 = np.sum(X1 * X1, axis=1) / n0, np.sum(X2 * X2, axis=1) / n0
    return Kernel(K12, K11, K22, np.zeros_like(K12), n0)


def _graph(graph):
    """(nodes in topological order, default Init) of a Network or of an output node."""
    if hasattr(graph, "nodes") and hasattr(graph, "default_init"):
        return list(graph.nodes), graph.default_init
    from ffnn.core.graph import _topological  # lazy: graph imports layers, which import this

    nodes = _topological(graph)
    sources = [n for n in nodes if n.layer is None]
    if len(sources) != 1:
        raise FFNNError(f"the kernel sweep needs a graph with one input, got {len(sources)}")
    return nodes, Init()


def _check_inputs(X1, X2, n0: int) -> tuple[np.ndarray, np.ndarray]:
    X1 = np.atleast_2d(np.asarray(X1, dtype=np.float64))
    X2 = X1 if X2 is None else np.atleast_2d(np.asarray(X2, dtype=np.float64))
    for name, X in (("X1", X1), ("X2", X2)):
        if X.ndim != 2 or X.shape[1] != n0:
            raise FFNNError(
                f"{name} must have shape (n, {n0}) for an input of {n0} features, got {X.shape}"
            )
    return X1, X2


def _check_unshared(nodes) -> None:
    seen: dict[int, str] = {}
    for node in nodes[1:]:
        key = id(node.layer)
        if key in seen:
            raise FFNNError(
                f"layer '{node.layer.name}' is used at two nodes ('{seen[key]}' and '{node.name}'):"
                " the infinite-width kernel rules assume fresh weights at every node; build the "
                "network without weight sharing"
            )
        seen[key] = node.name


def kernel_sweep(
    graph,
    X1,
    X2=None,
    *,
    init: Init | None = None,
    tol: float = 1e-9,
    order: int | None = None,
    step: float | None = None,
) -> list[Kernel]:
    """Every node's :class:`Kernel`, in the graph's topological order (the input's first).

    ``graph``: a Network (its default Init is used) or its output node. One pass: each node
    applies its layer's ``kernel(ks, ctx)`` to its parents' kernels. ``tol``, ``order``,
    ``step``: the quadrature (:class:`KernelContext`). Computed in float64.
    """
    nodes, default = _graph(graph)
    _check_unshared(nodes)
    X1, X2 = _check_inputs(X1, X2, nodes[0].dim)
    ctx = KernelContext(init or default, tol=tol, order=order, step=step)
    index = {id(n): i for i, n in enumerate(nodes)}
    ks = [_input_kernel(X1, X2)]
    for node in nodes[1:]:
        rule = getattr(node.layer, "kernel", None)
        if rule is None:
            raise FFNNError(
                f"layer '{node.name}' ({type(node.layer).__name__}) has no infinite-width kernel "
                "rule; define its method kernel(self, ks, ctx) -> Kernel to use it here"
            )
        try:
            ks.append(rule([ks[index[id(p)]] for p in node.parents], ctx))
        except FFNNError as e:
            raise FFNNError(f"no infinite-width kernel at layer '{node.name}': {e}") from None
    return ks


def nngp_ntk(graph, X1, X2=None, **kw) -> tuple[np.ndarray, np.ndarray]:
    """(K, Θ): (n1, n2) each, the NNGP kernel and NTK of the graph's output (per output unit).

    Keywords as :func:`kernel_sweep`. Θ is the NTK of the network's parameterization: the
    width-independent limit for the NTK one, the expected kernel at these widths for the standard.
    """
    out = kernel_sweep(graph, X1, X2, **kw)[-1]
    return out.K12, out.T12
