"""The experiments' one shape: parameters checked, results a function of (name, params, seed)."""

import json

import numpy as np
import pytest

import ffnn.lab
from ffnn.errors import FFNNError
from ffnn.lab import EXPERIMENTS, Experiment, Param, get_experiment
from ffnn.lab._params import parse_settings, resolve


def test_every_experiment_declares_the_shape():
    assert len(EXPERIMENTS) >= 19
    for name, exp in EXPERIMENTS.items():
        assert isinstance(exp, Experiment) and exp.name == name and exp.claim and exp.doc
        names = [p.name for p in exp.params]
        assert len(names) == len(set(names)) and "seed" not in names
        for p in exp.params:
            assert p.help, (name, p.name)


def test_values_are_converted_and_checked():
    specs = (
        Param("width", int, 8, 2, "w"),
        Param("lr", float, 0.1),
        Param("widths", list[int], (1, 2), (1,)),
        Param("adam", bool, True, False),
    )
    p = resolve(specs, {"width": "512", "lr": 1, "widths": "16, 64"}, quick=True, where="x")
    assert (p.width, p.lr, p.widths, p.adam) == (512, 1.0, (16, 64), False)
    assert isinstance(p.lr, float) and dict(p)["widths"] == (16, 64)
    assert resolve(specs, {"adam": "no"}, quick=False, where="x").adam is False
    for bad in ({"width": "wide"}, {"width": 2.5}, {"width": True}, {"widths": "1,a"},
                {"widths": []}, {"adam": 1}, {"lr": "fast"}):  # fmt: skip
        key = next(iter(bad))
        with pytest.raises(FFNNError, match=repr(key)):
            resolve(specs, bad, quick=False, where="x")
    with pytest.raises(FFNNError, match="'depth'.*width, lr, widths, adam"):
        resolve(specs, {"depth": 3}, quick=False, where="x")


def test_settings_from_the_command_line():
    assert parse_settings(["width=512", "widths=1,2"]) == {"width": "512", "widths": "1,2"}
    with pytest.raises(FFNNError, match="NAME=VALUE"):
        parse_settings(["width"])


def test_run_is_a_function_of_name_params_and_seed():
    params = {"pieces": [1, 2, 4]}
    a = ffnn.lab.run("pwl-exact", params, seed=3, progress=False)
    b = ffnn.lab.run("pwl-exact", params, seed=3, progress=False)
    c = ffnn.lab.run("pwl-exact", params, seed=4, progress=False)
    assert a.rows == b.rows and a.summary == b.summary and a.files == []
    assert a.rows != c.rows
    assert a.agrees and a.params == {"pieces": (1, 2, 4)} and a.seed == 3
    assert [r["pieces"] for r in a.rows] == [1, 2, 4]


def test_params_override_quick_values_and_reach_the_files(tmp_path):
    exp = get_experiment("depth-vs-width")
    assert exp.resolve(quick=True).max_depth == 6 and exp.resolve().max_depth == 12
    res = exp.run(tmp_path, quick=True, progress=False, params={"max_depth": 3}, seed=1)
    assert [r["k"] for r in res.rows] == [1, 2, 3] and res.agrees
    data = json.loads((tmp_path / "depth-vs-width.json").read_text())
    assert data["params"] == {"max_depth": 3} and data["seed"] == 1
    assert data["tolerance"] == res.tolerance != "" and "tolerance:" in res.verdict()
    assert (tmp_path / "depth-vs-width.png").read_bytes()[:4] == b"\x89PNG"


def test_bad_values_are_refused_before_measuring():
    with pytest.raises(FFNNError, match="'max_depth'"):
        ffnn.lab.run("depth-vs-width", {"max_depth": "deep"})
    with pytest.raises(FFNNError, match="no parameter 'width'.*max_depth"):
        ffnn.lab.run("depth-vs-width", {"width": 3})
    with pytest.raises(FFNNError, match="seed"):
        ffnn.lab.run("depth-vs-width", seed=1.5)
    with pytest.raises(FFNNError, match="unknown experiment"):
        ffnn.lab.run("no-such-experiment")


def test_progress_bar_shows_when_asked(capsys):
    ffnn.lab.run("relu-interpolation", {"knots": [4, 8, 16]}, progress=True)
    assert "relu-interpolation: knots" in capsys.readouterr().err
    ffnn.lab.run("relu-interpolation", {"knots": [4, 8, 16]}, progress=False)
    assert capsys.readouterr().err == ""


def test_a_new_experiment_needs_only_the_shape(tmp_path):
    class Coin(Experiment):
        """Fraction of heads in n fair flips."""

        name, claim = "coin", "a fair coin lands heads half the time"
        params = (Param("n", int, 4000, 400, "flips"),)

        def measure(self, p, seed, progress):
            x = np.random.default_rng(seed).integers(0, 2, p.n)
            return {"rows": [{"n": p.n, "heads": float(x.mean())}]}

        def verdict(self, data):
            h, n = data["rows"][0]["heads"], data["rows"][0]["n"]
            tol = 4 * 0.5 / np.sqrt(n)
            return abs(h - 0.5) < tol, f"heads {h:.3f}", f"|h − 1/2| < 4 SE = {tol:.3f}"

        def figure(self, data, fig):
            fig.subplots().bar([0], [data["rows"][0]["heads"]])

    res = Coin().run(tmp_path, quick=True, progress=False)
    assert res.agrees and res.rows[0]["n"] == 400
    assert {f.name for f in res.files} == {"coin.png", "coin.csv", "coin.json"}


def test_a_function_registered_the_old_way_still_runs(tmp_path):
    from ffnn.lab import ExperimentResult, experiment

    @experiment("old-style-test", claim="one function still registers")
    def old(out_dir, *, quick=False, progress=True):
        """An experiment written before the one shape."""
        return ExperimentResult("old-style-test", "one function still registers", quick, "ok")

    try:
        exp = get_experiment("old-style-test")
        assert exp.doc.startswith("An experiment") and exp.run(tmp_path, quick=True).agrees
        with pytest.raises(FFNNError, match="no parameters"):
            exp.run(tmp_path, params={"n": 1})
    finally:
        del EXPERIMENTS["old-style-test"]
