"""Two ReLUs make a ramp (a sigmoidal unit), four make a bump, exactly."""

import numpy as np
import pytest

from ffnn.errors import FFNNError
from ffnn.lab.two_relus import bump, bump_network_relu, ramp, ramp_network


def test_ramp_and_bump_networks_equal_their_formulas():
    x = np.linspace(-3, 3, 1201)
    net = ramp_network(-0.5, 1.0)
    assert net.widths == [1, 2, 1]
    np.testing.assert_allclose(net(x[:, None])[:, 0], ramp(x, -0.5, 1.0), atol=1e-15)
    np.testing.assert_allclose(net(np.array([[-50.0], [50.0]]))[:, 0], [0, 1], atol=1e-14)
    b = bump_network_relu(-1, -0.5, 0.5, 2)
    assert b.widths == [1, 4, 1]
    np.testing.assert_allclose(b(x[:, None])[:, 0], bump(x, -1, -0.5, 0.5, 2), atol=1e-15)
    assert bump(np.array([-2.0, 0.0, 2.5]), -1, -0.5, 0.5, 2).tolist() == [0.0, 1.0, 0.0]


def test_bad_breakpoints_are_refused():
    with pytest.raises(FFNNError, match="a < b"):
        ramp_network(1.0, 1.0)
    with pytest.raises(FFNNError, match="a < b <= c < d"):
        bump_network_relu(0, 1, 0.5, 2)
