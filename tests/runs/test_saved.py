"""A saved run: its model refused when its weights are NaN, its data checked as training does."""

import numpy as np
import pytest

from ffnn.errors import FFNNError
from ffnn.io import load_model, save_model
from ffnn.runs import MODEL_FILE, RunConfig, load_run, run_data, run_training


@pytest.fixture(scope="module")
def sine_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("saved") / "sine"
    run_training(RunConfig("sine", n=60, epochs=2, hidden=[4], out=str(out), progress=False))
    return out


def test_nan_weights_are_refused(sine_run, tmp_path):
    net, meta = load_model(sine_run / MODEL_FILE)
    net.theta[3] = np.nan
    save_model(tmp_path / "nan.safetensors", net, meta)
    with pytest.raises(FFNNError, match="NaN"):
        load_run(tmp_path / "nan.safetensors")


def test_nan_targets_are_refused_as_training_refuses_them(sine_run, tmp_path):
    f = tmp_path / "nan.csv"
    f.write_text("x,target\n0.1,0.5\n0.2,\n0.3,nan\n")
    _, meta, pre, _ = load_run(sine_run)
    with pytest.raises(FFNNError, match="NaN/inf/missing values in 2 rows"):
        run_data(str(f), pre, meta, need_target=True, target="target")
    X, y, _ = run_data(str(f), pre, meta, need_target=False, target=None)
    assert X.shape == (3, 1)  # predicting needs no target


def test_malformed_data_record_in_the_metadata_is_refused(sine_run, tmp_path):
    net, meta = load_model(sine_run / MODEL_FILE)
    meta["data"]["kwargs"] = ["n", 3]  # a list where an object belongs
    save_model(tmp_path / "m.safetensors", net, meta)
    _, meta2, pre, _ = load_run(tmp_path / "m.safetensors")
    with pytest.raises(FFNNError, match="the model's metadata"):
        run_data("sine", pre, meta2, need_target=True, target=None)


def test_a_folder_without_a_model(tmp_path):
    with pytest.raises(FFNNError, match="holds no model.safetensors"):
        load_run(tmp_path)
