"""A session: training by ffnn.fit, what a frame holds, the notes' views, the exports."""

import base64
import json

import numpy as np
import pytest

import ffnn
from ffnn.lab.hessian import full_hessian
from ffnn.playground import export
from ffnn.playground.session import GRID, Session
from ffnn.playground.settings import DEFAULTS


def test_k_frames_are_one_fit_of_k_epochs():
    """The session continues ffnn.fit with its state and generator, so the exported snippet's
    single fit reproduces the run bit for bit."""
    s = Session()
    for _ in range(4):
        s.advance(2)
    assert s.epoch == 8
    code = export.snippet(s)
    assert "epochs=8," in code
    scope: dict = {}
    exec(compile(code, "snippet", "exec"), scope)
    np.testing.assert_array_equal(scope["net"].theta, s.net.theta)


def test_training_on_spirals_raises_the_test_accuracy():
    s = Session()
    before = s.frame()["test_accuracy"]
    for _ in range(15):
        f = s.advance(10)
    assert before < 0.7 < 0.9 < f["test_accuracy"]
    assert f["train_loss"] < 0.3


def test_a_live_change_keeps_the_run_another_resets_it():
    s = Session()
    s.advance(3)
    m = s.fit_state["optimizer"]["adam"]["m"].copy()
    replies = s.apply({**DEFAULTS, "lr": 0.01})
    assert [r["type"] for r in replies] == ["accepted", "frame"] and s.epoch == 3
    np.testing.assert_array_equal(s.fit_state["optimizer"]["adam"]["m"], m)  # Adam's moments kept
    s.apply({**DEFAULTS, "lr": 0.01, "optimizer": "momentum"})  # another chain: fresh state
    assert s.epoch == 3 and set(s.fit_state["optimizer"]) >= {"momentum"}
    s.advance(1)
    assert s.epoch == 4
    replies = s.apply({**DEFAULTS, "hidden": [5], "activations": ["relu"]})
    assert [r["type"] for r in replies] == ["data", "frame"] and s.epoch == 0
    assert s.net.widths == [2, 5, 2]


def test_sharpness_is_the_top_eigenvalue_of_the_full_hessian():
    s = Session({**DEFAULTS, "hidden": [4], "activations": ["tanh"], "n": 120})
    s.advance(20)
    H = full_hessian(s.net, s.prob.X, s.prob.Y, s.loss)
    f = s.frame()
    np.testing.assert_allclose(f["views"]["sharpness"], np.linalg.eigvalsh(H)[-1], rtol=1e-3)
    assert f["views"]["two_over_eta"] == pytest.approx(2 / DEFAULTS["lr"])


def test_ntk_change_starts_at_zero_and_grows_while_training():
    s = Session()
    assert s.frame()["views"]["ntk"] == 0.0
    s.advance(30)
    assert s.frame()["views"]["ntk"] > 0.05


def test_deltas_and_saturation_per_layer():
    s = Session({**DEFAULTS, "hidden": [6, 6, 6], "activations": ["relu", "tanh", "sigmoid"]})
    v = s.frame()["views"]
    assert len(v["delta"]) == 4 and all(d > 0 for d in v["delta"])  # δ^(1) … δ^(L+1)
    assert len(v["saturation"]) == 3 and all(0 <= x <= 1 for x in v["saturation"])
    assert 0.2 < v["saturation"][0] < 0.8  # about half of the ReLU units are off at init


def test_the_output_heatmap_and_a_units_view():
    s = Session()
    s.focus = (1, 3)
    f = s.frame()
    heat = np.frombuffer(base64.b64decode(f["heat"]), np.uint8)
    unit = np.frombuffer(base64.b64decode(f["focus"]), np.uint8)
    assert heat.size == unit.size == GRID * GRID
    z, trace = s.net.forward(s.Xg)
    a = trace.x[1][:, 3]
    np.testing.assert_allclose(
        unit / 255, np.clip(0.5 + 0.5 * a / np.abs(a).max(), 0, 1), atol=3e-3
    )


def test_a_regression_surface_reports_r2():
    s = Session({**DEFAULTS, "data": "regression", "loss": "mse", "output": "identity"})
    for _ in range(10):
        f = s.advance(10)
    assert f["test_r2"] > 0.8 and "heat_class" not in f


def test_derived_features_feed_the_network_and_predict_reads_them(tmp_path):
    from ffnn.cli import main

    linear = {"hidden": [], "activations": []}
    s = Session({**DEFAULTS, "data": "circle", "features": ["x1^2", "x2^2"], **linear})
    for _ in range(5):
        f = s.advance(10)
    assert f["test_accuracy"] > 0.95  # circles are linear in x1², x2²
    model = tmp_path / "m.safetensors"
    model.write_bytes(export.model_bytes(s.net, export.model_metadata(s)))
    (tmp_path / "d.csv").write_text(export.data_csv(s))
    net, meta = ffnn.load_model(model)
    assert meta["preprocessor"]["feature_names"] == ["x1^2", "x2^2"]
    assert main(["evaluate", str(model), str(tmp_path / "d.csv")]) == 0


def test_close_drops_the_arrays():
    s = Session()
    s.close()
    assert s.net is None and s.prob is None and s.Xg is None


def test_frames_stay_strict_json_when_training_blows_up():
    wild = {"optimizer": "momentum", "lr": 10.0, "activations": ["relu", "relu"], "batch": 500}
    s = Session({**DEFAULTS, "data": "regression", "loss": "mse", "output": "identity", **wild})
    for _ in range(6):
        f = s.advance(10)
        json.dumps(f, allow_nan=False)  # NaN or inf would break the page's JSON.parse
    assert f["train_loss"] is None or f["train_loss"] > 1e6
