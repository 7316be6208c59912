"""Notebooks run in a real Jupyter kernel (nbclient): the library's faces in a notebook.

The first test is the notebook a new user would write: run a lab experiment, then their own
``plt.plot`` must still render inline (nothing switched the backend); ``net`` and ``history``
display as HTML; ``fit`` shows a progress bar without warnings; ``history.plot()`` returns an
Axes and draws; ``LivePlot`` keeps one output and updates it in place. Then every tutorial of
the documentation runs without an error.
"""

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

TUTORIALS = sorted((Path(__file__).parents[2] / "docs" / "tutorials").glob("*.ipynb"))

CELLS = [
    # 0: an experiment of the lab (it draws its own figure and writes it to a file)
    "import tempfile\n"
    "import numpy as np\n"
    "import matplotlib.pyplot as plt\n"
    "import ffnn, ffnn.plot\n"
    "from ffnn.lab import get_experiment\n"
    "r = get_experiment('depth-vs-width').run(tempfile.mkdtemp(), quick=True, progress=False)\n"
    "print('agrees', r.agrees)",
    # 1: the user's own figure afterwards
    "plt.plot([0, 1, 2], [2, 0, 1]); plt.show()",
    # 2: a network displays as HTML
    "net = ffnn.mlp([2, 8, 2], 'relu', output='softmax', rng=0)\nnet",
    # 3: fit with the default progress setting, and the history displays as HTML
    "X = np.random.default_rng(0).standard_normal((64, 2)); y = (X[:, 0] > 0).astype(int)\n"
    "history = ffnn.fit(net, X, y, 'cross_entropy', epochs=5, validation=0.25)\nhistory",
    # 4: history.plot() returns an Axes (and the figure shows inline)
    "ax = history.plot()\nprint(type(ax).__name__)",
    # 5: a live plot: one output, updated in place
    "lp = ffnn.plot.LivePlot(interval=0)\n"
    "_ = ffnn.fit(net, X, y, 'cross_entropy', epochs=4, callbacks=[lp], progress=False)",
]


def _run(nb, tmp_path):
    """Execute in a fresh kernel that imports the same ffnn as these tests."""
    import ffnn

    src = str(Path(ffnn.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute(env=env)
    return nb


def _outputs(cell, kind):
    return [o for o in cell.outputs if kind in o.get("data", {})]


def test_a_notebook_session(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    cells = _run(nb, tmp_path).cells

    assert "agrees True" in cells[0].outputs[0]["text"]
    assert len(_outputs(cells[1], "image/png")) == 1, "plt.plot after an experiment shows nothing"
    html = _outputs(cells[2], "text/html")
    assert html and "<table" in html[0]["data"]["text/html"]
    assert "(batch, 8)" in html[0]["data"]["text/html"]
    html = _outputs(cells[3], "text/html")
    assert html and "History" in html[0]["data"]["text/html"]
    stderr = "".join(o.get("text", "") for o in cells[3].outputs if o.get("name") == "stderr")
    assert "epoch" in stderr, "fit showed no progress bar in the notebook"
    assert "Warning" not in stderr, stderr
    printed = "".join(o.get("text", "") for o in cells[4].outputs if o.get("name") == "stdout")
    assert printed.strip() == "Axes"
    assert len(_outputs(cells[4], "image/png")) == 1
    assert len(_outputs(cells[5], "image/png")) == 1  # updated in place, not appended


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    _run(nb, tmp_path)  # raises CellExecutionError on the first cell that fails
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.execution_count for c in code)


def test_there_is_a_tutorial_per_lecture():
    notes = sorted((Path(__file__).parents[2] / "docs" / "tutorials").glob("0*_*.ipynb"))
    assert [p.name[:2] for p in notes] == ["00", "01", "02", "03", "04"]
