"""Learning-rate schedules give the right multipliers, by name, dict, composition and in fit."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ffnn
from ffnn.errors import FFNNError
from ffnn.train import fit
from ffnn.train.schedules import (
    Constant,
    Cosine,
    Exponential,
    InverseTime,
    StepDecay,
    Warmup,
    get_schedule,
)


def test_values():
    assert Constant()(1234) == 1.0
    assert [StepDecay(every=10, factor=0.5)(t) for t in (0, 9, 10, 25)] == [1, 1, 0.5, 0.25]
    assert Exponential(0.5, every=2)(4) == pytest.approx(0.25)
    assert Exponential(0.5, every=2)(1) == pytest.approx(math.sqrt(0.5))
    assert InverseTime(1.0, every=1)(3) == pytest.approx(0.25)
    assert InverseTime(2.0, every=4)(2) == pytest.approx(0.5)
    c = Cosine(100)
    assert (c(0), c(50), c(100), c(500)) == pytest.approx((1.0, 0.5, 0.0, 0.0))
    assert Cosine(100, final=0.1)(100) == pytest.approx(0.1)
    w = Warmup(4, then=Cosine(10))
    assert [w(t) for t in (0, 1, 3)] == pytest.approx([0.25, 0.5, 1.0])
    assert w(4) == pytest.approx(1.0) and w(9) == pytest.approx(0.5) and w(14) == 0.0
    assert Warmup(2, start=0.5)(0) == pytest.approx(0.75)


def test_by_name_and_dict_and_composition():
    assert isinstance(get_schedule(None), Constant)
    cos = get_schedule("cosine", total_steps=200)
    assert cos(100) == pytest.approx(0.5)
    step = get_schedule({"name": "step", "every": 3, "factor": 0.1})
    assert step(7) == pytest.approx(0.01)
    wc = get_schedule("warmup+cosine", total_steps=100)  # warm-up 5 steps, cosine over 95
    assert wc(0) == pytest.approx(0.2) and wc(4) == pytest.approx(1.0)
    assert wc(5 + 95 // 2) == pytest.approx(Cosine(95)(47))
    assert get_schedule("exponential", total_steps=50)(50) == pytest.approx(0.01)
    it = get_schedule("inverse_time", steps_per_epoch=10)
    assert it(10) == pytest.approx(0.5)
    f = lambda t: 0.5  # noqa: E731
    assert get_schedule(f) is f


def test_errors():
    with pytest.raises(FFNNError, match="unknown schedule"):
        get_schedule("sawtooth")
    with pytest.raises(FFNNError, match="warmup"):
        get_schedule("cosine+step")
    with pytest.raises(FFNNError, match="every"):
        StepDecay(every=0)
    with pytest.raises(FFNNError, match="schedule 'step'"):
        get_schedule({"name": "step", "bogus": 1})


def test_fit_records_the_scheduled_rate():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 2))
    y = X @ np.array([1.0, -1.0])
    net = ffnn.mlp([2, 1], output="identity", rng=0, dtype=np.float64)
    hist = fit(
        net,
        X,
        y,
        lr=0.1,
        schedule={"name": "step", "every": 4, "factor": 0.5},
        batch_size=10,
        epochs=3,
        progress=False,
    )
    # 4 steps per epoch; the rate of an epoch's last step (t = 3, 7, 11)
    assert hist["lr"] == pytest.approx([0.1, 0.05, 0.025])
    assert hist["step"] == [4, 8, 12]
