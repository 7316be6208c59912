"""Halfspace, NTK kernel regression and a trained network on the disc; width against error."""

import numpy as np

from ffnn.lab.learners import LEARNERS, compare_learners, disc_data, width_error


def test_on_the_disc_kernels_and_networks_beat_a_halfspace():
    rng = np.random.default_rng(0)
    X, y = disc_data(120, rng)
    Xt, yt = disc_data(400, rng)
    assert 0.4 < yt.mean() < 0.6
    res = compare_learners(X, y, Xt, yt, seed=0, width=32, epochs=600)
    assert set(res) == set(LEARNERS)
    acc = {k: v[0] for k, v in res.items()}
    assert acc["linear"] < 0.7 and acc["ntk"] > 0.85 and acc["network"] > 0.85
    assert res["ntk"][1](Xt[:5]).dtype == bool


def test_wider_trained_networks_approximate_better():
    err = width_error([1, 16], 0, n_train=40, epochs=800)
    assert err[1] < 0.3 * err[0]
