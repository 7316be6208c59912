"""Layers: small bundles of functions with explicit data flow.

A layer is called on graph nodes to make a new node (``Dense(64)(x)``); the network then runs

    forward(params, xs, out=None)               -> (y, cache)
    backward(params, cache, g, ..., out=None)   -> [dx for each input]

with the cache returned, never hidden on the layer. ``out`` is an optional buffer of the result's
shape that the layer may write y (or dx) into: the training loop passes the buffers of a
:class:`~ffnn.core.graph.Workspace`; everyone else gets fresh arrays.

Batches are rows: an input of n features is an array of shape (batch, n). In the notes' column
notation z = W x + b; for a batch of rows X this is Z = X Wᵀ + b, with W: (n_out, n_in) exactly as
in the notes.

Rule for backward: a layer never writes into the ``g`` it receives (it may be shared by several
receivers, e.g. the two branches of an ``Add``), and never keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import count

import numpy as np

from ffnn.core.activations import Activation, get_activation
from ffnn.core.init import Init, as_init
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
    """Base class. Parameter-free layers leave ``n_params`` at 0."""

    kind = "layer"
    n_params = 0

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


def Input(n: int, name: str = "x") -> Node:
    """The network's input x^(0) with n_0 = n features (arrays of shape (batch, n))."""
    if not isinstance(n, int | np.integer) or n < 1:
        raise FFNNError(f"Input width must be a positive integer, got {n!r}")
    return Node(None, (), int(n), name)


class Dense(Layer):
    """Affine map z = s_W · W x + s_b · b with W: (n_out, n_in), b: (n_out,).

    (s_W, s_b) = (1, 1) in the standard parameterization, (√(C_W/n_in), √C_b) in the NTK one.
    ``init`` (an :class:`~ffnn.core.init.Init`, a scheme name or a number C_W) overrides the
    network's default for this layer.
    """

    kind = "dense"

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

    @property
    def n_params(self) -> int:
        return self.n_out * self.n_in + self.n_out

    @property
    def shapes(self) -> tuple[tuple[int, int], tuple[int]]:
        return (self.n_out, self.n_in), (self.n_out,)

    def config(self):
        c = super().config()
        c["n_out"] = self.n_out
        if self.init is not None:
            c["init"] = self.init.to_dict()
        return c

    @staticmethod
    def forward(params, xs, out=None):
        """x: (batch, n_in) -> z = x Wᵀ + b: (batch, n_out); the cache is x."""
        W, b, s_W, s_b = params
        (x,) = xs
        z = np.matmul(x, W.T, out=out)
        if s_W != 1.0:
            z *= s_W
        z += b if s_b == 1.0 else s_b * b
        return z, x

    @staticmethod
    def backward(params, x, g, grads, accumulate, need, out=None):
        """g = ∂L/∂z: (batch, n_out). Writes ∂L/∂W = s_W gᵀx and ∂L/∂b = s_b Σ g into grads;
        returns [∂L/∂x = s_W g W: (batch, n_in)] (into ``out`` if given), or [None]."""
        W, b, s_W, s_b = params
        gW, gb = grads
        if accumulate:
            gW += g.T @ x * s_W
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

    def backward(self, params, cache, g, grads, accumulate, need, out=None):
        z, x = cache
        return [self.activation.backward(z, x, g, out)]

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

    def backward(self, params, cache, g, grads, accumulate, need, out=None):
        return [g if n else None for n in need]

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
        """The cache is the split points; kept per call, so a shared Concat may see other widths."""
        splits = np.cumsum([x.shape[1] for x in xs[:-1]])
        return np.concatenate(xs, axis=1, out=out), splits

    def backward(self, params, splits, g, grads, accumulate, need, out=None):
        parts = np.split(g, splits, axis=1)
        return [p if n else None for p, n in zip(parts, need, strict=True)]

    def kernel(self, ks, ctx):
        """Infinite-width rule: the width-weighted average of the inputs' kernels."""
        from ffnn.core.kernels import kernel_concat

        return kernel_concat(ks)


LAYER_KINDS = {"dense": Dense, "act": Act, "add": Add, "concat": Concat}
