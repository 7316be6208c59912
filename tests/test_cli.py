"""The command line: in-process through cli.main([...]), and as `python -m ffnn` for the checks
that a user's mistake ends in one line on stderr without a traceback."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import ffnn
from ffnn import cli
from ffnn.io import load_model

FAST = ["--epochs", "3", "--no-progress", "-q"]


def run(capsys, *argv):
    rc = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def assert_user_error(rc, err, pattern=""):
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ffnn: error: "), err
    assert "Traceback" not in err
    assert pattern.lower() in lines[0].lower(), lines[0]


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """The default `ffnn train` (digits), trained once for this module."""
    out = tmp_path_factory.mktemp("runs") / "digits"
    rc = cli.main(["train", "-o", str(out), "--no-progress"])
    assert rc == 0
    return out


@pytest.fixture
def csv_files(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    labels = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    lines = ["a,b,label"] + [f"{x:.4f},{z:.4f},{c}" for (x, z), c in zip(X, labels, strict=True)]
    ok = tmp_path / "ok.csv"
    ok.write_text("\n".join(lines) + "\n")
    (tmp_path / "nan.csv").write_text("a,b,label\n1,2,yes\n3,,no\n5,6,yes\n")
    (tmp_path / "badlabel.csv").write_text("a,b,label\n1,2,yes\n3,4,maybe\n")
    (tmp_path / "badcol.csv").write_text("a,c,label\n1,2,yes\n3,4,no\n")
    (tmp_path / "text.csv").write_text("a,b,label\n1,red,yes\n3,4,no\n")
    (tmp_path / "nolabel.csv").write_text("b,a\n2,1\n-4,-3\n")
    return tmp_path


def test_default_train_reaches_97_percent_on_digits(digits_run):
    metrics = json.loads((digits_run / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] >= 0.97
    assert metrics["test"]["n"] == 359  # a stratified 20% of 1797
    for name in ("model.safetensors", "history.json", "history.csv", "loss.png"):
        assert (digits_run / name).stat().st_size > 0
    assert not [p for p in digits_run.iterdir() if p.name.endswith(".tmp")]
    net, meta = load_model(digits_run / "model.safetensors")
    assert net.widths == [64, 256, 10]
    assert meta["preprocessor"]["classes"] == list(range(10))
    assert meta["training"]["optimizer"] == "adam" and meta["data"]["source"] == "digits"
    hist = json.loads((digits_run / "history.json").read_text())
    assert len(hist["records"]) == meta["training"]["epochs_run"] > 0


def test_evaluate_uses_the_held_out_split(digits_run, capsys):
    rc, out, _ = run(capsys, "evaluate", digits_run, "digits")
    assert rc == 0 and "held-out test split" in out and "359" in out
    acc = json.loads((digits_run / "metrics.json").read_text())["test"]["accuracy"]
    assert f"{100 * acc:.2f}%" in out
    rc, out, _ = run(capsys, "evaluate", digits_run, "digits", "--all")
    assert rc == 0 and "1797" in out


def test_predict_writes_labels_and_probabilities(digits_run, capsys, tmp_path):
    rc, _, err = run(capsys, "predict", digits_run, "digits", "-o", tmp_path / "p.csv")
    assert rc == 0 and "1797 predictions" in err
    rows = (tmp_path / "p.csv").read_text().splitlines()
    assert rows[0].split(",")[:3] == ["prediction", "p_0", "p_1"] and len(rows) == 1798
    probs = np.array([r.split(",")[1:] for r in rows[1:]], dtype=float)
    assert np.allclose(probs.sum(1), 1, atol=1e-4)
    pred = np.array([int(r.split(",")[0]) for r in rows[1:]])
    y = ffnn.data.load_dataset("digits").y
    assert np.mean(pred == y) > 0.97


def test_info_counts_parameters_and_multiply_adds(digits_run, capsys):
    rc, out, _ = run(capsys, "info", digits_run)
    assert rc == 0
    assert "p = 19210" in out  # 64·256 + 256 + 256·10 + 10
    assert "18944" in out  # forward: 64·256 + 256·10
    assert "21504" in out  # backward: 2·18944 − 64·256 (no message to the input)
    assert "O(p·n)" in out


def test_cost_formula():
    c = cli.cost(ffnn.mlp([3, 5, 4, 2], "tanh"))
    assert c["forward"] == 3 * 5 + 5 * 4 + 4 * 2
    assert c["backward"] == 2 * c["forward"] - 3 * 5
    assert c["p"] == 3 * 5 + 5 + 5 * 4 + 4 + 4 * 2 + 2


def test_csv_round_trip_with_string_labels(csv_files, capsys):
    out = csv_files / "run"
    rc, stdout, _ = run(capsys, "train", csv_files / "ok.csv", "--target", "label", "-o", out,
                        *FAST)  # fmt: skip
    assert rc == 0 and "test" in stdout
    rc, stdout, _ = run(capsys, "predict", out, csv_files / "nolabel.csv")
    assert rc == 0
    lines = stdout.splitlines()
    assert lines[0] == "prediction,p_no,p_yes"
    assert {ln.split(",")[0] for ln in lines[1:]} <= {"yes", "no"}
    rc, stdout, _ = run(capsys, "evaluate", out, csv_files / "ok.csv")
    assert rc == 0 and "accuracy" in stdout


def test_regression_and_npz(tmp_path, capsys):
    rc, out, _ = run(capsys, "train", "sine", "--n", "80", "-o", tmp_path / "s", *FAST)
    assert rc == 0 and "r2" in out and "rmse" in out
    X = np.random.default_rng(1).normal(size=(40, 3))
    np.savez(tmp_path / "d.npz", X=X, y=X @ [1.0, -2.0, 0.5])
    rc, out, _ = run(capsys, "train", tmp_path / "d.npz", "-o", tmp_path / "n", *FAST)
    assert rc == 0
    rc, out, _ = run(capsys, "predict", tmp_path / "n", tmp_path / "d.npz")
    assert rc == 0 and len(out.splitlines()) == 41


def test_interrupt_saves_the_model(tmp_path, capsys, monkeypatch):
    import ffnn.train

    real_fit = ffnn.train.fit

    def fit_then_ctrl_c(*a, **k):
        def ctrl_c(net, epoch, logs):
            if epoch == 2:
                raise KeyboardInterrupt

        k["callbacks"] = [*k.get("callbacks", ()), ctrl_c]
        return real_fit(*a, **k)

    monkeypatch.setattr(ffnn.train, "fit", fit_then_ctrl_c)
    rc, _, err = run(capsys, "train", "iris", "-o", tmp_path / "r", "--no-progress", "-q")
    assert rc == 130 and "saved the model trained so far" in err
    _, meta = load_model(tmp_path / "r" / "model.safetensors")
    assert meta["training"]["interrupted"] and meta["training"]["epochs_run"] == 2


def test_lab_list_and_datasets(capsys):
    rc, out, _ = run(capsys, "lab", "--list")
    assert rc == 0 and out.strip()
    rc, out, _ = run(capsys, "datasets")
    assert rc == 0 and "digits" in out and "mnist1d" in out


def test_existing_model_not_overwritten_without_force(tmp_path, capsys):
    out = tmp_path / "r"
    assert run(capsys, "train", "iris", "-o", out, *FAST)[0] == 0
    before = (out / "model.safetensors").read_bytes()
    rc, _, err = run(capsys, "train", "iris", "-o", out, *FAST)
    assert_user_error(rc, err, "--force")
    assert (out / "model.safetensors").read_bytes() == before
    assert run(capsys, "train", "iris", "-o", out, "--force", "--seed", "3", *FAST)[0] == 0
    assert (out / "model.safetensors").read_bytes() != before


TRAIN_ERRORS = [
    (["train", "{d}/missing.csv", "--target", "y"], "no such file"),
    (["train", "{d}/ok.csv", "--target", "nope"], "no column named 'nope'"),
    (["train", "{d}/nan.csv", "--target", "label"], "missing or nan"),
    (["train", "{d}/text.csv", "--target", "label"], "not numeric"),
    (["train", "mnist"], "neither a built-in data set nor a file"),
    (["train", "iris", "--activation", "relux"], "unknown activation"),
    (["train", "iris", "--optimizer", "adamx"], "unknown optimizer"),
    (["train", "iris", "--loss", "foo"], "unknown loss"),
    (["train", "iris", "--lr", "-0.1"], "--lr: must be > 0"),
    (["train", "iris", "--lr", "nan"], "not a finite number"),
    (["train", "iris", "--batch-size", "0"], "--batch-size"),
    (["train", "iris", "--hidden", "12,x"], "--hidden"),
    (["train", "iris", "--test-size", "1.5"], "between 0 and 1"),
    (["train", "diabetes", "--loss", "cross_entropy"], "for classification"),
    (["train", "iris", "--n", "10"], "synthetic"),
    (["frobnicate"], "invalid choice"),
    (["lab", "no-such-experiment"], "unknown experiment"),
]


@pytest.mark.parametrize("argv,pattern", TRAIN_ERRORS, ids=[" ".join(a) for a, _ in TRAIN_ERRORS])
def test_user_errors_in_process(argv, pattern, csv_files, capsys, tmp_path):
    out = tmp_path / "never"
    argv = [a.format(d=csv_files) for a in argv]
    if argv[0] == "train":
        argv += ["-o", str(out), "--no-progress"]
    rc, _, err = run(capsys, *argv)
    assert_user_error(rc, err, pattern)
    assert not out.exists()  # nothing half-written


def test_model_errors_in_process(digits_run, csv_files, capsys, tmp_path):
    model = tmp_path / "csvmodel"
    assert run(capsys, "train", csv_files / "ok.csv", "-o", model, *FAST)[0] == 0
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
        rc, _, err = run(capsys, *argv)
        assert_user_error(rc, err, pattern)


def _ffnn(*argv, **kw):
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, "-m", "ffnn", *map(str, argv)], capture_output=True,
                          text=True, env=env, timeout=120, **kw)  # fmt: skip


@pytest.mark.parametrize(
    "argv,pattern",
    [
        (["train", "{d}/nan.csv", "--target", "label"], "missing or nan"),
        (["train", "iris", "--lr", "-1"], "must be > 0"),
        (["train", "nonsense"], "neither a built-in"),
    ],
)
def test_user_errors_as_a_process_have_no_traceback(argv, pattern, csv_files, tmp_path):
    r = _ffnn(*[a.format(d=csv_files) for a in argv], "-o", tmp_path / "x", cwd=tmp_path)
    assert_user_error(r.returncode, r.stderr, pattern)
    assert not (tmp_path / "x").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_as_a_process_saves_the_model(tmp_path):
    argv = ["train", "spirals", "--n", "2000", "--epochs", "100000", "--patience", "0",
            "--no-progress", "-o", tmp_path / "r"]  # fmt: skip
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    p = subprocess.Popen([sys.executable, "-m", "ffnn", *map(str, argv)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
    try:
        for line in p.stdout:
            if line.startswith("training"):
                break
        time.sleep(1.5)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130, err
    assert "Traceback" not in err and "saved the model trained so far" in err
    assert (tmp_path / "r" / "model.safetensors").is_file()


@pytest.mark.parametrize("loss", ["mse", "binary_cross_entropy"])
def test_classification_with_other_losses_uses_one_hot_targets(loss, tmp_path, capsys):
    rc, out, err = run(capsys, "train", "iris", "--loss", loss, "-o", tmp_path / "r", *FAST)
    assert rc == 0, err
    assert "accuracy" in out
    _, meta = load_model(tmp_path / "r" / "model.safetensors")
    assert meta["training"]["output"] == ("identity" if loss == "mse" else "sigmoid")
