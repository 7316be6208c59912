"""ffnn diagnose RUN [DATA] at the command line."""

import json

import numpy as np
import pytest

from ffnn.cli import main


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "iris"
    assert main(["train", "iris", "--hidden", "16", "--epochs", "40", "-o", str(out), "-q"]) == 0
    return out


def test_diagnose_a_run_folder(run_dir, capsys):
    assert main(["diagnose", str(run_dir)]) == 0
    text = capsys.readouterr().out
    for title in ("I. cost", "T. convergence", "S. saturation", "L. local minima", "O. overfit"):
        assert title in text
    assert "the run's training split" in text
    report = json.loads((run_dir / "diagnosis.json").read_text())
    assert len(report["findings"]) == 5
    assert (run_dir / "diagnosis.png").stat().st_size > 10_000


def test_data_that_does_not_fit_still_reports(run_dir, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,target\n1,2,0\n3,4,1\n")
    assert main(["diagnose", str(run_dir), str(bad), "--no-files"]) == 0
    text = capsys.readouterr().out
    assert "no data to measure on" in text
    assert "S. saturation [UNKNOWN]" in text and "O. overfitting" in text


def test_a_folder_without_a_model(tmp_path, capsys):
    assert main(["diagnose", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ffnn: error:") and "model" in err
    assert np.all([not p.name.startswith("diagnosis") for p in tmp_path.iterdir()])
