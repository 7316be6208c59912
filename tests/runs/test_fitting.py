"""ffnn.runs: one training run as a library call (no printing), its pieces, a saved run."""

import json
from dataclasses import asdict

import numpy as np
import pytest

from ffnn import get_loss
from ffnn.errors import FFNNError
from ffnn.runs import (
    MODEL_FILE,
    RunConfig,
    load_run,
    metrics,
    prepare_run,
    run_data,
    run_training,
    targets_for,
    train_prepared,
)


def test_config_defaults_are_those_of_ffnn_train():
    from ffnn import cli
    from ffnn.cli.train import config_from_args

    args = cli.build_parser().parse_args(["train"])
    assert config_from_args(args) == RunConfig()


def test_run_training_prints_nothing_and_writes_the_run_folder(tmp_path, capsys):
    seen = []
    cfg = RunConfig("iris", epochs=4, out=str(tmp_path / "r"), progress=False, hidden=[8])
    result = run_training(cfg, callbacks=[lambda net, epoch, logs: seen.append(epoch)])
    assert capsys.readouterr() == ("", "")
    assert seen == [1, 2, 3, 4] and len(result.history) == 4 and not result.interrupted
    assert result.files == [MODEL_FILE, "history.json", "history.csv", "metrics.json", "loss.png"]
    assert sorted(p.name for p in result.out.iterdir()) == sorted(result.files)
    assert json.loads((result.out / "metrics.json").read_text()) == result.metrics
    assert set(result.metrics) == {"train", "val", "test"}
    assert result.meta["training"]["epochs_run"] == 4 and result.net.widths == [4, 8, 3]


def test_prepare_run_refuses_mistakes_before_any_file(tmp_path):
    for bad in (
        {"activation": "relux"},
        {"optimizer": "adamx"},
        {"momentum": 0.9},
        {"loss": "cross_entropy", "data": "diabetes"},
        {"n": 10},
    ):
        cfg = RunConfig(**{"data": "iris", "out": str(tmp_path / "r"), **bad})
        with pytest.raises(FFNNError):
            prepare_run(cfg)
        assert not (tmp_path / "r").exists()


def test_prepared_run_holds_the_split_and_the_network(tmp_path):
    prep = prepare_run(RunConfig("digits", hidden=[16, 8], out=str(tmp_path / "r")))
    assert (prep.train.n, prep.val.n, prep.test.n) == (1295, 143, 359)
    assert prep.net.widths == [64, 16, 8, 10] and prep.patience == 20
    X, y = prep.arrays["train"]
    assert X.shape == (1295, 64) and np.allclose(X.mean(axis=0), 0, atol=1e-5)
    assert not prep.out.exists()  # the folder is made when training starts


def test_a_saved_run_evaluates_to_its_test_metrics(tmp_path):
    cfg = RunConfig("wine", epochs=3, hidden=[8], out=str(tmp_path / "r"), progress=False)
    result = train_prepared(prepare_run(cfg))
    net, meta, pre, path = load_run(tmp_path / "r")
    assert path == tmp_path / "r" / MODEL_FILE
    X, y, what = run_data("wine", pre, meta, need_target=True, target=None)
    assert "held-out test split" in what
    y_enc = targets_for("cross_entropy", pre, pre.encode_y(y))
    m = metrics(net, get_loss("cross_entropy"), pre, pre.transform_X(X), y_enc)
    assert m["n"] == result.metrics["test"]["n"]
    assert m["accuracy"] == pytest.approx(result.metrics["test"]["accuracy"])
    assert m["loss"] == pytest.approx(result.metrics["test"]["loss"], rel=1e-5)


def test_regression_metrics_are_in_the_data_units(tmp_path):
    cfg = RunConfig("sine", n=120, epochs=3, hidden=[8], out=str(tmp_path / "s"), progress=False)
    result = run_training(cfg)
    test = result.metrics["test"]
    assert set(test) == {"n", "loss", "r2", "rmse"} and test["rmse"] > 0
    assert asdict(cfg)["n"] == 120 and result.meta["data"]["kwargs"] == {"n": 120}


def test_loss_figure_leaves_the_backend_alone(tmp_path):
    import matplotlib

    before = matplotlib.get_backend()
    run_training(RunConfig("iris", epochs=2, hidden=[4], out=str(tmp_path / "r"), progress=False))
    assert matplotlib.get_backend() == before
