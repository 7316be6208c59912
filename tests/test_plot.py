"""ffnn.plot: each function draws what it is given into the given Axes and returns it."""

import os
import subprocess
import sys

import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

import ffnn
from ffnn.errors import FFNNError
from ffnn.plot import (
    LivePlot,
    history_figure,
    plot_boundary,
    plot_distributions,
    plot_history,
    plot_saturation,
    save_run_figures,
)
from ffnn.train import History


def _ax():
    return Figure().add_subplot()


def _history(n=5, val=True):
    recs = []
    for e in range(1, n + 1):
        r = {"epoch": e, "train_loss": 1.0 / e, "train_accuracy": 0.5 + 0.05 * e}
        if val:
            r |= {"val_loss": 1.5 / e, "val_accuracy": 0.4 + 0.05 * e}
        recs.append(r)
    return History(recs, stop_reason="max_epochs", best_epoch=n if val else None)


def test_plot_history_draws_train_and_val_into_the_given_axes():
    ax = _ax()
    h = _history()
    assert plot_history(h, ax) is ax
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    assert set(lines) == {"train loss", "validation loss", "best epoch"}
    np.testing.assert_allclose(lines["validation loss"].get_ydata(), h["val_loss"])
    np.testing.assert_allclose(lines["train loss"].get_xdata(), h["epoch"])
    assert ax.get_yscale() == "log"
    plot_history(h, ax2 := _ax(), "accuracy")
    assert ax2.get_yscale() == "linear"
    assert len(ax2.get_lines()) == 3


def test_plot_history_errors_name_the_columns():
    with pytest.raises(FFNNError, match="train_loss"):
        plot_history(_history(), _ax(), "r2")
    with pytest.raises(FFNNError, match="empty"):
        plot_history(History(), _ax())


def test_history_methods():
    h = _history()
    assert isinstance(h.plot(), Axes)
    assert h.keys() == ["epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy"]
    df = h.to_pandas()
    assert list(df.index) == [1, 2, 3, 4, 5]
    np.testing.assert_allclose(df["train_loss"], h["train_loss"])
    html = h._repr_html_()
    assert "<table" in html and "<svg" in html and "max_epochs" in html


def test_history_figure_one_panel_per_metric():
    fig = history_figure(_history(), title="t")
    assert [a.get_title() for a in fig.axes] == ["loss", "accuracy"]


def _two_class_net(output="softmax"):
    """z = (−x_1, x_1): class 1 where x_1 > 0, class 0 where x_1 < 0."""
    if output == "softmax":
        W = np.array([[-5.0, 0.0], [5.0, 0.0]])
        return ffnn.from_weights([(W, np.zeros(2))], output="softmax")
    return ffnn.from_weights([(np.array([[5.0, 0.0]]), np.zeros(1))], output="sigmoid")


@pytest.mark.parametrize("output", ["softmax", "sigmoid"])
def test_boundary_colours_each_side_by_the_predicted_class(output):
    import matplotlib as mpl

    X = np.array([[-2.0, -1.0], [2.0, 1.0], [-1.0, 1.0], [1.0, -1.0]])
    y = np.array([0, 1, 0, 1])
    ax = _ax()
    assert plot_boundary(_two_class_net(output), X, y, ax, resolution=41) is ax
    img = np.asarray(ax.images[0].get_array())
    c0, c1 = mpl.colormaps["tab10"]([0, 1])[:, :3]
    left, right = img[20, 2], img[20, -3]

    def nearer(px, a, b):  # compare hue, not lightness: project out the grey component
        def hue(c):
            return c - c.mean()

        return np.linalg.norm(hue(px) - hue(a)) < np.linalg.norm(hue(px) - hue(b))

    assert nearer(left, c0, c1) and nearer(right, c1, c0)
    assert len(ax.collections) >= 2  # the boundary contour and the points
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["0", "1"]


def test_boundary_of_a_regression_is_its_surface_with_a_colorbar():
    net = ffnn.from_weights([(np.array([[1.0, 2.0]]), np.array([0.5]))], output="identity")
    X = np.array([[0.0, 0.0], [1.0, 1.0]])
    ax = _ax()
    plot_boundary(net, X, net(X)[:, 0], ax, resolution=30)
    levels = ax.collections[0].levels
    lo, hi = net(np.array([[-0.08, -0.08], [1.08, 1.08]]))[:, 0]
    assert levels[0] <= lo + 1e-9 and levels[-1] >= hi - 1e-9
    assert len(ax.figure.axes) == 2  # the colour bar


