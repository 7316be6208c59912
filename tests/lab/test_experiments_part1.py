"""Every part-1 experiment runs from the registry at its quick size, writes figure and table,
and agrees with its claim."""

import json

import pytest

from ffnn.lab import get_experiment

PART1 = [
    "pwl-exact",
    "relu-interpolation",
    "sigmoid-steps",
    "depth-vs-width",
    "overparameterization",
    "signal-propagation",
    "jacobian-fluctuation",
    "saturation",
    "ntk-convergence",
    "ntk-lazy",
    "ntk-regression",
]


@pytest.mark.parametrize("name", PART1)
def test_experiment_quick(name, tmp_path):
    exp = get_experiment(name)
    res = exp.run(tmp_path, quick=True, progress=False)
    assert res.agrees, res.verdict()
    assert (tmp_path / f"{name}.png").stat().st_size > 1000
    data = json.loads((tmp_path / f"{name}.json").read_text())
    assert data["agrees"] is True and data["rows"]
    assert (tmp_path / f"{name}.csv").exists()
    assert "AGREES" in res.verdict()
