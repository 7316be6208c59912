"""The network: any feed-forward graph (DAG) of layers, and the one backprop engine.

Forward runs the nodes in topological order. Backward is message passing (notes 003): starting
from δ at the output, each node sums the messages its consumers sent it, then sends its local
derivative times that sum to each of its inputs. Every node and edge is visited once, so the cost
is linear in the edges. The chain of layers of a multilayer perceptron is this engine's special
case, where the message sent back through Dense layer l+1 and activation l is the recurrence

    δ^(l) = σ'(z^(l)) ⊙ (W^(l+1)ᵀ δ^(l+1)),   ∂L/∂W^(l) = δ^(l) x^(l-1)ᵀ,   ∂L/∂b^(l) = δ^(l).

All parameters live in one flat vector ``theta``; the blocks of every layer that has parameters
(W and b of each Dense layer, any user layer's own) are views into it, and the gradient is a flat
vector of the same layout. The sweeps themselves are in :mod:`ffnn.core.sweeps`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ffnn.core.activations import OutputActivation, get_output_activation
from ffnn.core.init import Init, as_init
from ffnn.core.layers import LAYER_KINDS, Act, Add, Concat, Dense, Input, Layer, Node
from ffnn.core.sweeps import backward_sweep
from ffnn.errors import FFNNError

__all__ = ["Network", "Trace", "Backward", "Workspace", "mlp", "Sequential", "from_weights"]


def _as_dtype(dtype) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise FFNNError(f"dtype must be float32 or float64, got {dt}")
    return dt


def _topological(output: Node) -> list[Node]:
    """Nodes reachable backwards from ``output``, parents before children (iterative DFS)."""
    order: list[Node] = []
    state: dict[int, int] = {}  # 1 = on stack, 2 = done
    stack = [(output, False)]
    while stack:
        node, expanded = stack.pop()
        key = id(node)
        if expanded:
            state[key] = 2
            order.append(node)
            continue
        if state.get(key) == 2:
            continue
        state[key] = 1
        stack.append((node, True))
        for p in reversed(node.parents):
            if state.get(id(p)) != 2:
                stack.append((p, False))
    return order


@dataclass
class Trace:
    """What one forward pass keeps: the value of every node, and the caches backward needs.

    For a chain network, ``z[l-1]`` is z^(l) (the output of the l-th Dense layer), ``x[0]`` the
    input and ``x[l]`` = σ(z^(l)) the l-th hidden activation. ``delta`` is filled by backward:
    ``delta[l-1]`` = δ^(l) = ∂L/∂z^(l), of shape (batch, n_l). On any graph, ``z``, ``delta`` and
    the Dense nodes correspond one to one, in ``nodes`` order (a shared layer has one per call).
    """

    nodes: list[Node]
    values: list[np.ndarray]
    caches: list
    delta: list[np.ndarray] = field(default_factory=list)

    @property
    def z(self) -> list[np.ndarray]:
        pairs = zip(self.nodes, self.values, strict=True)
        return [v for n, v in pairs if isinstance(n.layer, Dense)]

    @property
    def x(self) -> list[np.ndarray]:
        return [
            v
            for n, v in zip(self.nodes, self.values, strict=True)
            if n.layer is None or isinstance(n.layer, Act)
        ]

    @property
    def output(self) -> np.ndarray:
        return self.values[-1]

    def __getitem__(self, node: Node | str) -> np.ndarray:
        for i, n in enumerate(self.nodes):
            if n is node or n.name == node:
                return self.values[i]
        raise KeyError(node)


class Workspace:
    """Buffers for one batch size, reused by every forward and backward pass given them.

    Opt-in, for loops that take many steps at one batch size (the fit loop): a Trace made with a
    workspace lives in its buffers and is overwritten by the next pass that uses the same
    workspace. ``values[i]``: (batch, dim_i), the value of node i; ``sends[i]``: (batch, dim of
    its input), what a one-input node i sends back; ``delta``: (batch, n_out), for the loss.
    Nodes whose layers cannot write into a buffer (Add's backward, Concat's) simply ignore it.

    ``in_place``: an activation node whose σ allows it (``Activation.in_place``: relu, the
    identity, leaky relu with α ≥ 0) writes x = σ(z) over z when it is z's only consumer, and
    its message σ'(z) ⊙ g over g when one node sends it g: a smaller working set, for passes
    that read the layers' caches only (the one-off Hessian-vector product). Such a Trace then
    holds x where it would hold z.
    """

    def __init__(self, net: Network, batch: int, *, in_place: bool = False):
        def buffer(dim: int) -> np.ndarray:
            return np.empty((batch, dim), dtype=net.dtype)

        self.batch = batch
        self.values = [None] + [buffer(n.dim) for n in net.nodes[1:]]
        self.sends = [
            buffer(net.nodes[ps[0]].dim) if len(ps) == 1 and ps[0] != 0 else None
            for ps in net._parents
        ]
        self.delta = buffer(net.output_node.dim)
        if in_place:
            self._overwrite(net)

    @staticmethod
    def in_place_nodes(net: Network) -> tuple[bool, ...]:
        """Per node, whether ``in_place`` may overwrite its input with its value."""
        return tuple(
            type(n.layer) is Act and n.layer.activation.in_place and len(ps) == 1 and ps[0] != 0
            for n, ps in zip(net.nodes, net._parents, strict=True)
        )

    def _overwrite(self, net: Network) -> None:
        """Share the buffers of the in-place activation nodes (values in topological order,
        sends in reverse: a chain of such nodes ends up in one buffer)."""
        users: list[list[int]] = [[] for _ in net.nodes]
        for i, ps in enumerate(net._parents):
            for p in ps:
                users[p].append(i)
        ok = self.in_place_nodes(net)
        for i in range(1, len(net.nodes)):
            if ok[i] and users[net._parents[i][0]] == [i]:
                self.values[i] = self.values[net._parents[i][0]]
        for i in reversed(range(1, len(net.nodes))):
            if ok[i] and len(users[i]) == 1 and self.sends[users[i][0]] is not None:
                self.sends[i] = self.sends[users[i][0]]


@dataclass
class Backward:
    """Result of a backward pass: the flat gradient ∂L/∂θ (p,), and ∂L/∂x (batch, n_0) if asked."""

    theta: np.ndarray
    input: np.ndarray | None = None


class Network:
    """A feed-forward network f(x; θ) = φ_out(z_out(x; θ)) over a DAG of layers.

    Parameters
    ----------
    inputs, outputs : the Input node x^(0) and the node whose value is z^(L+1).
    output : output activation φ_out ("identity", "sigmoid" or "softmax"). The graph computes the
        pre-activation z^(L+1); losses that need a stable log-sum-exp work from it directly.
    init : default :class:`Init` (or scheme name / C_W number) for Dense layers without their own.
    rng : a ``numpy.random.Generator`` or an int seed; all randomness of init comes from it.
    dtype : float32 (default) or float64.

    Attributes
    ----------
    theta : ndarray (p,)
        All parameters in one flat vector; ``params[j] = (W, b)`` are views into it, W: (n_l,
        n_{l-1}) and b: (n_l,) for the j-th Dense layer (``dense_layers[j]``).
    n_params : int
        p, the length of ``theta``.
    nodes : list of Node
        The graph in topological order; ``nodes[0]`` is the input.
    output : OutputActivation
        φ_out.

    Notes
    -----
    Calling ``net(X)`` with X: (batch, n_0) returns f(X) = φ_out(z^(L+1)): (batch, n_out);
    :meth:`forward` returns z^(L+1) and the :class:`Trace`, :meth:`backward` the gradient. In a
    notebook a network displays as a table of its nodes (and a drawing, for a DAG).

    Examples
    --------
    >>> from ffnn import Act, Add, Dense, Input, Network
    >>> x = Input(4)
    >>> h = Act("tanh")(Dense(16)(x))
    >>> out = Dense(3)(Add()(h, Act("tanh")(Dense(16)(h))))      # a residual block
    >>> net = Network(x, out, output="softmax", rng=0)
    >>> net.n_params, net(np.zeros((2, 4))).shape
    (403, (2, 3))
    """

    def __init__(
        self,
        inputs: Node,
        outputs: Node,
        *,
        output: str | OutputActivation = "identity",
        init: Init | str | float | None = None,
        rng: np.random.Generator | int | None = 0,
        dtype=np.float32,
    ):
        if not isinstance(inputs, Node) or inputs.layer is not None:
            raise FFNNError("Network(inputs=...) must be a node made by Input(n)")
        if not isinstance(outputs, Node):
            raise FFNNError("Network(outputs=...) must be a graph node")
        self.dtype = _as_dtype(dtype)
        self.output = get_output_activation(output)
        self.input_node, self.output_node = inputs, outputs
        self.default_init = as_init(init) or Init()
        order = _topological(outputs)
        sources = [n for n in order if n.layer is None]
        if inputs not in sources:
            raise FFNNError(
                f"the graph does not connect: output '{outputs.name}' does not depend on input "
                f"'{inputs.name}'"
            )
        if len(sources) > 1:
            other = [n.name for n in sources if n is not inputs]
            raise FFNNError(
                f"the graph does not connect: it reads input node(s) {other} that were not given "
                f"to Network (only '{inputs.name}' was)"
            )
        self.nodes: list[Node] = order  # order[0] is the input
        index = {id(n): i for i, n in enumerate(order)}
        self._parents = [tuple(index[id(p)] for p in n.parents) for n in order]
        # _consumers[i]: the nodes that read node i (fan-out when more than one)
        self._consumers: list[list[int]] = [[] for _ in order]
        for i, ps in enumerate(self._parents):
            for p in ps:
                self._consumers[p].append(i)
        # the nodes made by Dense layers (z^(l) of a chain), where trace.delta is kept
        self._dense_nodes = [i for i, n in enumerate(order) if isinstance(n.layer, Dense)]
        self._layout(rng)

    # --- parameters -------------------------------------------------------------------------
    def _layout(self, rng) -> None:
        """θ holds the blocks of every layer with parameters, in order of first use."""
        layers: list[Layer] = []
        for n in self.nodes[1:]:
            if n.layer.n_params and n.layer not in layers:
                layers.append(n.layer)
        self.param_layers = layers
        self.dense_layers = [layer for layer in layers if isinstance(layer, Dense)]
        self._pindex = {id(layer): k for k, layer in enumerate(layers)}
        self._layer_index = {id(layer): j for j, layer in enumerate(self.dense_layers)}
        self.inits: list[Init] = [layer.init or self.default_init for layer in self.dense_layers]
        self._scales = [
            init.scales(layer.n_in, layer.n_out)
            for init, layer in zip(self.inits, self.dense_layers, strict=True)
        ]
        self.n_params = sum(layer.n_params for layer in layers)
        self.theta = np.zeros(self.n_params, dtype=self.dtype)
        self._set_views()
        self.initialize(rng)

    def _set_views(self) -> None:
        self.blocks = self.param_views(self.theta)
        self.params, self._slices = self._views(self.theta)

    def _binding(self) -> tuple:
        """The parameter buffer θ with its views and pass plan, as a token for :meth:`_bind`."""
        self._steps()
        return (self.theta, self.blocks, self.params, self._slices, self._plan)

    def _bind(self, binding: tuple) -> None:
        """Make a token's buffer θ again, with its views and plan: no new views are made, so
        switching between two buffers in turn is free (the step loop's double buffering)."""
        self.theta, self.blocks, self.params, self._slices, self._plan = binding

    def _binding_of(self, theta: np.ndarray) -> tuple:
        """A token for the flat buffer ``theta`` (p,) of this dtype; the network stays bound to
        its own buffer."""
        here = self._binding()
        try:
            self.theta, self._plan = theta, None
            self._set_views()
            return self._binding()
        finally:
            self._bind(here)

    def _block_slices(self) -> list[list[slice]]:
        out, offset = [], 0
        for layer in self.param_layers:
            out.append([])
            for shape in layer.shapes:
                size = math.prod(shape)
                out[-1].append(slice(offset, offset + size))
                offset += size
        return out

    def param_views(self, flat: np.ndarray) -> list[tuple[np.ndarray, ...]]:
        """Per layer of ``param_layers``, its blocks (W and b for Dense) as views into ``flat``,
        a vector (p,) laid out like θ, or an (n, p) array of rows (then blocks (n, *shape))."""
        lead = flat.shape[:-1]
        return [
            tuple(
                flat[..., sl].reshape(*lead, *shape)
                for sl, shape in zip(sls, layer.shapes, strict=True)
            )
            for layer, sls in zip(self.param_layers, self._block_slices(), strict=True)
        ]

    def _views(self, flat: np.ndarray):
        """The Dense layers' (W, b) views into ``flat`` and their slices, in ``dense_layers``."""
        blocks, slices = self.param_views(flat), self._block_slices()
        keep = [self._pindex[id(layer)] for layer in self.dense_layers]
        return [blocks[k] for k in keep], [tuple(slices[k]) for k in keep]

    def unflatten(self, flat: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Views (W^(l), b^(l)) into any flat vector of length p laid out like ``theta``."""
        if flat.shape != (self.n_params,):
            raise FFNNError(f"expected a flat vector of shape ({self.n_params},), got {flat.shape}")
        return self._views(flat)[0]

    def param_blocks(self) -> list[tuple[str, slice]]:
        """Names ("dense_3.W", "dense_3.b") and slices of every parameter block in ``theta``."""
        out = []
        for layer, sls in zip(self.param_layers, self._block_slices(), strict=True):
            names = layer.param_names or [f"p{q}" for q in range(len(sls))]
            out += [(f"{layer.name}.{name}", sl) for name, sl in zip(names, sls, strict=True)]
        return out

    def initialize(self, rng: np.random.Generator | int | None = 0) -> Network:
        """Draw fresh parameters for every layer that has them from ``rng`` (a Generator or a
        seed), in float64 and then cast to the network's dtype."""
        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        for layer, blocks in zip(self.param_layers, self.blocks, strict=True):
            drawn = tuple(np.empty(b.shape) for b in blocks)
            layer.draw(rng, self.default_init, drawn)
            for b, d in zip(blocks, drawn, strict=True):
                b[...] = d
        return self

    def set_params(self, weights: Sequence[tuple[np.ndarray, np.ndarray]]) -> Network:
        """Set every (W^(l), b^(l)) by hand, in ``dense_layers`` order; shapes are checked."""
        if len(weights) != len(self.dense_layers):
            raise FFNNError(f"expected {len(self.dense_layers)} (W, b) pairs, got {len(weights)}")
        for layer, (W, b), (Wv, bv) in zip(self.dense_layers, weights, self.params, strict=True):
            W, b = np.asarray(W, dtype=float), np.asarray(b, dtype=float).reshape(-1)
            if W.shape != Wv.shape or b.shape != bv.shape:
                raise FFNNError(
                    f"layer '{layer.name}' needs W of shape {Wv.shape} and b of shape "
                    f"{bv.shape}, got {W.shape} and {b.shape}"
                )
            Wv[...], bv[...] = W, b
        return self

    def astype(self, dtype) -> Network:
        """A copy of this network (same graph, same θ) in another float dtype."""
        new = object.__new__(Network)
        new.__dict__.update(self.__dict__)
        new.dtype = _as_dtype(dtype)
        new.theta = self.theta.astype(new.dtype)
        new._set_views()
        new._gbuf = new._gviews = None  # the copy gets its own gradient buffer
        new._plan = None  # and its own parameter views in the plan
        return new

    def copy(self) -> Network:
        """A copy with its own θ (and parameter views into it); the graph's layers, which hold
        no parameters, are shared."""
        return self.astype(self.dtype)

    def __reduce__(self):
        """pickle (joblib, multiprocessing) through :meth:`config` and θ, as a model file holds
        them: the activation functions themselves are not pickled. A network that its config
        does not rebuild — a user's layer or activation — is refused with the reason."""
        why = self._rebuild_problem()
        if why is not None:
            raise TypeError(
                f"this network cannot be pickled: {why}; keep net.theta and rebuild the "
                "network with the same code instead"
            )
        return (_unpickle, (self.config(), self.theta.copy()))

    def _rebuild_problem(self) -> str | None:
        """Why :meth:`from_config` would not rebuild this network exactly (a user's layer,
        activation or output activation, which the config names but cannot hold), or None."""
        from ffnn.core.activations import ACTIVATIONS, OUTPUT_ACTIVATIONS

        for n in self.nodes[1:]:
            layer = n.layer
            if type(layer) not in (Dense, Act, Add, Concat):
                return f"layer '{layer.name}' is a {type(layer).__name__}, not one of ffnn's"
            if type(layer) is Dense and layer.init is not None:
                if as_init(layer.init.to_dict()) != layer.init:
                    return f"layer '{layer.name}' has an init its config cannot hold"
            if type(layer) is Act:
                act = layer.activation
                make = ACTIVATIONS.get(act.name)
                ref = None if make is None else make(*act.params)
                same = ref is not None and all(
                    getattr(getattr(act, f), "__code__", None)
                    is getattr(getattr(ref, f), "__code__", 0)
                    for f in ("sigma", "dsigma", "d2sigma")
                )
                if not same:
                    return f"layer '{layer.name}' has a user activation ({act.name!r})"
        if OUTPUT_ACTIVATIONS.get(self.output.name) is not self.output:
            return f"the output activation {self.output.name!r} is a user's"
        return None

    def __copy__(self) -> Network:
        """``copy.copy(net)``: a second Network object on the same θ and views, as before
        :meth:`__reduce__` existed (copy.copy would otherwise rebuild through the config)."""
        new = object.__new__(Network)
        new.__dict__.update(self.__dict__)
        return new

    def __deepcopy__(self, memo: dict) -> Network:
        """``copy.deepcopy(net)`` is :meth:`copy`: copying the W, b views as arrays of their own
        would leave them apart from the copy's θ (a model that ignores its parameters)."""
        new = memo[id(self)] = self.copy()
        return new

    # --- forward ----------------------------------------------------------------------------
    def _check_input(self, X) -> np.ndarray:
        if not isinstance(X, np.ndarray) and hasattr(X, "tocsr"):  # SciPy sparse
            return self._check_sparse_input(X)
        X = np.asarray(X)
        if X.ndim == 1 and self.input_node.dim == 1:
            X = X[:, None]
        if X.ndim != 2 or X.shape[1] != self.input_node.dim:
            first = self.nodes[self._consumers[0][0]].name if self._consumers[0] else "output"
            raise FFNNError(
                f"input '{self.input_node.name}' feeds layer '{first}', which expects arrays of "
                f"shape (batch, {self.input_node.dim}); got shape {X.shape}"
            )
        return X if X.dtype == self.dtype else X.astype(self.dtype)

    def _check_sparse_input(self, X):
        """A SciPy sparse X as CSR rows in the network's dtype; only Dense layers may read it
        (they compute X Wᵀ and δᵀX without densifying X)."""
        readers = [self.nodes[i].layer for i in self._consumers[0]]
        if not all(isinstance(layer, Dense) for layer in readers):
            raise FFNNError(
                "a sparse X can only feed Dense layers; this network's input also feeds "
                f"{[type(r).__name__ for r in readers]}: pass X.toarray()"
            )
        if X.ndim != 2 or X.shape[1] != self.input_node.dim:
            raise FFNNError(
                f"input '{self.input_node.name}' expects arrays of shape (batch, "
                f"{self.input_node.dim}); got a sparse matrix of shape {X.shape}"
            )
        X = X.tocsr()
        return X if X.dtype == self.dtype else X.astype(self.dtype)

    def _steps(self) -> list[tuple]:
        """Per node after the input, in order: (i, layer, P, parents, k, need).

        Fixed for the graph's lifetime (P holds views into ``theta``), so a pass does no
        lookups: k is the layer's index in ``param_layers`` (None for a layer without
        parameters), need[q] whether parent q wants a message when ∂L/∂x is not asked for.
        """
        plan = getattr(self, "_plan", None)
        if plan is None or plan[0] is not self.theta:
            steps = []
            for i in range(1, len(self.nodes)):
                layer, parents = self.nodes[i].layer, self._parents[i]
                k = self._pindex.get(id(layer))
                P = None if k is None else layer.pack(self.blocks[k], self.default_init)
                steps.append((i, layer, P, parents, k, [p != 0 for p in parents]))
            plan = self._plan = (self.theta, steps)
        return plan[1]

    def workspace(self, batch: int) -> Workspace:
        """Buffers for passes at this batch size: ``forward(X, workspace=ws)``, and backward."""
        return Workspace(self, batch)

    def forward(self, X, *, workspace: Workspace | None = None) -> tuple[np.ndarray, Trace]:
        """Run the graph on X: (batch, n_0). Returns z^(L+1): (batch, n_{L+1}) and the Trace.

        With a :class:`Workspace` the values are written into its buffers (the Trace is then
        overwritten by the next pass using it); without one every pass allocates afresh.
        """
        X = self._check_input(X)
        nodes = self.nodes
        values: list = [None] * len(nodes)
        caches: list = [None] * len(nodes)
        values[0] = X
        if workspace is None:
            outs = [None] * len(nodes)  # no buffers: every layer allocates its result
        else:
            if X.shape[0] != workspace.batch:
                raise FFNNError(
                    f"the workspace was made for batches of {workspace.batch}, got {X.shape[0]}"
                )
            outs = workspace.values
        for i, layer, params, parents, _, _ in self._steps():
            values[i], caches[i] = layer.forward(params, [values[p] for p in parents], outs[i])
        return values[-1], Trace(nodes, values, caches)

    def __call__(self, X) -> np.ndarray:
        """f(X) = φ_out(z^(L+1)(X)): (batch, n_{L+1})."""
        return self.output(self.z_out(X))

    @property
    def own_layers(self) -> bool:
        """Every layer is one of ffnn's own (Dense, Add, Concat, an activation written as a
        formula of z): :meth:`z_out` may then run on several threads at once. A user's layer
        may keep state between calls (fit evaluates such a network on one thread)."""
        return all(kind != _USER for kind in self._infer_plan()[2])

    def z_out(self, X) -> np.ndarray:
        """z^(L+1)(X): (batch, n_{L+1}), as :meth:`forward` computes it (the same bits), without
        a Trace — what predictions and evaluations need.

        A value is let go once its last reader has run, and its buffer receives the next value
        of its shape: a chain allocates two buffers a width instead of two a layer (one pass
        over 20,000 examples in batches of 1024: 784-1024-1024-10 225–284 ms against 309–404
        ms, 64-128-128-10 16.5–19.5 against 21–23 ms, 784-256-256-10 40–45 against 42–50 ms).
        Only buffers made in this pass are reused: those ffnn's own layers return, and the
        ``out`` a user's layer wrote into. A layer that hands an input on as its value (an
        identity σ) makes neither reusable; a user's layer makes its inputs not reusable (it
        may keep a view of them)."""
        X = self._check_input(X)
        n = len(self.nodes)
        values: list = [None] * n
        values[0] = X
        made = [False] * n  # values[i] is a buffer of this pass's own, shared with no value
        left = [len(c) for c in self._consumers]
        spare: dict = {}
        for (i, layer, params, parents, _, _), dim, kind in zip(*self._infer_plan()):  # noqa: B905
            xs = [values[p] for p in parents]
            free = spare.get((X.shape[0], dim))
            out = free.pop() if free else None
            v, _ = layer.forward(params, xs, out)
            values[i] = v
            handed_on = v is xs[0] or (len(xs) > 1 and any(v is x for x in xs))
            made[i] = not handed_on and (kind != _USER or v is out)
            for p in parents:
                if handed_on or kind == _USER:
                    made[p] = False
                left[p] -= 1
                if left[p] == 0 and made[p]:  # read for the last time: its buffer is free
                    done, values[p] = values[p], None
                    if isinstance(done, np.ndarray) and done.dtype == self.dtype:
                        spare.setdefault(done.shape, []).append(done)
        return values[-1]

    def _infer_plan(self) -> tuple[list, list, list]:
        """The pass plan with each node's width and what :meth:`z_out` may do with its layer
        (:func:`_reuse_kind`; made again when the plan is)."""
        steps = self._steps()
        cached = getattr(self, "_infer_cache", None)
        if cached is None or cached[0] is not steps:
            dims = [self.nodes[st[0]].dim for st in steps]
            cached = self._infer_cache = (steps, dims, [_reuse_kind(st[1]) for st in steps])
        return cached

    predict = __call__

    # --- backward ---------------------------------------------------------------------------
    def backward(
        self,
        trace: Trace,
        delta_out: np.ndarray,
        *,
        input_grad: bool = False,
        out: np.ndarray | None = None,
        workspace: Workspace | None = None,
    ) -> Backward:
        """Message passing from δ^(L+1) = ∂L/∂z^(L+1): (batch, n_{L+1}) back to θ (and x).

        Fills ``trace.delta`` with ∂L/∂z at every Dense output. ``out`` may be a reusable
        flat buffer of shape (p,) for the gradient, ``workspace`` the buffers of the messages
        (then ``trace.delta`` lives in them until the next pass).
        """
        nodes = self.nodes
        delta_out = np.asarray(delta_out, dtype=self.dtype)  # float32 nets stay float32
        if delta_out.shape != trace.values[-1].shape:
            raise FFNNError(
                f"delta has shape {delta_out.shape}, the output '{nodes[-1].name}' has shape "
                f"{trace.values[-1].shape}"
            )
        if out is None:
            out = np.empty(self.n_params, dtype=self.dtype)
        elif out.shape != (self.n_params,):
            raise FFNNError(
                f"backward(out=...) needs a flat buffer of shape ({self.n_params},), "
                f"got {out.shape}"
            )
        gviews = self._gviews if out is getattr(self, "_gbuf", None) else self.param_views(out)
        written = [False] * len(self.param_layers)
        caches = trace.caches
        outs = [None] * len(nodes) if workspace is None else workspace.sends

        def send(step, g):  # the vjp rule, writing ∂L/∂θ of a shared layer once then adding
            i, layer, P, parents, k, need = step
            if input_grad:
                need = [True] * len(parents)
            if k is None:
                return layer.vjp(P, caches[i], g, None, False, need, outs[i])
            sends = layer.vjp(P, caches[i], g, gviews[k], written[k], need, outs[i])
            written[k] = True
            return sends

        msg = backward_sweep(self, delta_out, send)
        for k, done in enumerate(written):
            if not done:  # a layer whose output does not reach the output node
                for b in gviews[k]:
                    b[...] = 0
        trace.delta = [msg[i] for i in self._dense_nodes if msg[i] is not None]
        return Backward(out, msg[0] if input_grad else None)

    def gradient_buffer(self) -> np.ndarray:
        """A flat gradient buffer reused by ``backward(..., out=buffer)`` across steps."""
        if getattr(self, "_gbuf", None) is None:
            self._gbuf = np.empty(self.n_params, dtype=self.dtype)
            self._gviews = self.param_views(self._gbuf)
        return self._gbuf

    def loss_and_grad(self, X, y, loss, *, out: np.ndarray | None = None):
        """L(θ) on the batch (X, y) and ∂L/∂θ as a flat vector (p,)."""
        from ffnn.core.losses import get_loss

        loss = get_loss(loss)
        loss.check_output(self.output)
        z, trace = self.forward(X)
        value, delta = loss.value_and_delta(z, y, self.output)
        return value, self.backward(trace, delta, out=out).theta

    # --- description ------------------------------------------------------------------------
    @property
    def widths(self) -> list[int]:
        """[n_0, n_1, ..., n_{L+1}] for a chain; for a DAG the input then every Dense width."""
        return [self.input_node.dim] + [layer.n_out for layer in self.dense_layers]

    @property
    def is_chain(self) -> bool:
        return (
            all(len(ps) <= 1 for ps in self._parents)
            and all(len(c) <= 1 for c in self._consumers)
            and len(self.dense_layers) == sum(isinstance(n.layer, Dense) for n in self.nodes)
        )

    def config(self) -> dict:
        """A JSON-able description of the architecture (no parameters)."""
        layer_ids: dict[int, int] = {}
        layers, nodes = [], []
        for n in self.nodes[1:]:
            if id(n.layer) not in layer_ids:
                layer_ids[id(n.layer)] = len(layers)
                layers.append(n.layer.config())
        index = {id(n): i for i, n in enumerate(self.nodes)}
        for n in self.nodes[1:]:
            nodes.append(
                {"layer": layer_ids[id(n.layer)], "parents": [index[id(p)] for p in n.parents]}
            )
        return {
            "format": "ffnn.network/1",
            "input": {"name": self.input_node.name, "dim": self.input_node.dim},
            "layers": layers,
            "nodes": nodes,
            "output_activation": self.output.name,
            "init": self.default_init.to_dict(),
            "dtype": self.dtype.name,
        }

    @classmethod
    def from_config(cls, config: dict, *, rng=0) -> Network:
        """Rebuild the architecture from :meth:`config` (parameters freshly initialized)."""
        try:
            x = Input(int(config["input"]["dim"]), name=config["input"].get("name", "x"))
            layers = []
            for c in config["layers"]:
                kind = c["kind"]
                if kind == "dense":
                    layers.append(Dense(c["n_out"], init=c.get("init"), name=c["name"]))
                elif kind == "act":
                    from ffnn.core.activations import ACTIVATIONS

                    act = ACTIVATIONS[c["activation"]](*c.get("activation_params", []))
                    layers.append(Act(act, name=c["name"]))
                else:
                    layers.append(LAYER_KINDS[kind](name=c["name"]))
            built = [x]
            for n in config["nodes"]:
                built.append(layers[n["layer"]](*[built[p] for p in n["parents"]]))
        except (KeyError, TypeError, IndexError) as e:
            raise FFNNError(f"not a valid ffnn network description ({e!r})") from None
        return cls(
            x,
            built[-1],
            output=config.get("output_activation", "identity"),
            init=config.get("init"),
            rng=rng,
            dtype=config.get("dtype", "float32"),
        )

    def summary(self) -> str:
        lines = [f"{'node':<16}{'layer':<12}{'width':>7}{'params':>10}  inputs"]
        for n, ps in zip(self.nodes, self._parents, strict=True):
            kind = (
                "input"
                if n.layer is None
                else (n.layer.activation.name if isinstance(n.layer, Act) else n.layer.kind)
            )
            npar = n.layer.n_params if n.layer is not None else 0
            lines.append(
                f"{n.name:<16}{kind:<12}{n.dim:>7}{npar:>10}  "
                + ", ".join(self.nodes[p].name for p in ps)
            )
        lines.append(f"output activation: {self.output.name}; parameters p = {self.n_params}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"Network(widths={self.widths}, p={self.n_params}, output='{self.output.name}', "
            f"dtype={self.dtype.name})"
        )

    def _repr_html_(self) -> str:
        from ffnn.display import network_html  # the notebook's summary table and graph

        return network_html(self)


def Sequential(n_in: int, layers: Sequence[Layer], **kwargs) -> Network:
    """The explicit layer-by-layer form: ``Sequential(4, [Dense(8), Act("tanh"), Dense(1)])``."""
    x = Input(n_in)
    h = x
    for layer in layers:
        h = layer(h)
    return Network(x, h, **kwargs)


def mlp(
    widths: Sequence[int],
    activation: str | Sequence[str] = "relu",
    output: str = "identity",
    **kwargs,
) -> Network:
    """The common case in one line: ``mlp([n_0, n_1, ..., n_{L+1}], "relu")``.

    The chain z^(1) = W^(1) x + b^(1), x^(l) = σ(z^(l)), z^(l+1) = W^(l+1) x^(l) + b^(l+1),
    f(x) = φ_out(z^(L+1)), with W^(l): (n_l, n_{l-1}) and b^(l): (n_l,).

    Parameters
    ----------
    widths : [n_0, n_1, …, n_{L+1}], the input width, the L hidden widths, the output width.
    activation : σ, one name for every hidden layer ("relu", "tanh", "sigmoid", "erf", …; see
        :data:`ACTIVATIONS`) or a list of L names, one per hidden layer.
    output : φ_out: "identity" (regression), "softmax" (classes) or "sigmoid" (binary labels).
    **kwargs : go to :class:`Network`: ``init`` (an :class:`Init`, a scheme name such as "he",
        or a number C_W), ``rng`` (a seed or Generator; default 0) and ``dtype`` (float32).

    Returns
    -------
    Network, with parameters drawn from ``rng``.

    Examples
    --------
    >>> net = mlp([4, 16, 16, 3], "relu", output="softmax", rng=0)
    >>> net.widths, net.n_params                 # p = 16·(4+1) + 16·(16+1) + 3·(16+1)
    ([4, 16, 16, 3], 403)
    >>> W1, b1 = net.params[0]; W1.shape, b1.shape
    ((16, 4), (16,))
    """
    widths = list(widths)
    if len(widths) < 2:
        raise FFNNError(f"widths needs at least [n_0, n_out], got {widths}")
    n_hidden = len(widths) - 2
    acts = [activation] * n_hidden if isinstance(activation, str) else list(activation)
    if len(acts) != n_hidden:
        raise FFNNError(
            f"{n_hidden} hidden layers need {n_hidden} activations, got {len(acts)}: {acts}"
        )
    layers: list[Layer] = []
    for n, act in zip(widths[1:-1], acts, strict=True):
        layers += [Dense(n), Act(act)]
    layers.append(Dense(widths[-1]))
    return Sequential(widths[0], layers, output=output, **kwargs)


def from_weights(
    weights: Sequence[tuple[np.ndarray, np.ndarray]],
    activation: str | Sequence[str] = "relu",
    output: str = "identity",
    dtype=np.float64,
) -> Network:
    """A chain network with every W^(l): (n_l, n_{l-1}) and b^(l): (n_l,) set by hand.

    A W given as a vector is read as (len(b), -1): a column (n_l, 1) when b has n_l entries, a row
    (1, n_{l-1}) when b is a single number. float64 by default, so that a construction is exact.
    """
    if not weights:
        raise FFNNError("from_weights needs at least one (W, b) pair")
    pairs = []
    for l, (W, b) in enumerate(weights, start=1):
        b = np.asarray(b, dtype=float).reshape(-1)
        W = np.asarray(W, dtype=float)
        if W.ndim < 2:  # a vector W: (n_l,) read as (n_l, n_{l-1}) with n_l = len(b)
            if W.size % b.size:
                raise FFNNError(
                    f"layer {l}: W of shape {W.shape} does not fit b of shape {b.shape}"
                )
            W = W.reshape(b.size, -1)
        if W.ndim != 2 or W.shape[0] != b.size:
            raise FFNNError(
                f"layer {l}: W must have shape (n_{l}, n_{l - 1}) with n_{l} = len(b) = {b.size}, "
                f"got W of shape {W.shape}"
            )
        if pairs and W.shape[1] != pairs[-1][0].shape[0]:
            raise FFNNError(
                f"layer {l}: W has {W.shape[1]} columns but layer {l - 1} has "
                f"{pairs[-1][0].shape[0]} outputs; W^({l}) must have shape "
                f"({W.shape[0]}, {pairs[-1][0].shape[0]})"
            )
        pairs.append((W, b))
    widths = [pairs[0][0].shape[1]] + [W.shape[0] for W, _ in pairs]
    net = mlp(widths, activation, output, dtype=dtype)
    return net.set_params(pairs)


def _unpickle(config: dict, theta: np.ndarray) -> Network:
    net = Network.from_config(config)
    net.theta[...] = theta
    return net


# what z_out may do with a layer's arrays: nothing (a user's layer or activation, which may
# keep them), or reuse the buffers of the new arrays it returns (ffnn's Dense, Add, Concat, and
# Act with one of ffnn's activations)
_USER, _FRESH = 0, 1


def _reuse_kind(layer) -> int:
    if type(layer) is Act:
        return _FRESH if layer.activation.fused else _USER
    return _FRESH if type(layer) in (Dense, Add, Concat) else _USER
