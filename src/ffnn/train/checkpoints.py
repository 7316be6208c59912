"""Checkpoints: the state to continue training exactly, in one safetensors file (no pickle).

A checkpoint is a model file (:mod:`ffnn.io`) with more: the optimizer's state arrays
("optimizer/adam/m"), the fit loop's arrays ("loop/best_theta", "loop/order") and, in the JSON
header, the epoch, the optimizer step, the random generator's ``bit_generator.state``, the history
and the loop's bookkeeping. Written atomically (``ffnn.io.atomic_write_bytes``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from ffnn.core.graph import Network
from ffnn.errors import FFNNError
from ffnn.io import (
    CHECKPOINT_FORMAT,
    _build_net,
    _encode,
    _param_tensors,
    _read,
    atomic_write_bytes,
)
from ffnn.train.history import History

__all__ = ["Checkpoint", "save_checkpoint", "load_checkpoint"]

_OPT = "optimizer/"
_LOOP = "loop/"


@dataclass
class Checkpoint:
    """What :func:`load_checkpoint` returns.

    ``optimizer_state``: ``{"step": t, block: {name: (p,) array}}`` (no work buffers);
    ``rng_state``: a ``bit_generator.state`` dict; ``loop``: the fit loop's JSON bookkeeping;
    ``arrays``: the loop's arrays (e.g. ``best_theta``, the epoch's ``order``).
    """

    net: Network
    epoch: int = 0
    optimizer_state: dict | None = None
    rng_state: dict | None = None
    history: History | None = None
    loop: dict = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)


def _optimizer_tensors(optimizer_state: dict, tensors: dict) -> dict:
    """Put the state arrays into ``tensors``; return the header's {"step", "blocks"}."""
    header = {"step": int(optimizer_state.get("step", 0)), "blocks": {}}
    for key, arrays_ in optimizer_state.items():
        if key.startswith("_") or not isinstance(arrays_, dict):
            continue
        header["blocks"][key] = sorted(arrays_)
        for name, a in arrays_.items():
            tensors[f"{_OPT}{key}/{name}"] = np.ascontiguousarray(a)
    return header


def save_checkpoint(
    path: str | os.PathLike,
    net: Network,
    *,
    optimizer_state: dict | None = None,
    epoch: int = 0,
    rng: np.random.Generator | dict | None = None,
    history=None,
    loop: dict | None = None,
    arrays: dict[str, np.ndarray] | None = None,
    metadata: dict | None = None,
) -> None:
    """Save everything needed to continue training exactly: θ, the optimizer state, the epoch,
    the generator state (a Generator or its ``bit_generator.state``), the history, the loop's
    bookkeeping and arrays, and user metadata. Work buffers (keys starting "_") are skipped."""
    if not isinstance(net, Network):
        raise FFNNError(f"save_checkpoint needs a Network, got {type(net).__name__}")
    tensors = _param_tensors(net)
    opt_header = None
    if optimizer_state is not None:
        opt_header = _optimizer_tensors(optimizer_state, tensors)
    for name, a in (arrays or {}).items():
        tensors[f"{_LOOP}{name}"] = np.ascontiguousarray(a)
    rng_state = rng.bit_generator.state if isinstance(rng, np.random.Generator) else rng
    hist = history.to_dict() if hasattr(history, "to_dict") else history
    header = {
        "format": CHECKPOINT_FORMAT,
        "network": net.config(),
        "epoch": int(epoch),
        "optimizer": opt_header,
        "rng_state": rng_state,
        "history": hist,
        "loop": loop or {},
        "metadata": metadata or {},
    }
    atomic_write_bytes(path, _encode(tensors, header))


def _optimizer_state(header: dict | None, tensors: dict, path) -> dict | None:
    if header is None:
        return None
    state = {"step": int(header.get("step", 0))}
    for key, names in header.get("blocks", {}).items():
        state[key] = {}
        for name in names:
            t = tensors.get(f"{_OPT}{key}/{name}")
            if t is None:
                raise FFNNError(f"{str(path)!r}: optimizer array {key}/{name} is missing")
            state[key][name] = t
    return state


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint` (or by ``fit(checkpoint=...)``)."""
    tensors, header = _read(path, "checkpoint")
    if header.get("format") != CHECKPOINT_FORMAT:
        raise FFNNError(
            f"{str(path)!r} is not a checkpoint (format {header.get('format')!r}); a model file "
            "has no training state: load it with load_model"
        )
    history = header.get("history")
    return Checkpoint(
        net=_build_net(tensors, header, path),
        epoch=int(header.get("epoch", 0)),
        optimizer_state=_optimizer_state(header.get("optimizer"), tensors, path),
        rng_state=header.get("rng_state"),
        history=None if history is None else History.from_dict(history),
        loop=header.get("loop") or {},
        arrays={k[len(_LOOP) :]: v for k, v in tensors.items() if k.startswith(_LOOP)},
        metadata=header.get("metadata") or {},
    )
