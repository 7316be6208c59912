"""Model files on disk: safetensors arrays plus JSON metadata, no pickle; atomic writes.

One file holds a model. The arrays are safetensors tensors: each W^(l): (n_l, n_{l-1}) and
b^(l): (n_l,) under its block name ("dense_3.W", as ``net.param_blocks()``). The JSON goes into
the safetensors header (``__metadata__["ffnn"]``): the architecture ``net.config()`` and the
user's metadata. Training checkpoints (θ plus the optimizer, generator and loop state) are
training state: they live in :mod:`ffnn.train.checkpoints`, built on the helpers here
(``save_checkpoint``, ``load_checkpoint`` and ``Checkpoint`` stay importable from ``ffnn.io``).

Writes are atomic (:mod:`ffnn.fs`): the bytes go to a temporary file in the target's folder, are
flushed to disk, take the umask's mode and replace the target with ``os.replace``; a failed write
leaves the old file (or none) and no temporary file; killed writers' temporary files are removed.
Loading validates the file as data first (:mod:`ffnn.modelfile`: header, metadata schema, the
declared size against a limit and against the tensors present), then reads raw arrays: it
executes no code. NaN/inf parameters are refused unless ``allow_nonfinite=True``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ffnn.core.graph import Network
from ffnn.errors import FFNNError
from ffnn.fs import atomic_write_bytes, clean_stale_temps, run_lock
from ffnn.modelfile import read_header

__all__ = [
    "save_model",
    "load_model",
    "atomic_write_bytes",
    "clean_stale_temps",
    "run_lock",
]

MODEL_FORMAT = "ffnn.model/1"
CHECKPOINT_FORMAT = "ffnn.checkpoint/1"


# --- encoding ----------------------------------------------------------------------------------
def _param_tensors(net: Network) -> dict[str, np.ndarray]:
    blocks = net.param_blocks()
    names = [n for n, _ in blocks]
    if len(set(names)) != len(names):  # layers named alike: store θ whole
        return {"theta": np.ascontiguousarray(net.theta)}
    out = {}
    for (W, b), layer in zip(net.params, net.dense_layers, strict=True):
        out[f"{layer.name}.W"] = np.ascontiguousarray(W)
        out[f"{layer.name}.b"] = np.ascontiguousarray(b)
    return out


def _encode(tensors: dict[str, np.ndarray], header: dict) -> bytes:
    from safetensors.numpy import save

    try:
        text = json.dumps(header)
    except (TypeError, ValueError) as e:
        raise FFNNError(
            f"metadata must be JSON-serializable (numbers, strings, lists, dicts): {e}"
        ) from None
    return save(tensors, metadata={"ffnn": text})


def _read(
    path: str | os.PathLike, what: str, limit: int | None = None
) -> tuple[dict[str, np.ndarray], dict]:
    """The tensors and the decoded ffnn header of a file, or FFNNError saying what is wrong.

    The file is validated as data (:func:`ffnn.modelfile.read_header`) before its tensors are read.
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    p = Path(path)
    if not p.exists():
        raise FFNNError(f"{what} file {str(p)!r} does not exist; check the path")
    if not p.is_file():
        raise FFNNError(f"{what} path {str(p)!r} is not a file")
    try:
        header = read_header(p, what, limit).ffnn
        tensors = load_file(str(p))
    except (SafetensorError, OSError, ValueError) as e:
        if isinstance(e, FFNNError):
            raise
        raise FFNNError(
            f"{what} file {str(p)!r} is not a readable safetensors file (corrupt or truncated?): "
            f"{e}"
        ) from None
    return tensors, header


def _build_net(
    tensors: dict[str, np.ndarray], header: dict, path, allow_nonfinite: bool = False
) -> Network:
    try:
        net = Network.from_config(header["network"])
    except FFNNError as e:
        raise FFNNError(f"{str(path)!r}: {e}") from None
    except Exception as e:  # a file's description that the schema let through: still data
        raise FFNNError(f"{str(path)!r}: not a valid ffnn network description ({e!r})") from None
    _fill(net, tensors, path)
    if not allow_nonfinite and not np.isfinite(net.theta).all():
        bad = int(np.count_nonzero(~np.isfinite(net.theta)))
        raise FFNNError(
            f"{str(path)!r}: {bad} of the {net.n_params} parameters are NaN or inf (a diverged "
            "training?); retrain the model, or pass allow_nonfinite=True to inspect it anyway"
        )
    return net


