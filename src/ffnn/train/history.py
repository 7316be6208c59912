"""The record of a training run: one dict per epoch, why it stopped, and the state to go on.

Each record holds ``epoch`` (1-based), ``train_loss`` (the running mean L_train of the minibatch
losses over the epoch, notes 004), ``val_loss`` (on the validation set, after the epoch),
``train_<metric>`` / ``val_<metric>``, ``grad_norm`` (root mean square of the minibatch
gradient norms ‖∂L/∂θ‖ over the epoch; for full-batch GD the norm of the gradient), ``lr`` (η_t of
the epoch's last step), ``step`` (optimizer steps so far) and ``time`` (wall seconds since the start
of the run, summed over resumed parts).
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

from ffnn.errors import FFNNError

__all__ = ["History"]


class History:
    """Per-epoch records of a run, with ``stop_reason``, ``best_epoch``, ``diverged``, ``state``.

    ``hist["train_loss"]`` is the list of that column over epochs (None where an epoch lacks it).
    ``stop_reason`` is one of "max_epochs", "tol_loss", "tol_grad", "early_stopping",
    "callback", "interrupted", or a sentence starting "training diverged" (then ``diverged`` is
    True); ``message`` says it in words. ``state`` (not saved by to_json) holds the optimizer state
    and epoch count, to pass to ``fit(..., state=hist.state)`` to continue training.

    Parameters
    ----------
    records : one dict per epoch (the columns of the module docstring); ``fit`` fills them.
    stop_reason, message : why the run ended, as a key and in words.
    best_epoch : the epoch of the lowest validation loss (training loss without a validation
        set); early stopping restores the θ of that epoch.
    config : the run's settings (optimizer, lr, batch size, …), JSON-able.
    state : the optimizer state and counters to continue from.

    Notes
    -----
    Use it as a table: ``len(hist)`` epochs, ``hist.keys()`` (= ``hist.columns``),
    ``"val_loss" in hist``, ``hist.to_pandas()`` (a DataFrame indexed by epoch), ``to_json`` /
    ``to_csv`` and back. ``hist.plot()`` draws the loss per epoch (:func:`ffnn.plot.plot_history`)
    and in a notebook a History displays as HTML: the stop reason, a loss sketch, the first and
    last epochs.

    Examples
    --------
    >>> hist = ffnn.fit(net, X, y, "cross_entropy", epochs=50, validation=0.2,
    ...                 early_stopping=5, metrics=["accuracy"])      # doctest: +SKIP
    >>> hist.stop_reason, hist.best_epoch, hist["val_accuracy"][-1]  # doctest: +SKIP
    ('early_stopping', 31, 0.96)
    >>> ax = hist.plot("accuracy")                                   # doctest: +SKIP
    >>> h = History([{"epoch": 1, "train_loss": 0.9}, {"epoch": 2, "train_loss": 0.4}])
    >>> len(h), h.keys(), h["train_loss"]
    (2, ['epoch', 'train_loss'], [0.9, 0.4])
    """

    def __init__(
        self,
        records: list[dict] | None = None,
        *,
        stop_reason: str = "",
        message: str = "",
        best_epoch: int | None = None,
        config: dict | None = None,
        state: dict | None = None,
    ):
        self.records: list[dict] = list(records or [])
        self.stop_reason = stop_reason
        self.message = message
        self.best_epoch = best_epoch
        self.config: dict = dict(config or {})
        self.state = state

    # --- access ---------------------------------------------------------------------------------
    def __getitem__(self, key: str) -> list:
        if not isinstance(key, str):
            raise TypeError("index a History by column name, e.g. hist['train_loss']")
        if self.records and not any(key in r for r in self.records):
            raise KeyError(f"no column {key!r}; the history has {self.columns}")
        return [r.get(key) for r in self.records]

    def __len__(self) -> int:
        return len(self.records)

    def __contains__(self, key: str) -> bool:
        return any(key in r for r in self.records)

    @property
    def columns(self) -> list[str]:
        cols: list[str] = []
        for r in self.records:
            cols += [k for k in r if k not in cols]
        return cols

    @property
    def epochs(self) -> int:
        return self.records[-1]["epoch"] if self.records else 0

    @property
    def diverged(self) -> bool:
        return self.stop_reason.startswith("training diverged")

    def append(self, record: dict) -> None:
        self.records.append(dict(record))

    def __repr__(self) -> str:
        last = self.records[-1] if self.records else {}
        loss = last.get("train_loss")
        loss_s = f", train_loss={loss:.4g}" if isinstance(loss, float) else ""
        return f"History(epochs={self.epochs}{loss_s}, stop_reason={self.stop_reason!r})"

    # --- JSON -----------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """JSON-able: records, stop_reason, message, best_epoch, config (not ``state``)."""
        return {
            "format": "ffnn.history/1",
            "records": self.records,
            "stop_reason": self.stop_reason,
            "message": self.message,
            "best_epoch": self.best_epoch,
            "config": self.config,
        }

    @classmethod
    def from_dict(cls, d: dict) -> History:
        if not isinstance(d, dict) or not isinstance(d.get("records"), list):
            raise FFNNError("not an ffnn history (expected a dict with a 'records' list)")
        return cls(
            d["records"],
            stop_reason=d.get("stop_reason", ""),
            message=d.get("message", ""),
            best_epoch=d.get("best_epoch"),
            config=d.get("config"),
        )

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        """The history as JSON text; written (atomically) to ``path`` if given."""
        text = json.dumps(self.to_dict(), indent=1)
        if path is not None:
            from ffnn.io import atomic_write_bytes

            atomic_write_bytes(path, text.encode())
        return text

    @classmethod
    def from_json(cls, path_or_text: str | os.PathLike) -> History:
        """Read a history from a JSON file (or JSON text)."""
        text = str(path_or_text)
        if not text.lstrip().startswith("{"):
            try:
                text = Path(path_or_text).read_text()
            except OSError as e:
                raise FFNNError(f"cannot read history file {str(path_or_text)!r}: {e}") from None
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as e:
            raise FFNNError(f"history is not valid JSON: {e}") from None

    # --- CSV ------------------------------------------------------------------------------------
    def to_csv(self, path: str | os.PathLike) -> None:
        """One row per epoch, one column per key; floats written exactly (repr), None as ""."""
        import io

        buf = io.StringIO()
        cols = self.columns
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(cols)
        for r in self.records:
            w.writerow(["" if r.get(c) is None else repr(r[c]) for c in cols])
        from ffnn.io import atomic_write_bytes

        atomic_write_bytes(path, buf.getvalue().encode())

    @classmethod
    def from_csv(cls, path: str | os.PathLike) -> History:
        """Read records written by :meth:`to_csv` (stop reason and config are not in a CSV)."""
        try:
            with open(path, newline="") as fh:
                rows = list(csv.reader(fh))
        except OSError as e:
            raise FFNNError(f"cannot read history file {str(path)!r}: {e}") from None
        if not rows:
            return cls()
        cols, records = rows[0], []
        for row in rows[1:]:
            if len(row) != len(cols):
                raise FFNNError(
                    f"history CSV {str(path)!r}: a row has {len(row)} fields, the "
                    f"header {len(cols)}"
                )
            rec = {}
            for c, v in zip(cols, row, strict=True):
                if v == "":
                    continue
                rec[c] = _parse_number(v)
            records.append(rec)
        return cls(records)

    # --- notebook and plotting (the code lives in ffnn.display and ffnn.plot) ----------------
    def keys(self) -> list[str]:
        """The column names, in order of first appearance (like a dict's keys)."""
        return self.columns

    def to_pandas(self):
        """A pandas DataFrame, one row per epoch, indexed by ``epoch`` (needs pandas)."""
        import pandas as pd

        df = pd.DataFrame.from_records(self.records, columns=self.columns)
        return df.set_index("epoch") if "epoch" in df else df

    def plot(self, metrics="loss", ax=None, **kwargs):
        """Draw the loss (or ``metrics``) per epoch: :func:`ffnn.plot.plot_history`; the Axes."""
        from ffnn.plot import plot_history

        return plot_history(self, ax, metrics, **kwargs)

    def _repr_html_(self) -> str:
        from ffnn.display import history_html

        return history_html(self)


def _parse_number(v: str):
    try:
        return int(v)
    except ValueError:
        pass
    try:
        return float(v)
    except ValueError:
        return v


def _finite_or_none(x) -> float | None:
    return x if x is None or math.isfinite(x) else None
