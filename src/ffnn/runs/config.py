"""The options of a training run, a run prepared to train, and what a run produced."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class RunConfig:
    """The options of one training run (those of ``ffnn train``, same names and defaults).

    data : a built-in data set name (``ffnn.data.DATASETS``) or a .csv/.npz/.npy path.
    hidden : the hidden widths n_1, …, n_L ([] for a linear model).
    activation : σ for the hidden layers: one name, or comma-separated names, one per layer.
    batch_size : None for full-batch gradient descent. patience : 0 turns early stopping off.
    monitor : what early stopping watches: "val_loss", "val_accuracy", or "auto" (the accuracy
    for a classifier with a softmax/sigmoid output, else the loss).
    out : the run folder (None: ``runs/<data>-<date>-<time>``, new each run); a folder holding a
    model is refused unless ``force``. threads : BLAS threads while training ("auto" or a count).
    sep, drop : a CSV file's delimiter (None: detected) and the columns to leave out.
    max_memory : bytes the run may hold (None: what the machine can give now; math.inf: no
    check); a network or a synthetic data set sized beyond it is refused before it is allocated.
    """

    data: str = "digits"
    target: str | None = None
    task: str | None = None
    test_size: float = 0.2
    validation: float = 0.1
    n: int | None = None
    noise: float | None = None
    standardize: bool = True
    hidden: list[int] = field(default_factory=lambda: [256, 256])
    activation: str = "relu"
    output: str | None = None
    loss: str | None = None
    dtype: str = "float32"
    optimizer: str = "adam"
    lr: float = 3e-3
    schedule: str | None = None
    batch_size: int | None = 32
    epochs: int = 300
    patience: int = 20
    weight_decay: float = 0.0
    momentum: float | None = None
    clip_norm: float | None = None
    seed: int = 0
    out: str | None = None
    force: bool = False
    progress: bool | None = None
    threads: str = "auto"
    sep: str | None = None
    drop: tuple[str, ...] = ()
    max_memory: float | None = None
    monitor: str = "auto"


@dataclass
class PreparedRun:
    """A run ready to train: the data, its split, the preprocessed arrays and the network.

    arrays : {"train": (X, y), "val": (X, y) or absent, "test": (X, y)}, X: (n, n_0)
    standardized, y encoded for ``loss`` (class indices, or one-hot rows for losses other than
    cross-entropy).
    """

    config: RunConfig
    dataset: Any
    data_kwargs: dict
    train: Any
    val: Any
    test: Any
    preprocessor: Any
    arrays: dict
    loss_name: str
    loss: Any
    output: str
    net: Any
    patience: int | None
    optimizer_options: dict
    out: Path


@dataclass
class RunResult:
    """What a run produced: the trained network, its history, the metrics per split
    ({"train": {...}, "val": {...}, "test": {...}}), the metadata saved with the model, the run
    folder and its files, whether Ctrl-C ended it, and the numerical warnings fit raised."""

    net: Any
    preprocessor: Any
    history: Any
    metrics: dict
    meta: dict
    out: Path
    files: list[str]
    interrupted: bool
    warnings: list[str]
    seconds: float
