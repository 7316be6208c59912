"""Layers: each one is the bundle of its local rules, with explicit data flow.

A layer is called on graph nodes to make a new node (``Dense(64)(x)``). The network runs every
sweep once for all layers, and asks each layer only for its local rules:

    forward(P, xs, out=None)                      -> (y, cache)       y = layer(xs)
    vjp(P, cache, g, grads, accumulate, need, out=None) -> [messages]  (∂y/∂x_k)ᵀ g, and ∂L/∂P
    jvp(P, cache, rx, V, out=None)                -> R{y}             forward mode along V
    r_term(P, cache, g, rx, V, rgrads, need)      -> [messages]       the R-operator's extra term

``P`` is what :meth:`Layer.pack` made of the layer's blocks in θ (None for a layer without
parameters); ``grads`` the same blocks of a gradient vector (None: messages only), written, or
added to when ``accumulate``; ``need[k]`` whether input k wants a message; ``rx[k]`` = R{x_k}
(None where it is 0: the input does not depend on θ) and ``V`` the direction's blocks. The
cache is returned, never kept on the layer. ``out`` is an optional buffer for the result (the
training loop passes a :class:`~ffnn.core.graph.Workspace`'s); everyone else gets fresh arrays.
``per_example`` and ``ntk_gram`` have generic defaults built from ``vjp``; a layer may override
them with a faster form (Dense does).

Batches are rows: an input of n features is an array of shape (batch, n). In the notes' column
notation z = W x + b; for a batch of rows X this is Z = X Wᵀ + b, with W: (n_out, n_in) exactly as
in the notes.

Rule for vjp: a layer never writes into the ``g`` it receives (it may be shared by several
receivers, e.g. the two branches of an ``Add``), and never keeps it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import count

import numpy as np

from ffnn.core.activations import Activation, get_activation
from ffnn.core.blas import addmm
from ffnn.core.init import Init, as_init
from ffnn.core.outer import outer_rows
from ffnn.errors import FFNNError

__all__ = ["Node", "Layer", "Input", "Dense", "Act", "Add", "Concat"]

_ids = count(1)


@dataclass(eq=False)
class Node:
    """A value in the graph: the output of ``layer`` applied to ``parents``, ``dim`` wide."""

    layer: Layer | None
    parents: tuple[Node, ...]
    dim: int
    name: str = field(default="")

    def __repr__(self) -> str:
        return f"Node({self.name!r}, dim={self.dim})"


class Layer:
    """Base class. A layer with parameters declares ``shapes`` (one per block in θ, named by
    ``param_names``) and ``draw``; the network lays its blocks out in θ."""

    kind = "layer"
    shapes: tuple = ()
    param_names: tuple = ()
    #: the messages its vjp returns (given no ``out``) are new arrays, which a sweep may add
    #: into; a layer that sends its input message on, or a view of it, leaves this False
    fresh_messages = False

    def __init__(self, name: str | None = None):
        self.name = name or f"{self.kind}_{next(_ids)}"

    def __call__(self, *parents: Node) -> Node:
        for p in parents:
            if not isinstance(p, Node):
                raise FFNNError(
                    f"layer '{self.name}' must be called on graph nodes (from Input or another "
                    f"layer), got {type(p).__name__}"
                )
        dim = self.bind([p.dim for p in parents])
        # a shared layer's later calls get their own node names: "dense_3", "dense_3#2", ...
        self._calls = getattr(self, "_calls", 0) + 1
        name = self.name if self._calls == 1 else f"{self.name}#{self._calls}"
        return Node(self, tuple(parents), dim, name)

    def bind(self, dims: list[int]) -> int:
        """Check the input widths and return the output width."""
        raise NotImplementedError

    def config(self) -> dict:
        return {"kind": self.kind, "name": self.name}

    def _need_one(self, dims: list[int]) -> int:
        if len(dims) != 1:
            raise FFNNError(f"layer '{self.name}' takes one input, got {len(dims)}")
        return dims[0]

    # --- parameters --------------------------------------------------------------------------
    @property
    def n_params(self) -> int:
        return sum(math.prod(s) for s in self.shapes)

    def pack(self, blocks: tuple, init: Init) -> tuple:
        """What the rules receive as P: by default the blocks themselves (views into θ)."""
        return tuple(blocks)

    def draw(self, rng: np.random.Generator, init: Init, blocks: tuple) -> None:
        """Fill the blocks (float64 arrays of ``shapes``) with initial values."""
        raise FFNNError(f"layer '{self.name}' has parameters; define draw(rng, init, blocks)")

    # --- the rules (see the module docstring) -----------------------------------------------
    def vjp(self, P, cache, g, grads, accumulate, need, out=None) -> list:
        if type(self).backward is not Layer.backward:  # a layer written with backward only
            return self.backward(P, cache, g, grads, accumulate, need, out)
        raise NotImplementedError(f"layer '{self.name}' defines no vjp")

    def backward(self, P, cache, g, grads, accumulate, need, out=None) -> list:
        """The former name of :meth:`vjp`."""
        return self.vjp(P, cache, g, grads, accumulate, need, out)

    def jvp(self, P, cache, rx, V, out=None):
        raise FFNNError(
            f"layer '{self.name}' ({type(self).__name__}) defines no jvp(P, cache, rx, V) "
            "(forward mode), which Gauss-Newton and Hessian-vector products need"
        )

    def r_term(self, P, cache, g, rx, V, rgrads, need) -> list:
        raise FFNNError(
            f"layer '{self.name}' ({type(self).__name__}) defines no r_term(P, cache, g, rx, V, "
            "rgrads, need) (the R-operator's second-order term), which Hessian-vector products "
            "need"
        )

    def per_example(self, P, cache, g, out, accumulate, need) -> None:
        """Write (or add) the per-example parameter gradients, one row of g: (n, n_out) at a
        time, into ``out`` (one (n, *shape) array per block). Generic: n calls of vjp."""
        gi = np.zeros_like(g)
        none = [False] * len(need)
        for i in range(g.shape[0]):
            gi[i] = g[i]
            self.vjp(P, cache, gi, tuple(o[i] for o in out), accumulate, none)
            gi[i] = 0

    def per_example_sq_norm(self, P, cache, g) -> np.ndarray:
        """‖∂(seed)/∂P(x_i)‖² for every example, (n,) in float64, from the messages g: (n, ·).
        Generic: the per-example rows, then their squared norms."""
        blocks = [np.zeros((g.shape[0], *s), g.dtype) for s in self.shapes]
        self.per_example(P, cache, g, blocks, False, [False])
        return sum(np.einsum("ij,ij->i", *(b.reshape(g.shape[0], -1),) * 2, dtype=np.float64)
                   for b in blocks)  # fmt: skip

    def ntk_gram(self, P, cu, du: list, cv, dv: list, pairs, out=None, scratch=None) -> np.ndarray:
        """Σ over this layer's parameters of ∂(seed a)/∂P(x_i) · ∂(seed b)/∂P(x'_j) for two
        uses u, v and each pair (a, b) of ``pairs``, from the messages du[a]: (n1, ·) and
        dv[b]: (n2, ·).

        Returns (len(pairs), n1, n2). With ``out`` the shares are added into it instead: pair q
        into out[q], or every pair into out[0] when out is (1, n1, n2) (their sum), and out is
        returned. ``scratch``: optional work space, (2, n1, n2) in the messages' dtype, that
        the rule may write over (Dense puts its Gram matrices there). Generic: every seed's
        per-example rows, then their inner products.
        """
        n1, n2 = du[0].shape[0], dv[0].shape[0]

        def rows(cache, d):
            blocks = [np.zeros((d.shape[0], *s), d.dtype) for s in self.shapes]
            self.per_example(P, cache, d, blocks, False, [False])
            return np.concatenate([b.reshape(d.shape[0], -1) for b in blocks], axis=1)

        Ju = [rows(cu, d) for d in du]
        Jv = Ju if (cv is cu and dv is du) else [rows(cv, d) for d in dv]
        if out is None:
            out = np.zeros((len(pairs), n1, n2), du[0].dtype)
        for q, (a, b) in enumerate(pairs):
            out[q if len(out) > 1 else 0] += Ju[a] @ Jv[b].T
        return out


def Input(n: int, name: str = "x") -> Node:
    """The network's input x^(0) with n_0 = n features (arrays of shape (batch, n))."""
    if not isinstance(n, int | np.integer) or n < 1:
        raise FFNNError(f"Input width must be a positive integer, got {n!r}")
    return Node(None, (), int(n), name)


