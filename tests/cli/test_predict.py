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


def test_outputs_never_replace_an_input_or_a_model(csv_files, run, user_error):
    model = csv_files / "run"
    assert run("train", csv_files / "ok.csv", "-o", model, *FAST)[0] == 0
    before = (model / "model.safetensors").read_bytes()
    data = csv_files / "nolabel.csv"
    data_before = data.read_bytes()
    (csv_files / "copy.bin").write_bytes(before)  # a model under another name
    cases = [
        (model / "model.safetensors", "is an input"),
        (data, "is an input"),
        (model / "metrics.json", "would replace metrics.json of the run"),
        (csv_files / "new.safetensors", "is a model file"),
        (csv_files / "copy.bin", "is a model file"),
    ]
    for out, pattern in cases:
        rc, _, err = run("predict", model, data, "-o", out)
        user_error(rc, err, pattern)
    assert (model / "model.safetensors").read_bytes() == before
    assert data.read_bytes() == data_before and not (csv_files / "new.safetensors").exists()


def test_nan_weights_are_refused_by_predict_evaluate_and_info(csv_files, run, user_error):
    from ffnn.io import load_model, save_model

    model = csv_files / "run"
    assert run("train", csv_files / "ok.csv", "-o", model, *FAST)[0] == 0
    net, meta = load_model(model / "model.safetensors")
    net.theta[:] = np.nan
    save_model(model / "model.safetensors", net, meta)
    cmds = [
        ["predict", model, csv_files / "nolabel.csv"],
        ["evaluate", model, csv_files / "ok.csv"],
        ["info", model],
    ]
    for cmd in cmds:
        rc, out, err = run(*cmd)
        user_error(rc, err, "nan")
        assert out == ""
