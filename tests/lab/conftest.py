"""Shared checks of the lab's experiment tests."""

import json

import pytest

from ffnn.lab import get_experiment


@pytest.fixture
def quick_run(tmp_path):
    """Run experiment NAME at its quick size into tmp_path; check the claim, the AGREES verdict
    and the PNG/CSV/JSON it writes; return the result."""

    def run(name: str):
        exp = get_experiment(name)
        assert exp.claim and exp.name == name
        res = exp.run(tmp_path, quick=True, progress=False)
        assert res.agrees, res.verdict()
        assert res.rows
        png, csv, js = (tmp_path / f"{name}.{ext}" for ext in ("png", "csv", "json"))
        for f in (png, csv, js):
            assert f.exists() and f.stat().st_size > 0
        assert png.read_bytes()[:4] == b"\x89PNG"
        data = json.loads(js.read_text())
        assert data["claim"] == exp.claim and data["agrees"] is True
        assert "AGREES" in res.verdict()
        return res

    return run