def test_boundary_with_a_preprocessor_maps_inputs_and_labels():
    from ffnn.data import Preprocessor, load_dataset

    ds = load_dataset("moons", n=60, rng=0)
    ds.X[:] = ds.X * 10 + 100  # far from the network's standardized inputs
    pre = Preprocessor().fit(ds)
    net = ffnn.mlp([2, 8, 2], "tanh", output="softmax", rng=0)
    ax = plot_boundary(net, ds.X, np.array(ds.classes)[ds.y], _ax(), preprocess=pre)
    assert ax.get_xlim()[0] < ds.X[:, 0].min() < ds.X[:, 0].max() < ax.get_xlim()[1]


def test_boundary_refuses_what_it_cannot_draw():
    with pytest.raises(FFNNError, match=r"\(n, 2\)"):
        plot_boundary(ffnn.mlp([3, 2], output="softmax"), np.zeros((4, 3)), None, _ax())
    with pytest.raises(FFNNError, match="2 identity outputs"):
        plot_boundary(ffnn.mlp([2, 2]), np.zeros((4, 2)), None, _ax())


def test_distributions_one_histogram_per_layer():
    net = ffnn.mlp([3, 8, 6, 2], "tanh", rng=0)
    X = np.random.default_rng(0).standard_normal((50, 3))
    z, trace = net.forward(X)
    with pytest.raises(FFNNError, match="backward"):
        plot_distributions(trace, _ax(), "delta")
    net.backward(trace, z - 1)
    for which, n in (("z", 3), ("x", 2), ("delta", 3)):
        ax = plot_distributions(trace, _ax(), which)
        assert len(ax.patches) == n
    ax = plot_distributions(trace, _ax(), "z", layers=[2])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["layer 2"]
    with pytest.raises(FFNNError, match="which"):
        plot_distributions(trace, _ax(), "W")


def test_saturation_bars_are_the_measured_shares():
    from ffnn.lab.saturation import saturation

    net = ffnn.mlp([3, 16, 16, 1], "sigmoid", rng=0)
    X = 30 * np.random.default_rng(1).standard_normal((40, 3))  # badly scaled: saturated
    ax = plot_saturation(net, X, _ax())
    heights = [p.get_height() for p in ax.patches]
    stats = saturation(net, X)
    assert heights == [s.fraction for s in stats] + [s.dead for s in stats]
    assert max(heights) > 0.3


def test_live_plot_outside_a_notebook_keeps_records():
    lp = LivePlot()
    net = ffnn.mlp([1, 4, 1], rng=0)
    X = np.linspace(-1, 1, 16)[:, None]
    h = ffnn.fit(net, X, X, epochs=3, callbacks=[lp], progress=False)
    assert lp.history["train_loss"] == h["train_loss"]
    assert isinstance(lp.figure(), Figure)


def test_plotting_never_imports_pyplot_or_switches_the_backend():
    code = (
        "import sys, matplotlib; import numpy as np, ffnn;"
        "from ffnn.plot import plot_history, plot_boundary; from ffnn.train import History;"
        "h = History([{'epoch': 1, 'train_loss': 1.0}, {'epoch': 2, 'train_loss': 0.5}]);"
        "ax = plot_history(h); net = ffnn.mlp([2, 3], output='softmax');"
        "plot_boundary(net, np.zeros((3, 2)) + [[0, 0], [1, 1], [2, 0]], [0, 1, 2]);"
        "from ffnn.lab.spectrum import draw_spectrum;"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported';"
        "assert matplotlib.get_backend() == 'svg'; print(type(ax.figure).__name__)"
    )
    env = {**os.environ, "MPLBACKEND": "svg"}  # the user's choice, which must survive
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "Figure"


def test_save_run_figures_writes_loss_and_a_boundary_for_2d_inputs(tmp_path):
    from matplotlib.image import imread

    h = _history()
    net = _two_class_net()
    X, y = np.array([[-1.0, 0.0], [1.0, 0.5], [0.5, -1.0]]), np.array([0, 1, 1])
    files = save_run_figures(tmp_path, h, net, X, y, title="run")
    assert files == ["loss.png", "boundary.png"]
    loss = imread(tmp_path / "loss.png")
    assert loss.shape[1] > 1.8 * loss.shape[0]  # the loss and the accuracy side by side
    assert save_run_figures(tmp_path / "b", h, ffnn.mlp([3, 2]), np.zeros((4, 3))) == ["loss.png"]
    assert save_run_figures(tmp_path / "c", History()) == []
