"""ffnn predict: labels and probabilities as CSV, to stdout or a file."""

import numpy as np

import ffnn

FAST = ["--epochs", "3", "--no-progress", "-q"]


def test_predict_writes_labels_and_probabilities(digits_run, run, tmp_path):
    rc, _, err = run("predict", digits_run, "digits", "-o", tmp_path / "p.csv")
    assert rc == 0 and "1797 predictions" in err
    rows = (tmp_path / "p.csv").read_text().splitlines()
    assert rows[0].split(",")[:3] == ["prediction", "p_0", "p_1"] and len(rows) == 1798
    probs = np.array([r.split(",")[1:] for r in rows[1:]], dtype=float)
    assert np.allclose(probs.sum(1), 1, atol=1e-4)
    pred = np.array([int(r.split(",")[0]) for r in rows[1:]])
    y = ffnn.data.load_dataset("digits").y
    assert np.mean(pred == y) > 0.97


def test_csv_round_trip_with_string_labels(csv_files, run):
    out = csv_files / "run"
    rc, stdout, _ = run("train", csv_files / "ok.csv", "--target", "label", "-o", out, *FAST)
    assert rc == 0 and "test" in stdout
    rc, stdout, _ = run("predict", out, csv_files / "nolabel.csv")
    assert rc == 0
    lines = stdout.splitlines()
    assert lines[0] == "prediction,p_no,p_yes"
    assert {ln.split(",")[0] for ln in lines[1:]} <= {"yes", "no"}
    rc, stdout, _ = run("evaluate", out, csv_files / "ok.csv")
    assert rc == 0 and "accuracy" in stdout
