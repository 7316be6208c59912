"""One training run: data, split, preprocessing, network, fit, metrics and files.

The command line's ``ffnn train`` is a thin face over this module; the playground and a sweep
runner call it the same way. Nothing here prints or reads ``sys.argv``.

>>> from ffnn.runs import RunConfig, run_training
>>> result = run_training(RunConfig("iris", epochs=50, out="runs/iris"))   # doctest: +SKIP
>>> result.metrics["test"]["accuracy"]                                     # doctest: +SKIP

or in two steps, to look at the prepared run (data, split, network) before training it:

>>> prep = prepare_run(RunConfig("iris"))                  # doctest: +SKIP
>>> prep.net.widths, prep.train.n                          # doctest: +SKIP
>>> result = train_prepared(prep)                          # doctest: +SKIP

A run folder holds ``model.safetensors`` (the network, with the preprocessing and the run's
metadata), ``history.json``, ``history.csv``, ``metrics.json`` and ``loss.png``; every file is
written atomically (``ffnn.io``).
"""

from ffnn.runs.config import PreparedRun, RunConfig, RunResult
from ffnn.runs.files import (
    MODEL_FILE,
    check_no_model,
    loss_figure,
    output_folder,
    plot_losses,
    run_metadata,
    write_outputs,
)
from ffnn.runs.fitting import (
    blas_threads,
    fit_prepared,
    forward_chunks,
    metrics,
    restored,
    run_training,
    split_metrics,
    train_prepared,
)
from ffnn.runs.folder import LOCK_FILE, locked_folder
from ffnn.runs.prepare import (
    build_network,
    choose_loss,
    load_training_data,
    optimizer_options,
    prepare_run,
    reading,
    split_and_preprocess,
    targets_for,
)
from ffnn.runs.saved import cost, load_run, model_path, run_data
from ffnn.runs.stopping import AccuracyStopping, monitor

__all__ = [
    "LOCK_FILE", "MODEL_FILE", "AccuracyStopping", "PreparedRun", "RunConfig", "RunResult",
    "blas_threads", "build_network", "check_no_model", "choose_loss", "cost", "fit_prepared",
    "forward_chunks", "load_run", "load_training_data", "locked_folder", "loss_figure", "metrics",
    "model_path", "monitor", "optimizer_options", "output_folder", "plot_losses", "prepare_run",
    "reading", "restored", "run_data", "run_metadata", "run_training", "split_and_preprocess",
    "split_metrics", "targets_for", "train_prepared", "write_outputs",
]  # fmt: skip
