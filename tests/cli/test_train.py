"""ffnn train: the default run on digits, files, other data, Ctrl-C, --force, user mistakes."""

import json
import signal
import subprocess
import sys
import time

import pytest

from ffnn.io import load_model

FAST = ["--epochs", "3", "--no-progress", "-q"]


def test_default_train_reaches_97_percent_on_digits(digits_run):
    metrics = json.loads((digits_run / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] >= 0.97
    assert metrics["test"]["n"] == 359  # a stratified 20% of 1797
    for name in ("model.safetensors", "history.json", "history.csv", "loss.png"):
        assert (digits_run / name).stat().st_size > 0
    assert not [p for p in digits_run.iterdir() if p.name.endswith(".tmp")]
    net, meta = load_model(digits_run / "model.safetensors")
    assert net.widths == [64, 256, 256, 10]
    assert meta["preprocessor"]["classes"] == list(range(10))
    assert meta["training"]["optimizer"] == "adam" and meta["data"]["source"] == "digits"
    assert meta["training"]["monitor"] == "val_accuracy" and meta["training"]["lr"] == 3e-3
    hist = json.loads((digits_run / "history.json").read_text())
    assert len(hist["records"]) == meta["training"]["epochs_run"] > 0


def test_prints_the_run_then_the_table(run, tmp_path):
    rc, out, err = run("train", "iris", "-o", tmp_path / "r", "--epochs", "3", "--no-progress")
    assert rc == 0, err
    heads = [ln.split(" ", 1)[0] for ln in out.splitlines() if ln.strip()]
    assert heads[:5] == ["data", "split", "network", "training", "stopped"]
    assert "iris: 150 examples, 4 features, classification, 3 classes" in out
    assert f"saved    {tmp_path / 'r'}/: model.safetensors, history.json" in out


def test_regression_and_npz(tmp_path, run):
    import numpy as np

    rc, out, _ = run("train", "sine", "--n", "80", "-o", tmp_path / "s", *FAST)
    assert rc == 0 and "r2" in out and "rmse" in out
    X = np.random.default_rng(1).normal(size=(40, 3))
    np.savez(tmp_path / "d.npz", X=X, y=X @ [1.0, -2.0, 0.5])
    rc, out, _ = run("train", tmp_path / "d.npz", "-o", tmp_path / "n", *FAST)
    assert rc == 0
    rc, out, _ = run("predict", tmp_path / "n", tmp_path / "d.npz")
    assert rc == 0 and len(out.splitlines()) == 41


def test_interrupt_saves_the_model(tmp_path, run, monkeypatch):
    import ffnn.train

    real_fit = ffnn.train.fit

    def fit_then_ctrl_c(*a, **k):
        def ctrl_c(net, epoch, logs):
            if epoch == 2:
                raise KeyboardInterrupt

        k["callbacks"] = [*k.get("callbacks", ()), ctrl_c]
        return real_fit(*a, **k)

    monkeypatch.setattr(ffnn.train, "fit", fit_then_ctrl_c)
    rc, _, err = run("train", "iris", "-o", tmp_path / "r", "--no-progress", "-q")
    assert rc == 130 and "saved the model trained so far" in err
    _, meta = load_model(tmp_path / "r" / "model.safetensors")
    assert meta["training"]["interrupted"] and meta["training"]["epochs_run"] == 2


def test_existing_model_not_overwritten_without_force(tmp_path, run, user_error):
    out = tmp_path / "r"
    assert run("train", "iris", "-o", out, *FAST)[0] == 0
    before = (out / "model.safetensors").read_bytes()
    rc, _, err = run("train", "iris", "-o", out, *FAST)
    user_error(rc, err, "--force")
    assert (out / "model.safetensors").read_bytes() == before
    assert run("train", "iris", "-o", out, "--force", "--seed", "3", *FAST)[0] == 0
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
    (["train", "iris", "--momentum", "0.5"], "--momentum applies to"),
    (["train", "iris", "--hidden", "4,4", "--activation", "relu,tanh,relu"], "3 names for 2"),
]


