"""Exports, made in memory and sent to the page as downloads (nothing touches the server's disk).

* the model: an ffnn model file (safetensors, the layout :func:`ffnn.load_model` reads) whose
  metadata carries the preprocessing, so ``ffnn predict model.safetensors data.csv`` answers in
  the data's own labels for a CSV with the input columns;
* the data: that CSV (the network's input columns, raw, and the target);
* a Python snippet that rebuilds the problem and reproduces the run with ``ffnn.fit``.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import time

import numpy as np

import ffnn
from ffnn.errors import FFNNError
from ffnn.io import MODEL_FORMAT

__all__ = ["export", "model_bytes", "model_metadata", "data_csv", "snippet"]


def export(session, what) -> dict:
    """The reply to an export request: ``what`` is "model", "data" or "snippet"."""
    name = session.settings["data"]
    if what == "model":
        body = model_bytes(session.net, model_metadata(session))
        return _reply(what, f"ffnn-playground-{name}.safetensors", body)
    if what == "data":
        return _reply(what, f"ffnn-playground-{name}.csv", data_csv(session).encode())
    if what == "snippet":
        return _reply(what, f"ffnn_playground_{name}.py", snippet(session).encode())
    raise FFNNError(f"unknown export {what!r}; choose model, data or snippet")


def _reply(what: str, filename: str, body: bytes) -> dict:
    data = base64.b64encode(body).decode("ascii")
    return {"type": "export", "what": what, "filename": filename, "data": data}


def model_bytes(net: ffnn.Network, metadata: dict) -> bytes:
    """An ffnn model file in memory: θ as one tensor, the architecture and ``metadata`` in the
    safetensors header, as :func:`ffnn.io.save_model` writes it."""
    from safetensors.numpy import save

    header = {"format": MODEL_FORMAT, "network": net.config(), "metadata": metadata}
    theta = np.ascontiguousarray(net.theta)
    return save({"theta": theta}, metadata={"ffnn": json.dumps(header)})


def model_metadata(session) -> dict:
    """What ``ffnn predict`` / ``evaluate`` / ``info`` read: the preprocessor, data, training."""
    s, p = session.settings, session.prob
    return {
        "ffnn": ffnn.__version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "preprocessor": p.pre.to_dict(),
        "data": {
            "source": "playground",
            "builtin": False,
            "name": s["data"],
            "task": p.task,
            "n": p.train.n + p.test.n,
            "test_size": 1 - s["ratio"] / 100,
            "seed": s["seed"],
            "n_train": p.train.n,
            "n_test": p.test.n,
            "inputs": p.inputs,
        },
        "training": {
            "hidden": s["hidden"],
            "activation": ",".join(s["activations"]),
            "output": s["output"],
            "loss": s["loss"],
            "optimizer": s["optimizer"],
            "lr": s["lr"],
            "batch_size": s["batch"],
            "l1": s["l1"],
            "weight_decay": s["l2"],
            "epochs_run": session.epoch,
            "stop_reason": "playground",
            "seed": s["seed"],
        },
        "playground": {"settings": s},
    }


def data_csv(session) -> str:
    """Train and test rows: the network's input columns (before standardization), the target
    and the split."""
    p = session.prob
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*p.inputs, p.pre.target_name, "split"])
    for ds, split in ((p.train, "train"), (p.test, "test")):
        labels = ds.y if p.classes is None else np.array(p.classes, dtype=object)[ds.y]
        for row, label in zip(ds.X, labels, strict=True):
            w.writerow([*(f"{v:.10g}" for v in row), label, split])
    return buf.getvalue()


def snippet(session) -> str:
    """Python code that rebuilds this run's problem and network and trains it with ffnn.fit."""
    s = session.settings
    set_up = {k: s[k] for k in s if k != "view"}
    note = ""
    if session.changed_live:
        note = (
            "# Note: the learning rate, optimizer, L1/L2 or batch size changed during the\n"
            "# run; this snippet trains with the final values throughout.\n"
        )
    load = "None"
    if s["data"] == "csv":
        load = 'open("your-data.csv", "rb").read()  # the CSV you uploaded'
    return _SNIPPET.format(
        note=note, settings=json.dumps(set_up, indent=4), csv=load, epochs=session.epoch or 100
    )


_SNIPPET = '''"""Reproduce an ffnn playground run with ffnn.fit (exported from the playground)."""
import numpy as np

import ffnn
from ffnn.playground.optim import build_optimizer
from ffnn.playground.problem import build_network, build_problem
from ffnn.playground.settings import check_settings

{note}settings = check_settings({settings})
csv_bytes = {csv}

# split (seeded), feature map, standardization with the training set's mean and std
problem = build_problem(settings, csv_bytes)
net = build_network(settings, problem)  # ffnn.mlp(widths, activations, output, rng=seed)
optimizer = build_optimizer(
    settings["optimizer"], settings["lr"], l1=settings["l1"], l2=settings["l2"]
)
history = ffnn.fit(
    net, problem.X, problem.Y, settings["loss"],
    optimizer=optimizer, batch_size=settings["batch"], epochs={epochs},
    rng=settings["seed"], progress=False,
)

z = net.forward(problem.Xt)[0]
loss = ffnn.get_loss(settings["loss"]).value(z, problem.Yt, net.output)
print(f"epochs {{len(history)}}, test loss {{loss:.4f}}")
if problem.task == "classification":
    truth = problem.Yt if problem.Yt.ndim == 1 else problem.Yt.argmax(axis=1)
    print(f"test accuracy {{np.mean(z.argmax(axis=1) == truth):.3f}}")
'''