def _fill(net: Network, tensors: dict[str, np.ndarray], path) -> None:
    if "theta" in tensors:
        theta = tensors["theta"]
        if theta.shape != net.theta.shape:
            raise FFNNError(
                f"{str(path)!r}: theta has shape {theta.shape}, the architecture needs "
                f"{net.theta.shape}; the file is inconsistent"
            )
        net.theta[...] = theta
        return
    for (W, b), layer in zip(net.params, net.dense_layers, strict=True):
        for key, view in ((f"{layer.name}.W", W), (f"{layer.name}.b", b)):
            if key not in tensors:
                raise FFNNError(f"{str(path)!r}: the parameters of {key} are missing")
            if tensors[key].shape != view.shape:
                raise FFNNError(
                    f"{str(path)!r}: {key} has shape {tensors[key].shape}, the architecture "
                    f"needs {view.shape}; the file is inconsistent"
                )
            view[...] = tensors[key]


# --- models ------------------------------------------------------------------------------------
def save_model(path: str | os.PathLike, net: Network, metadata: dict | None = None) -> None:
    """Save the architecture and θ of ``net`` (and JSON-able ``metadata``) to ``path``.

    The file is safetensors (no pickle): one tensor per parameter block W^(l): (n_l, n_{l-1})
    and b^(l): (n_l,), and the network's :meth:`~ffnn.core.Network.config` with ``metadata`` as
    JSON in the header. It is written atomically (a temporary file, then ``os.replace``), so an
    error never leaves half a file. :func:`load_model` reads it back, bit for bit.

    >>> net = ffnn.mlp([4, 8, 3], "relu", output="softmax", rng=0)
    >>> ffnn.save_model("model.safetensors", net, {"classes": ["a", "b", "c"]})  # doctest: +SKIP
    >>> net2, meta = ffnn.load_model("model.safetensors")                     # doctest: +SKIP
    >>> bool((net2.theta == net.theta).all()), meta["classes"]                # doctest: +SKIP
    (True, ['a', 'b', 'c'])
    """
    if not isinstance(net, Network):
        raise FFNNError(f"save_model needs a Network, got {type(net).__name__}")
    why = net._rebuild_problem()  # the file names layers and activations: ffnn's own only
    if why is not None:
        raise FFNNError(f"cannot save this network: {why}; a model file holds ffnn's own parts")
    header = {"format": MODEL_FORMAT, "network": net.config(), "metadata": metadata or {}}
    atomic_write_bytes(path, _encode(_param_tensors(net), header))


def load_model(
    path: str | os.PathLike, *, limit: int | None = None, allow_nonfinite: bool = False
) -> tuple[Network, dict]:
    """Read a model (or the model of a checkpoint): returns (net, metadata).

    ``limit``: the most bytes its declared parameters may take (default: half the available
    memory, or ``FFNN_MAX_BYTES``; see :mod:`ffnn.limits`). ``allow_nonfinite``: load NaN/inf
    parameters instead of refusing them (for debugging a diverged model).

    The network comes back with the same graph, dtype and θ, bit for bit; ``metadata`` is the
    dict given to :func:`save_model` (for a model of ``ffnn train``: the preprocessing, the
    training configuration and the metrics). A file that is not an ffnn model, is truncated or
    declares impossible shapes raises :class:`~ffnn.errors.FFNNError` saying so.

    >>> net, meta = ffnn.load_model("runs/digits/model.safetensors")  # doctest: +SKIP
    >>> net.widths, sorted(meta)                                       # doctest: +SKIP
    ([64, 256, 10], ['created', 'data', 'ffnn', 'metrics', 'preprocessor', 'training'])
    """
    tensors, header = _read(path, "model", limit)
    fmt = header.get("format")
    if fmt not in (MODEL_FORMAT, CHECKPOINT_FORMAT):
        raise FFNNError(f"{str(path)!r} has format {fmt!r}; this ffnn reads {MODEL_FORMAT}")
    net = _build_net(tensors, header, path, allow_nonfinite)
    return net, header.get("metadata") or {}


def __getattr__(name: str):
    """The checkpoint names live in :mod:`ffnn.train.checkpoints`; kept importable from here."""
    if name in ("save_checkpoint", "load_checkpoint", "Checkpoint"):
        from ffnn.train import checkpoints

        return getattr(checkpoints, name)
    raise AttributeError(f"module 'ffnn.io' has no attribute {name!r}")