def _gram(A, B, out: np.ndarray | None = None) -> np.ndarray:
    """A Bᵀ: (n1, n2) for rows A: (n1, m) and B: (n2, m), into ``out`` if given: NumPy's
    symmetric product (half the work) when B is A, an outer product when m = 1 (BLAS took 4x
    as long with K = 1: 1.1 ms against 0.27 ms at 1,000 × 1,000), and the dense n1 × n2 result
    of a SciPy sparse input batch."""
    if not (isinstance(A, np.ndarray) and isinstance(B, np.ndarray)):
        r = A @ B.T
        r = r.toarray() if hasattr(r, "toarray") else np.asarray(r)
        if out is None:
            return r
        np.copyto(out, r)
        return out
    if A.shape[1] == 1:
        return np.multiply(A, B.T, out=out)
    return np.matmul(A, B.T, out=out)


def _sparse_xM(x, M: np.ndarray, out: np.ndarray | None) -> np.ndarray:
    """x M for a SciPy sparse batch x: (batch, n_in) (the first layer's input) and a dense M,
    as a dense array (into ``out`` if given); x itself is never densified."""
    r = np.asarray(x @ M)
    if out is None:
        return r
    np.copyto(out, r)
    return out


class Dense(Layer):
    """Affine map z = s_W · W x + s_b · b with W: (n_out, n_in), b: (n_out,).

    (s_W, s_b) = (1, 1) in the standard parameterization, (√(C_W/n_in), √C_b) in the NTK one.
    ``init`` (an :class:`~ffnn.core.init.Init`, a scheme name or a number C_W) overrides the
    network's default for this layer.
    """

    kind = "dense"
    fresh_messages = True

    def __init__(self, n_out: int, *, init: Init | str | float | None = None, name=None):
        super().__init__(name)
        if not isinstance(n_out, int | np.integer) or n_out < 1:
            raise FFNNError(f"Dense width must be a positive integer, got {n_out!r}")
        self.n_out = int(n_out)
        self.n_in: int | None = None
        self.init = as_init(init)

    def bind(self, dims):
        n_in = self._need_one(dims)
        if self.n_in is not None and self.n_in != n_in:
            raise FFNNError(
                f"layer '{self.name}' was built for {self.n_in} inputs and is now called on a "
                f"node of width {n_in}; a shared layer needs inputs of one width"
            )
        self.n_in = n_in
        return self.n_out

    param_names = ("W", "b")

    @property
    def shapes(self) -> tuple[tuple[int, int], tuple[int]]:
        return (self.n_out, self.n_in), (self.n_out,)

    def config(self):
        c = super().config()
        c["n_out"] = self.n_out
        if self.init is not None:
            c["init"] = self.init.to_dict()
        return c

    def pack(self, blocks, init):
        """P = (W, b, s_W, s_b), the scales of this layer's parameterization."""
        return (*blocks, *(self.init or init).scales(self.n_in, self.n_out))

    def draw(self, rng, init, blocks):
        (self.init or init).draw(rng, *blocks)

    @staticmethod
    def forward(params, xs, out=None):
        """x: (batch, n_in) -> z = x Wᵀ + b: (batch, n_out); the cache is x."""
        W, b, s_W, s_b = params
        (x,) = xs
        if not isinstance(x, np.ndarray):
            z = _sparse_xM(x, W.T, out)
        elif x.shape[1] == 1:  # one input: an outer product, 3x faster than BLAS with K = 1
            z = np.multiply(x, W.T, out=out)
        else:
            z = np.matmul(x, W.T, out=out)
        if s_W != 1.0:
            z *= s_W
        z += b if s_b == 1.0 else s_b * b
        return z, x

    @staticmethod
    def vjp(params, x, g, grads, accumulate, need, out=None):
        """g = ∂L/∂z: (batch, n_out). Writes (or adds) ∂L/∂W = s_W gᵀx and ∂L/∂b = s_b Σ g into
        grads (unless None); returns [∂L/∂x = s_W g W: (batch, n_in)] (into ``out``), or [None]."""
        W, b, s_W, s_b = params
        if grads is not None:
            gW, gb = grads
            if not isinstance(x, np.ndarray):  # a sparse input batch: gᵀx = (xᵀg)ᵀ, x kept sparse
                gWx, gbx = (x.T @ g).T * s_W, g.sum(axis=0) * s_b
                if accumulate:
                    gW += gWx
                    gb += gbx
                else:
                    gW[...], gb[...] = gWx, gbx
            elif accumulate:
                addmm(gW, g.T, x, s_W)
                gb += g.sum(axis=0) * s_b
            else:
                np.matmul(g.T, x, out=gW)
                if s_W != 1.0:
                    gW *= s_W
                np.add.reduce(g, axis=0, out=gb)  # Σ over the batch (the ufunc: no wrapper)
                if s_b != 1.0:
                    gb *= s_b
        if not need[0]:
            return [None]
        dx = np.matmul(g, W, out=out)
        if s_W != 1.0:
            dx *= s_W
        return [dx]

    backward = vjp

    @staticmethod
    def jvp(params, x, rx, V, out=None):
        """R{z} = s_W (R{x} Wᵀ + x V_Wᵀ) + s_b V_b: (batch, n_out)."""
        W, b, s_W, s_b = params
        VW, Vb = V
        r = np.matmul(x, VW.T, out=out)
        if rx[0] is not None:
            addmm(r, rx[0], W.T)
        if s_W != 1.0:
            r *= s_W
        r += Vb * s_b if s_b != 1.0 else Vb
        return r

    @staticmethod
    def r_term(params, x, g, rx, V, rgrads, need, into=None):
        """What R{·} adds to vjp(R{g}): s_W gᵀ R{x} in ∂/∂W, and the message s_W g V_W —
        added into ``into[0]`` (vjp's message, when the sweep hands it over) or returned."""
        W, b, s_W, s_b = params
        if rx[0] is not None:
            addmm(rgrads[0], g.T, rx[0], s_W)
        if not need[0]:
            return [None]
        if into is not None and into[0] is not None:
            addmm(into[0], g, V[0], s_W)
            return [None]
        m = np.matmul(g, V[0])
        if s_W != 1.0:
            m *= s_W
        return [m]

    @staticmethod
    def per_example(params, x, g, out, accumulate, need):
        """∂/∂W = s_W g_i x_iᵀ and ∂/∂b = s_b g_i for every example i, one broadcast product."""
        W, b, s_W, s_b = params
        GW, Gb = out
        if accumulate:
            GW += g[:, :, None] * x[:, None, :] * s_W
            Gb += g * s_b
        else:
            outer_rows(g, x, s_W, GW)  # the m × n_out × n_in store, on every core when large
            np.multiply(g, s_b, out=Gb)

    @staticmethod
    def per_example_sq_norm(params, x, g):
        """‖s_W g_i x_iᵀ‖² + ‖s_b g_i‖² = ‖g_i‖² (s_W² ‖x_i‖² + s_b²): (n,), no (n, n_out, n_in)."""
        W, b, s_W, s_b = params
        gg = np.einsum("ij,ij->i", g, g, dtype=np.float64)
        return gg * (s_W * s_W * np.einsum("ij,ij->i", x, x, dtype=np.float64) + s_b * s_b)

    @staticmethod
    def ntk_gram(params, xu, du, xv, dv, pairs, out=None, scratch=None):
        """s_W² (G_δ ⊙ G_x) + s_b² G_δ = G_δ ⊙ (s_W² G_x + s_b²) with G_x = X_u X_vᵀ and
        G_δ = Δ_u Δ_vᵀ: (n1, n2) each, no p-sized rows (``out``, ``scratch``: Layer.ntk_gram)."""
        W, b, s_W, s_b = params
        Gx, Gd = (None, None) if scratch is None else scratch
        Gx = _gram(xu, xv, Gx)
        if s_W != 1.0:
            Gx *= s_W * s_W
        if s_b != 0:
            Gx += s_b * s_b
        if out is None:
            out = np.zeros((len(pairs), *Gx.shape), dtype=du[0].dtype)
        for q, (a, c) in enumerate(pairs):
            Gd = _gram(du[a], dv[c], Gd)
            Gd *= Gx
            out[q if len(out) > 1 else 0] += Gd
        return out

    def kernel(self, ks, ctx):
        """Infinite-width rule: K ↦ C_W K + C_b, Θ ↦ C_W Θ + s_W² n_in K + s_b² (core.kernels)."""
        (k,) = ks
        init = self.init or ctx.init
        C_W, C_b = init.C_W(self.n_in, self.n_out), init.bias_variance()
        s_W, s_b = init.scales(self.n_in, self.n_out)
        return k.dense(C_W, C_b, s_W * s_W * self.n_in, s_b * s_b, self.n_out, self)


