import math

import numpy as np
from matplotlib.axes import Axes

from ffnn.sweep.summary import format_summary, metric_names, plot_metric, summarize


def _rows():
    rows = []
    for width, accs in ((4, [0.5, 0.7, 0.6]), (16, [0.9, 0.8, 1.0])):
        for seed, a in enumerate(accs):
            rows.append({"seed": seed, "width": width, "test_accuracy": a, "status": "ok"})
    rows.append({"seed": 9, "width": 16, "test_accuracy": 0.0, "status": "error"})
    return rows


def test_mean_and_standard_error_over_seeds():
    s = summarize(_rows(), ["width"], ["test_accuracy"])
    by = {r["width"]: r for r in s}
    assert by[4]["n_seeds"] == 3 and by[16]["n_seeds"] == 3  # the failed cell left out
    assert math.isclose(by[4]["test_accuracy"], 0.6)
    se = np.std([0.9, 0.8, 1.0], ddof=1) / np.sqrt(3)
    assert math.isclose(by[16]["test_accuracy_se"], se)
    text = format_summary(s, ["width"], ["test_accuracy"])
    assert "0.6 ± 0.058" in text and "0.9 ± 0.058" in text


def test_one_seed_has_no_error_bar():
    s = summarize([{"width": 1, "m": 2.0, "status": "ok"}], ["width"], ["m"])
    assert math.isnan(s[0]["m_se"]) and "±" not in format_summary(s, ["width"], ["m"])


def test_metric_names_from_records():
    recs = [{"metrics": {"test_loss": 0.1, "stop_reason": "max_epochs", "agrees": True}}]
    assert metric_names(recs) == ["test_loss", "agrees"]


def test_plot_draws_error_bars_on_a_figure(tmp_path):
    rows = [dict(r, lr=lr) for r in _rows() for lr in (0.01, 0.1)]
    s = summarize(rows, ["width", "lr"], ["test_accuracy"])
    ax = plot_metric(s, "test_accuracy", "width", ["width", "lr"])
    assert isinstance(ax, Axes)
    assert len(ax.containers) == 2  # one errorbar line per learning rate
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["lr=0.01", "lr=0.1"]
    ax.figure.savefig(tmp_path / "s.png")
    assert (tmp_path / "s.png").stat().st_size > 1000


def test_plot_against_a_list_valued_parameter():
    rows = [
        {"hidden": h, "m": v, "status": "ok", "seed": i}
        for i, (h, v) in enumerate([([4], 1.0), ([4], 2.0), ([8, 8], 3.0)])
    ]
    s = summarize(rows, ["hidden"], ["m"])
    ax = plot_metric(s, "m", "hidden", ["hidden"])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["4", "8,8"]


def test_report_of_a_seeds_only_sweep(tmp_path):
    from ffnn.sweep import report, sweep

    spec = {"sweep": {"seeds": 3}, "fixed": {"data": "iris", "epochs": 2, "hidden": [3]}}
    res = sweep(spec, tmp_path / "out", jobs=1, progress=False)
    text, ax = report(res)
    lines = text.splitlines()
    assert len(lines) == 2 and lines[1].split()[0] == "3"  # one row: the mean over 3 seeds
    assert "±" in lines[1]
    assert ax.get_xlabel() == "seed"
    assert len(ax.containers[0].lines[0].get_xdata()) == 3
