"""Every part-3 experiment (issue 15) runs from the registry at its quick size and agrees."""

import pytest

NAMES = [
    "double-descent",
    "early-stopping",
    "convexity",
    "sgd-noise",
    "steps-to-tolerance",
    "two-relus",
    "halfspace-kernel-network",
    "width-approximation",
]


@pytest.mark.parametrize("name", NAMES)
def test_experiment_quick_agrees_and_writes_files(name, quick_run):
    res = quick_run(name)
    assert res.tolerance and "tolerance:" in res.verdict()