class Act(Layer):
    """Element-wise activation x = σ(z), backward δ = σ'(z) ⊙ g; the cache is (z, x)."""

    kind = "act"
    fresh_messages = True

    def __init__(self, activation: str | Activation, *, name=None):
        self.activation = get_activation(activation)
        super().__init__(name or f"{self.activation.name}_{next(_ids)}")

    def bind(self, dims):
        return self._need_one(dims)

    def config(self):
        c = super().config()
        c["activation"] = self.activation.name
        if self.activation.params:
            c["activation_params"] = list(self.activation.params)
        return c

    def forward(self, params, xs, out=None):
        (z,) = xs
        x = self.activation.forward(z, out)
        return x, (z, x)

    def vjp(self, params, cache, g, grads, accumulate, need, out=None):
        """δ = σ'(z) ⊙ g."""
        if not need[0]:
            return [None]
        z, x = cache
        return [self.activation.backward(z, x, g, out)]

    backward = vjp

    def jvp(self, params, cache, rx, V, out=None):
        """R{x} = σ'(z) ⊙ R{z} (or None when R{z} = 0)."""
        if rx[0] is None:
            return None
        z, x = cache
        return self.activation.backward(z, x, rx[0], out)

    def r_term(self, params, cache, g, rx, V, rgrads, need, into=None):
        """σ''(z) ⊙ R{z} ⊙ g (None where σ'' = 0 a.e. or R{z} = 0); ``into`` is not used."""
        if rx[0] is None or not need[0]:
            return [None]
        z, x = cache
        d2 = self.activation.second(z, x)
        if d2 is None:
            return [None]
        m = np.multiply(d2, rx[0])
        m *= g
        return [m]

    def kernel(self, ks, ctx):
        """Infinite-width rule: K ↦ E[σ(u)σ(v)], Θ ↦ E[σ'(u)σ'(v)] ⊙ Θ, (u, v) ~ N(0, K)."""
        (k,) = ks
        return k.through(ctx.gauss(self.activation))


