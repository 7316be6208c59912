"""ffnn.diagnose: each planted problem is named, a healthy run gets no false alarm."""

import numpy as np
import pytest

import ffnn
from ffnn.data import Preprocessor, load_dataset, train_test_split
from ffnn.diagnosis import DiagnoseCallback, Diagnosis, diagnose
from ffnn.diagnosis.measure import cost, curvatures
from ffnn.errors import FFNNError


@pytest.fixture(scope="module")
def digits_run():
    """The default `ffnn train` recipe on digits: 64-256-10 ReLU, Adam 1e-3, patience 20."""
    ds = load_dataset("digits")
    train, _ = train_test_split(ds, 0.2, rng=0)
    train, val = train_test_split(train, 0.1, rng=1)
    pre = Preprocessor().fit(train)
    X, y = pre.transform_X(train.X), pre.encode_dataset(train)
    Xv, yv = pre.transform_X(val.X), pre.encode_dataset(val)
    net = ffnn.mlp([64, 256, 10], "relu", output="softmax", rng=0)
    hist = ffnn.fit(net, X, y, "cross_entropy", optimizer="adam", lr=1e-3, epochs=300,
                    validation=(Xv, yv), early_stopping=20, rng=0)  # fmt: skip
    return net, X, y, hist


def test_healthy_default_run_has_no_alarm(digits_run):
    net, X, y, hist = digits_run
    d = diagnose(net, X, y, "cross_entropy", hist)
    assert d.issues == ["I", "T", "S", "L", "O"]
    assert {f.issue: f.verdict for f in d.findings} == dict.fromkeys("ITSLO", "fine")
    assert d["O"].measurements["restored best"] is True
    assert d["L"].label == "minimum"
    text = d.text()
    for f in d.findings:
        assert f.title in text and all(t in text for t in f.thresholds)


def test_learning_rate_above_the_stability_limit():
    """A linear model under MSE has a constant Hessian: GD at η = 1.2·2/λ_max must be flagged."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 3)) * [1.0, 2.0, 0.5]
    y = X @ [1.0, -1.0, 2.0]
    net = ffnn.mlp([3, 1], rng=0, dtype=np.float64)
    lam = curvatures(net, X, y, ffnn.get_loss("mse")).lambda_max
    A = np.hstack([X, np.ones((200, 1))])  # θ = (W, b): H = 2/n AᵀA for L = 1/n Σ (y − f)²
    assert lam == pytest.approx(2 * np.linalg.eigvalsh(A.T @ A / 200).max(), rel=1e-6)
    lr = 1.2 * 2 / lam
    hist = ffnn.fit(net, X, y, "mse", optimizer="gd", lr=lr, batch_size=None, epochs=8)
    d = diagnose(net, X, y, "mse", hist)
    t = d["T"]
    assert t.verdict == "problem"
    assert t.measurements["lr * lambda_max"] == pytest.approx(2.4, rel=1e-3)
    assert any("--lr" in s for s in t.suggestions)
    # the same data at a safe rate is fine
    net2 = ffnn.mlp([3, 1], rng=0, dtype=np.float64)
    hist2 = ffnn.fit(net2, X, y, "mse", optimizer="gd", lr=0.5 / lam, batch_size=None, epochs=50)
    assert diagnose(net2, X, y, "mse", hist2)["T"].verdict != "problem"


def test_badly_scaled_sigmoid_network_saturates():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((300, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(float)
    net = ffnn.mlp([2, 32, 32, 1], "sigmoid", rng=0)
    healthy = diagnose(net, X, y, "mse", hessian=False)["S"]
    assert healthy.verdict == "fine"
    net.theta *= 12.0  # every |z| large: σ' ≈ 0
    s = diagnose(net, X, y, "mse", hessian=False)["S"]
    assert s.verdict == "problem"
    assert any("initialization" in t for t in s.suggestions)


def test_saddle_plateau_is_named():
    """Near θ = 0 a tanh network sits on a saddle: ‖∇L‖ ≈ 0, λ_min < 0, and the loss is flat."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((256, 2))
    X -= X.mean(0)
    y = X[:, 0] - X[:, 0].mean()
    net = ffnn.mlp([2, 8, 1], "tanh", rng=0, dtype=np.float64)
    net.theta *= 1e-4
    hist = ffnn.fit(net, X, y, "mse", optimizer="gd", lr=1e-3, batch_size=None, epochs=20)
    d = diagnose(net, X, y, "mse", hist)
    assert d["L"].label == "saddle" and d["L"].verdict == "problem"
    assert d["L"].measurements["lambda_min"] < 0
    assert d["T"].verdict == "problem"


