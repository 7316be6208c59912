"""A train cell: one run of :mod:`ffnn.runs` (as ``ffnn train`` does it), without its files.

    train_run(config) -> (net, history, metrics, meta)

The data set comes from a per-process cache (:func:`load_cached`), so a worker loads it once,
not once per cell; everything else — the split, the preprocessing, the network, the fit and the
metrics — is ``ffnn.runs``'s. metrics is flat: ``{split}_{name}`` for the splits train / val /
test and the names loss and accuracy (classification) or r2 and rmse (regression), plus
epochs_run, stop_reason and n_params.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["train_run", "load_cached", "run_config"]


def run_config(params: dict, seed: int):
    """The :class:`ffnn.runs.RunConfig` of a cell: its options, its seed, quiet, one thread."""
    from ffnn.runs import RunConfig

    return RunConfig(**params, seed=seed, progress=False, threads="1")


@functools.lru_cache(maxsize=8)
def _load(data: str, target, task, n, noise, seed: int):
    from ffnn.runs import RunConfig, load_training_data

    cfg = RunConfig(data=data, target=target, task=task, n=n, noise=noise, seed=seed)
    return load_training_data(cfg)


def load_cached(cfg):
    """(Dataset, generator arguments) for ``cfg``, loaded once per process for each distinct
    definition; the seed is part of it only for the seeded (synthetic) sets."""
    from pathlib import Path

    from ffnn.data import DATASETS

    name = str(cfg.data).lower().replace("-", "_")
    seeded = name in DATASETS and DATASETS[name].seeded and not Path(str(cfg.data)).is_file()
    return _load(cfg.data, cfg.target, cfg.task, cfg.n, cfg.noise, cfg.seed if seeded else 0)


def _prepare(cfg):
    """:func:`ffnn.runs.prepare_run` on the cached data set (it would load the data itself)."""
    from ffnn.runs import (
        PreparedRun,
        build_network,
        choose_loss,
        monitor,
        optimizer_options,
        split_and_preprocess,
    )
    from ffnn.runs.sizes import check_network, limit_bytes

    ds, data_kwargs = load_cached(cfg)
    loss_name, loss, output = choose_loss(cfg, ds.task, ds.name)
    train, val, test, pre, arrays = split_and_preprocess(cfg, ds, loss_name)
    widths = [ds.n_features, *cfg.hidden, pre.n_outputs]
    itemsize = np.dtype(cfg.dtype).itemsize
    check_network(widths, itemsize, cfg.batch_size, train.n, limit_bytes(cfg.max_memory))
    acts = [a.strip() for a in cfg.activation.split(",")]
    net = build_network(cfg, acts, ds.n_features, pre.n_outputs, output)
    loss.check_output(net.output)
    patience = cfg.patience if (val is not None and cfg.patience > 0) else None
    prep = PreparedRun(
        cfg, ds, data_kwargs, train, val, test, pre, arrays, loss_name, loss, output, net,
        patience, optimizer_options(cfg), None,
    )  # fmt: skip
    monitor(prep)
    return prep


def train_run(cfg):
    """Prepare, fit and measure the run ``cfg``; raises KeyboardInterrupt if fit took a Ctrl-C
    (the cell is then not finished)."""
    from ffnn.runs import fit_prepared, run_metadata, split_metrics

    prep = _prepare(cfg)
    hist, interrupted, _ = fit_prepared(prep)
    if interrupted:
        raise KeyboardInterrupt
    rows = split_metrics(prep)
    metrics = {f"{s}_{k}": v for s, r in rows.items() for k, v in r.items() if k != "n"}
    metrics.update(epochs_run=len(hist), stop_reason=hist.stop_reason, n_params=prep.net.n_params)
    return prep.net, hist, metrics, run_metadata(prep, hist, rows, interrupted)
