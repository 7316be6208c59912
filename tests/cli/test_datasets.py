"""ffnn datasets: every built-in data set, one line each."""

from ffnn.data import DATASETS


def test_datasets_lists_every_builtin_set(run):
    rc, out, _ = run("datasets")
    assert rc == 0 and "digits" in out and "mnist1d" in out
    assert len(out.strip().splitlines()) == len(DATASETS)
