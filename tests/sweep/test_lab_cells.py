import json

import pytest

from ffnn.errors import FFNNError
from ffnn.sweep import sweep
from ffnn.sweep.spec import load_spec

SPEC = """\
[sweep]
kind = "lab"
experiment = "pwl-exact"
quick = true
seeds = 2

[grid]
pieces = [[1, 2], [4]]
"""


def test_a_lab_experiment_swept_over_its_parameters(tmp_path):
    p = tmp_path / "lab.toml"
    p.write_text(SPEC)
    res = sweep(p, tmp_path / "out", jobs=1, progress=False)
    assert res.n_run == 4 and res.n_failed == 0
    assert [r["pieces"] for r in res.rows] == [[1, 2], [1, 2], [4], [4]]
    assert all(r["agrees"] is True for r in res.rows)
    rows = json.loads((res.out / "cells" / res.rows[2]["key"] / "rows.json").read_text())
    assert [r["pieces"] for r in rows] == [4]
    assert "agrees" in res.metrics


def test_a_lab_parameter_is_checked_by_the_experiment(tmp_path):
    p = tmp_path / "lab.toml"
    p.write_text(SPEC.replace("pieces = [[1, 2], [4]]", "pieces = [[1, 2], 'four']"))
    with pytest.raises(FFNNError, match=r"grid.pieces"):
        load_spec(p)
    p.write_text(SPEC.replace("pieces =", "piece ="))
    with pytest.raises(FFNNError, match=r"line 8: grid.piece.*pieces"):
        load_spec(p)
