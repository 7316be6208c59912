"""Every part-3 experiment (issue 15) runs from the registry at its quick size and agrees."""

import json

import pytest

from ffnn.lab import get_experiment

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
def test_experiment_quick_agrees_and_writes_files(name, tmp_path):
    exp = get_experiment(name)
    assert exp.claim and exp.name == name
    res = exp.run(tmp_path, quick=True, progress=False)
    assert res.agrees, res.verdict()
    assert res.rows and res.tolerance
    png, csv, js = tmp_path / f"{name}.png", tmp_path / f"{name}.csv", tmp_path / f"{name}.json"
    for f in (png, csv, js):
        assert f.exists() and f.stat().st_size > 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    data = json.loads(js.read_text())
    assert data["claim"] == exp.claim and data["agrees"] is True
    assert "AGREES" in res.verdict() and "tolerance:" in res.verdict()
