"""The sweeps over a network's graph, each written once for every layer (notes 003).

Every sweep visits the nodes in (reverse) topological order and asks each node's layer for one
of its local rules (:mod:`ffnn.core.layers`):

* :func:`backward_sweep`: message passing from the output. A node sums the messages its
  consumers sent it, then sends on what its rule makes of that sum. With the vjp rule this is
  backprop; on a chain it is the recurrence δ^(l) = σ'(z^(l)) ⊙ (W^(l+1)ᵀ δ^(l+1)).
* :func:`jvp_sweep`: forward mode, R{value} = d/dε value(θ + εv) at ε = 0, from R{x^(0)} = 0.
* :func:`r_backward_sweep`: the R-operator applied to the backward pass (Pearlmutter): each
  node's R{message} is its vjp applied to R{g} plus its second-order ``r_term``; the parameter
  gradient it writes is R{∂L/∂θ} = H v.
* :func:`per_example_sweep`: the messages of one backward pass turned into every example's own
  parameter gradient by each layer's ``per_example`` rule.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["backward_sweep", "message_sweep", "jvp_sweep", "r_backward_sweep", "per_example_sweep"]


def backward_sweep(net, seed: np.ndarray, send: Callable) -> list:
    """Messages m_i = ∂(·)/∂value_i for every node, from m_out = seed: (batch, n_out).

    ``send(step, g)`` returns the messages node ``step`` sends to its parents, given the sum g of
    what its consumers sent it; a step is (i, layer, P, parents, k, need) (``Network._steps``).
    The δ recurrence of the notes, written once: sum at fan-out, send on.
    """
    msg: list = [None] * len(net.nodes)
    msg[-1] = seed
    for step in reversed(net._steps()):
        g = msg[step[0]]
        if g is None:  # a node whose value does not reach the output
            continue
        for p, m in zip(step[3], send(step, g)):  # noqa: B905 (hot loop; one per parent)
            if m is not None:
                msg[p] = m if msg[p] is None else msg[p] + m  # sum of consumers' messages
    return msg


def message_sweep(net, trace, seed: np.ndarray, *, input_grad: bool = False, outs=None) -> list:
    """Every node's message for the seed, without any parameter gradient. Rows stay separate:
    with a per-example seed, each message is per example. ``outs``: buffers, as Workspace.sends."""
    caches = trace.caches
    outs = outs or [None] * len(net.nodes)

    def send(step, g):
        i, layer, P, parents, _, need = step
        need = [True] * len(parents) if input_grad else need
        return layer.vjp(P, caches[i], g, None, False, need, outs[i])

    return backward_sweep(net, seed, send)


def jvp_sweep(net, trace, V: list, outs=None) -> list:
    """R{value_i} for every node along the direction whose blocks are V[k] (per parametrised
    layer k); None where the value does not depend on θ. ``outs``: optional result buffers."""
    caches = trace.caches
    R: list = [None] * len(net.nodes)
    for i, layer, P, parents, k, _ in net._steps():
        rx = [R[q] for q in parents]
        R[i] = layer.jvp(P, caches[i], rx, None if k is None else V[k], outs and outs[i])
    return R


def r_backward_sweep(
    net, trace, msgs: list, R: list, V: list, seed: np.ndarray, rgrads: list, outs=None
):
    """R{messages} from R{m_out} = seed, writing R{∂L/∂θ} into ``rgrads`` (zeroed by the caller:
    a layer whose output does not reach the output node leaves its blocks as they are).

    ``msgs`` are the messages of the backward pass and R the values of :func:`jvp_sweep`. Only
    inputs that depend on θ (R not None) are sent R-messages: nothing upstream of the others
    has parameters. ``outs``: buffers for the R-messages, as Workspace.sends. A layer with
    ``fresh_messages`` adds its second-order term into its vjp's message (``r_term(into=)``).
    """
    caches = trace.caches
    outs = outs or [None] * len(net.nodes)
    written = [False] * len(rgrads)  # a layer's first term is written, not added (no temporary)

    def send(step, rg):
        i, layer, P, parents, k, _ = step
        need = [R[q] is not None for q in parents]
        grads, Vk = (None, None) if k is None else (rgrads[k], V[k])
        rx = [R[q] for q in parents]
        linear = layer.vjp(P, caches[i], rg, grads, k is not None and written[k], need, outs[i])
        if k is not None:
            written[k] = True
        if not layer.fresh_messages:
            extra = layer.r_term(P, caches[i], msgs[i], rx, Vk, grads, need)
            return [_plus(a, b, False) for a, b in zip(linear, extra)]  # noqa: B905
        extra = layer.r_term(P, caches[i], msgs[i], rx, Vk, grads, need, into=linear)
        return [_plus(a, b, True) for a, b in zip(linear, extra)]  # noqa: B905 (in place)

    return backward_sweep(net, seed, send)


def _plus(a, b, into: bool):
    """a + b where either may be None (nothing); into a when ``into``."""
    if a is None or b is None:
        return b if a is None else a
    if into:
        a += b
        return a
    return a + b


def per_example_sweep(net, trace, msgs: list, blocks: list) -> None:
    """Write every example's parameter gradient into ``blocks[k]`` (per layer k: one (n, *shape)
    array per parameter block) from the per-example messages ``msgs`` of a backward pass."""
    written = [False] * len(blocks)
    for i, layer, P, _, k, need in net._steps():
        if k is None or msgs[i] is None:
            continue
        layer.per_example(P, trace.caches[i], msgs[i], blocks[k], written[k], need)
        written[k] = True
    for k, done in enumerate(written):
        if not done:  # a layer whose output does not reach the output node
            for b in blocks[k]:
                b[...] = 0