class Add(Layer):
    """Sum of inputs of equal width (skip connections); backward sends g to every input."""

    kind = "add"

    def bind(self, dims):
        if len(dims) < 2:
            raise FFNNError(f"layer '{self.name}' adds two or more inputs, got {len(dims)}")
        if len(set(dims)) != 1:
            raise FFNNError(
                f"layer '{self.name}' adds inputs of widths {dims}; they must all be equal"
            )
        return dims[0]

    def forward(self, params, xs, out=None):
        y = np.add(xs[0], xs[1], out=out)
        for x in xs[2:]:
            y += x
        return y, None

    def vjp(self, params, cache, g, grads, accumulate, need, out=None):
        return [g if n else None for n in need]

    backward = vjp

    def jvp(self, params, cache, rx, V, out=None):
        """R{y} = Σ_k R{x_k} over the inputs that depend on θ."""
        live = [r for r in rx if r is not None]
        if not live:
            return None
        y = np.add(live[0], live[1], out=out) if len(live) > 1 else _put(live[0], out)
        for r in live[2:]:
            y += r
        return y

    def r_term(self, params, cache, g, rx, V, rgrads, need):
        return [None] * len(need)  # linear, no parameters

    def kernel(self, ks, ctx):
        """Infinite-width rule: the sum of the inputs' kernels, if they are uncorrelated."""
        from ffnn.core.kernels import kernel_add

        return kernel_add(ks)