@pytest.mark.parametrize("argv,pattern", TRAIN_ERRORS, ids=[" ".join(a) for a, _ in TRAIN_ERRORS])
def test_user_errors_in_process(argv, pattern, csv_files, run, user_error, tmp_path):
    out = tmp_path / "never"
    argv = [a.format(d=csv_files) for a in argv] + ["-o", str(out), "--no-progress"]
    rc, _, err = run(*argv)
    user_error(rc, err, pattern)
    assert not out.exists()  # nothing half-written


@pytest.mark.parametrize("loss", ["mse", "binary_cross_entropy"])
def test_classification_with_other_losses_uses_one_hot_targets(loss, tmp_path, run):
    rc, out, err = run("train", "iris", "--loss", loss, "-o", tmp_path / "r", *FAST)
    assert rc == 0, err
    assert "accuracy" in out
    _, meta = load_model(tmp_path / "r" / "model.safetensors")
    assert meta["training"]["output"] == ("identity" if loss == "mse" else "sigmoid")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_as_a_process_saves_the_model(tmp_path, process_env):
    argv = ["train", "spirals", "--n", "2000", "--epochs", "100000", "--patience", "0",
            "--no-progress", "-o", tmp_path / "r"]  # fmt: skip
    p = subprocess.Popen([sys.executable, "-m", "ffnn", *map(str, argv)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=process_env)  # fmt: skip
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


SIZE_ERRORS = [
    (["--hidden", "10^8"], "p = 7,500,000,010 parameters) needs about 1.58 TiB"),
    (["--hidden", "1e8"], "choose smaller --hidden widths"),
    (["--max-memory", "1K"], "beyond the limit of 1 KiB"),
]


@pytest.mark.parametrize("extra,pattern", SIZE_ERRORS, ids=[" ".join(a) for a, _ in SIZE_ERRORS])
def test_sizes_refused_before_allocating(extra, pattern, run, user_error, tmp_path):
    # --max-memory 2G: the same answer on any machine (a 10^8-wide layer needs far more)
    limit = [] if "--max-memory" in extra else ["--max-memory", "2G"]
    rc, _, err = run("train", "digits", *extra, *limit, "-o", tmp_path / "r", "--no-progress")
    user_error(rc, err, pattern)
    assert not (tmp_path / "r").exists()


def test_synthetic_rows_sized_before_generating(run, user_error, tmp_path):
    rc, _, err = run("train", "spirals", "--n", "2e9", "--max-memory", "8G", "-o", tmp_path / "r")
    user_error(rc, err, "spirals with --n 2,000,000,000 examples needs about")


def test_a_second_train_into_a_locked_folder_is_refused(run, user_error, tmp_path):
    from ffnn.runs import locked_folder

    out = tmp_path / "r"
    with locked_folder(out):  # another ffnn train is writing there
        rc, _, err = run("train", "iris", "-o", out, *FAST)
    user_error(rc, err, "in use by another ffnn process")
    assert not (out / "model.safetensors").exists()


def test_an_error_during_training_leaves_no_folder(run, user_error, tmp_path, monkeypatch):
    import ffnn.train
    from ffnn.errors import FFNNError

    def failing_fit(*a, **k):
        raise FFNNError("the training set holds NaN after standardization")

    monkeypatch.setattr(ffnn.train, "fit", failing_fit)
    rc, _, err = run("train", "iris", "-o", tmp_path / "new" / "r", *FAST)
    user_error(rc, err, "holds NaN")
    assert not (tmp_path / "new").exists()


def test_hostile_files_end_in_one_line(run, user_error, tmp_path):
    import numpy as np

    (tmp_path / "bin.csv").write_bytes(bytes(range(256)) * 8)
    np.save(tmp_path / "c.npy", np.ones((5, 3), dtype=complex))
    for name in ("bin.csv", "c.npy"):
        rc, _, err = run("train", tmp_path / name, "-o", tmp_path / "r", *FAST)
        user_error(rc, err, name)  # one line naming the file
    assert not (tmp_path / "r").exists()