def test_overfitting_past_the_best_validation_epoch():
    rng = np.random.default_rng(3)
    X = rng.uniform(-1, 1, (40, 1))
    y = np.sin(3 * X[:, 0]) + 0.4 * rng.standard_normal(40)
    net = ffnn.mlp([1, 128, 128, 1], "relu", rng=0)
    hist = ffnn.fit(net, X, y, "mse", optimizer="adam", lr=3e-3, epochs=400, validation=0.4,
                    batch_size=None, rng=0)  # fmt: skip
    o = diagnose(net, X, y, "mse", hist, hessian=False)["O"]
    assert o.verdict == "problem", o.measurements
    assert o.measurements["best validation epoch"] < o.measurements["epochs"]
    assert any("--patience" in s for s in o.suggestions)


def test_what_can_still_be_measured():
    net = ffnn.mlp([2, 4, 1], rng=0)
    X = np.random.default_rng(0).standard_normal((50, 2))
    hist = ffnn.fit(net, X, X[:, 0], "mse", epochs=3)  # no validation split
    d = diagnose(net, None, None, "mse", hist)
    assert d["S"].verdict == d["L"].verdict == d["O"].verdict == "unknown"
    assert d["I"].verdict == "fine"
    assert "validation" in d["O"].summary and any("--validation" in s for s in d["O"].suggestions)
    with pytest.raises(FFNNError, match="expects arrays of shape"):
        diagnose(net, np.zeros((5, 3)), np.zeros(5), "mse")
    with pytest.raises(FFNNError, match="rows"):
        diagnose(net, X, X[:10, 0], "mse")


def test_report_round_trips_to_json_and_html(digits_run, tmp_path):
    import json

    net, X, y, hist = digits_run
    d = diagnose(net, X[:200], y[:200], "cross_entropy", hist)
    d.to_json(tmp_path / "d.json")
    back = json.loads((tmp_path / "d.json").read_text())
    assert [f["issue"] for f in back["findings"]] == list("ITSLO")
    assert "<table>" in d._repr_html_() and "overfitting" in d._repr_html_()
    assert isinstance(d, Diagnosis)


def test_cost_counts_the_notes_multiply_adds():
    c = cost(ffnn.mlp([5, 7, 3]))
    assert c["forward"] == 5 * 7 + 7 * 3
    assert c["backward"] == 5 * 7 + 2 * 7 * 3  # no message to the input
    assert c["p"] == 5 * 7 + 7 + 7 * 3 + 3


def test_callback_adds_measurements_to_the_history():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 2))
    y = X[:, 0] ** 2
    net = ffnn.mlp([2, 8, 1], "tanh", rng=0, dtype=np.float64)
    cb = DiagnoseCallback(X, y, "mse", lr=0.05, hessian_every=2)
    hist = ffnn.fit(net, X, y, "mse", lr=0.05, epochs=4, callbacks=[cb])
    assert hist["saturated_1"][0] is not None and hist["full_grad_norm"][-1] > 0
    lam = [v for v in hist["lambda_max"] if v is not None]
    assert len(lam) == 2 and all(v > 0 for v in lam)
    assert hist["lr_lambda_max"][1] == pytest.approx(0.05 * lam[0])