class Concat(Layer):
    """Concatenation of inputs along the feature axis; backward splits g."""

    kind = "concat"

    def bind(self, dims):
        if len(dims) < 2:
            raise FFNNError(f"layer '{self.name}' concatenates two or more inputs, got {len(dims)}")
        return int(sum(dims))

    def forward(self, params, xs, out=None):
        """The cache is the offsets of the inputs (per call: a shared Concat may see others)."""
        offsets = np.cumsum([0] + [x.shape[1] for x in xs])
        return np.concatenate(xs, axis=1, out=out), offsets

    def vjp(self, params, offsets, g, grads, accumulate, need, out=None):
        parts = np.split(g, offsets[1:-1], axis=1)
        return [p if n else None for p, n in zip(parts, need, strict=True)]

    backward = vjp

    def jvp(self, params, offsets, rx, V, out=None):
        """R{y} = [R{x_1}, R{x_2}, ...] with zeros for the inputs that do not depend on θ."""
        live = [r for r in rx if r is not None]
        if not live:
            return None
        y = np.zeros((live[0].shape[0], int(offsets[-1])), live[0].dtype) if out is None else out
        for r, a, e in zip(rx, offsets[:-1], offsets[1:], strict=True):
            y[:, a:e] = 0 if r is None else r
        return y

    def r_term(self, params, cache, g, rx, V, rgrads, need):
        return [None] * len(need)

    def kernel(self, ks, ctx):
        """Infinite-width rule: the width-weighted average of the inputs' kernels."""
        from ffnn.core.kernels import kernel_concat

        return kernel_concat(ks)


def _put(value: np.ndarray, out: np.ndarray | None) -> np.ndarray:
    """A copy of ``value`` (into ``out`` when given): the result must not alias an input."""
    if out is None:
        return value.copy()
    np.copyto(out, value)
    return out


LAYER_KINDS = {"dense": Dense, "act": Act, "add": Add, "concat": Concat}
