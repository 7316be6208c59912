"""The run folder's files: the loss figure marks a restored epoch only when one was restored."""

import pytest

from ffnn.errors import FFNNError
from ffnn.runs import RunConfig, loss_figure, output_folder, prepare_run, train_prepared
from ffnn.train import History


def _labels(fig):
    return [t.get_text() for t in fig.axes[0].get_legend().get_texts()]


def _history():
    recs = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1 / e + (e - 2) ** 2} for e in (1, 2, 3)]
    return History(recs, best_epoch=2)


def test_best_restored_is_marked_only_when_restored():
    assert "best (restored)" in _labels(loss_figure(_history(), "t", restored=True))
    assert _labels(loss_figure(_history(), "t", restored=False)) == ["train", "validation"]


@pytest.mark.parametrize("patience,marked", [(0, False), (20, True)])
def test_a_run_restores_only_with_early_stopping(tmp_path, monkeypatch, patience, marked):
    import ffnn.runs.files as files

    seen = {}
    real = files.plot_losses

    def spy(history, path, title, *, restored=False):
        seen["restored"] = restored
        real(history, path, title, restored=restored)

    monkeypatch.setattr(files, "plot_losses", spy)
    cfg = RunConfig("iris", epochs=3, hidden=[4], patience=patience, out=str(tmp_path / "r"))
    result = train_prepared(prepare_run(cfg))
    assert seen["restored"] is marked
    assert ("restored the weights" in result.history.message) is marked


def test_an_input_inside_the_run_folder_is_not_overwritten(tmp_path):
    f = tmp_path / "history.csv"
    f.write_text("a,b,label\n1,2,0\n3,4,1\n")
    with pytest.raises(FFNNError, match="would overwrite the input"):
        output_folder(RunConfig(str(f), out=str(tmp_path), force=True), "history")
