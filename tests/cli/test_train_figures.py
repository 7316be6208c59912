"""`ffnn train` draws the run: loss and accuracy side by side, and the boundary for 2-D data."""

from matplotlib.image import imread

import ffnn
from ffnn.cli import main


def _train(tmp_path, *args):
    out = tmp_path / "run"
    code = main(["train", *args, "--epochs", "3", "--no-progress", "-q", "-o", str(out)])
    assert code == 0
    return out


def test_two_dimensional_data_gets_a_boundary_and_accuracy_beside_the_loss(tmp_path):
    out = _train(tmp_path, "moons", "--n", "120", "--hidden", "8")
    assert (out / "boundary.png").is_file()
    loss = imread(out / "loss.png")
    assert loss.shape[1] > 1.8 * loss.shape[0]  # two panels: the loss, the accuracy


def test_other_data_gets_no_boundary(tmp_path):
    out = _train(tmp_path, "iris", "--hidden", "4")
    assert (out / "loss.png").is_file()
    assert not (out / "boundary.png").exists()


def test_version(capsys):
    try:
        code = main(["--version"])
    except SystemExit as e:  # argparse's version action exits after printing
        code = e.code
    assert code in (0, None)
    assert capsys.readouterr().out.strip() == f"ffnn {ffnn.__version__}"
