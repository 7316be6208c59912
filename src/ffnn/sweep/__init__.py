"""Sweeps: grids (and random samples) of training runs or lab experiments, one task per cell,
on local processes (joblib's loky) or a Dask cluster; results kept cell by cell.

>>> import ffnn
>>> res = ffnn.sweep("width.toml", jobs=2)          # or ffnn.sweep.sweep(...); a dict works too
>>> res.rows[0]["test_accuracy"], res.out            # a row per cell; OUT/results.csv
>>> text, ax = ffnn.sweep.report(res)                # mean ± SE over seeds, and the figure

The command line: ``ffnn sweep SPEC.toml [--jobs N | --scheduler tcp://HOST:8786 |
--dask-local N] [--summary]``. The spec's format is described in :mod:`ffnn.sweep.spec`.
"""

from __future__ import annotations

import sys
import types

from ffnn.sweep.report import report
from ffnn.sweep.runner import SweepResult, sweep
from ffnn.sweep.spec import Cell, Spec, expand, load_spec

__all__ = ["sweep", "SweepResult", "report", "load_spec", "expand", "Cell", "Spec"]


class _CallableModule(types.ModuleType):
    """``ffnn.sweep(...)`` calls :func:`sweep`; ``ffnn.sweep.X`` stays the package's X."""

    def __call__(self, *args, **kwargs) -> SweepResult:
        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
