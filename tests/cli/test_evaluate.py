"""ffnn evaluate: the held-out split of a built-in set; mistakes about a model or its data."""

import json

FAST = ["--epochs", "3", "--no-progress", "-q"]


def test_evaluate_uses_the_held_out_split(digits_run, run):
    rc, out, _ = run("evaluate", digits_run, "digits")
    assert rc == 0 and "held-out test split" in out and "359" in out
    acc = json.loads((digits_run / "metrics.json").read_text())["test"]["accuracy"]
    assert f"{100 * acc:.2f}%" in out
    rc, out, _ = run("evaluate", digits_run, "digits", "--all")
    assert rc == 0 and "1797" in out


def test_model_errors_in_process(digits_run, csv_files, run, user_error, tmp_path):
    model = tmp_path / "csvmodel"
    assert run("train", csv_files / "ok.csv", "-o", model, *FAST)[0] == 0
    cases = [
        (["evaluate", model, csv_files / "badlabel.csv"], "labels ['maybe'] are not among"),
        (["evaluate", model, csv_files / "badcol.csv"], "lacks: b"),
        (["predict", model, csv_files / "nan.csv"], "missing or nan"),
        (["evaluate", digits_run, "iris"], "4 feature columns but the model takes 64"),
        (["evaluate", tmp_path / "nowhere", "digits"], "no such model"),
        (["info", csv_files / "ok.csv"], "not a readable safetensors"),
        (["predict", model, csv_files / "ok.csv", "-o", tmp_path / "no" / "dir.csv"],
         "does not exist"),
    ]  # fmt: skip
    for argv, pattern in cases:
        rc, _, err = run(*argv)
        user_error(rc, err, pattern)


def test_nan_targets_are_refused_as_train_refuses_them(run, user_error, tmp_path):
    rows = "".join(f"{i / 10},{(i / 10) ** 2}\n" for i in range(30))
    (tmp_path / "r.csv").write_text("x,y\n" + rows)
    (tmp_path / "nan.csv").write_text("x,y\n0.1,0.01\n0.2,nan\n0.3,\n")
    assert run("train", tmp_path / "r.csv", "--target", "y", "-o", tmp_path / "m", *FAST)[0] == 0
    rc, out, err = run("evaluate", tmp_path / "m", tmp_path / "nan.csv")
    user_error(rc, err, "NaN/inf/missing values in 2 rows")
    assert "nan" not in out
