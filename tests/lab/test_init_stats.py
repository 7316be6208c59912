import numpy as np
import pytest

import ffnn
from ffnn import Init
from ffnn.lab.init_stats import (
    jacobian_norms,
    layer_statistics,
    mean_field,
    predicted_log_variance,
    relu_log_variance,
)


def test_mean_field_relu_and_tanh():
    q, chi = mean_field("relu", 2.0, 0.0, 5, q0=1.5)
    np.testing.assert_allclose(q, 3.0)
    np.testing.assert_allclose(chi, 1.0)
    q, _ = mean_field("relu", 1.0, 0.0, 4, q0=1.0)
    np.testing.assert_allclose(q, 0.5 ** np.arange(5))
    _, chi = mean_field("tanh", 0.5, 0.0, 30)
    assert chi[-1] == pytest.approx(0.5, abs=1e-3)  # q → 0, χ → C_W


def test_layer_statistics_follow_mean_field():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 16))
    net = ffnn.mlp(
        [16, 512, 512, 512, 1], "tanh", init=Init(1.5, C_b=0.05), rng=0, dtype=np.float64
    )
    st = layer_statistics(net, X)
    q_mf, _ = mean_field("tanh", 1.5, 0.05, 3, q0=float(np.mean(X * X)))
    # hidden layers (the single output unit is one sample, not an average)
    np.testing.assert_allclose(st.q_z[:3], q_mf[:3], rtol=0.15)
    assert st.q_delta[-1] == pytest.approx(1.0)
    assert st.q_x.shape == (3,)


def test_relu_log_variance_tends_to_5_over_n():
    assert relu_log_variance(1024) * 1024 == pytest.approx(5.0, rel=0.02)
    assert relu_log_variance(16) * 16 > 5.5


def test_jacobian_fluctuation_grows_with_depth():
    v = [np.log(jacobian_norms([8] + [16] * L + [1], 300, rng=L)).var() for L in (1, 4, 12)]
    assert v[0] < v[1] < v[2]
    pred = predicted_log_variance([8] + [16] * 12 + [1])
    assert v[2] == pytest.approx(pred, rel=0.25)
