"""Every part-2 experiment runs from the registry at its quick size and agrees with its claim."""

import pytest

NAMES = [
    "gd-rate",
    "stability-limit",
    "saddle-plateau",
    "min-norm",
    "rich-lazy",
    "optimizer-minima",
    "local-minima",
    "hessian-spectrum",
]


@pytest.mark.parametrize("name", NAMES)
def test_experiment_quick_agrees_and_writes_files(name, quick_run):
    quick_run(name)
