import numpy as np
import pytest

from ffnn.data import load_data, load_file, read_table
from ffnn.errors import FFNNError


def write(path, text):
    path.write_text(text)
    return path


def test_csv_with_string_labels(tmp_path):
    p = write(tmp_path / "d.csv", "a,b,kind\n1,2,cat\n3,4,dog\n5,6,cat\n7,8,dog\n")
    ds = load_file(p, target="kind")
    assert ds.X.tolist() == [[1, 2], [3, 4], [5, 6], [7, 8]]
    assert ds.task == "classification" and ds.classes == ["cat", "dog"]
    assert ds.y.tolist() == [0, 1, 0, 1] and ds.feature_names == ["a", "b"]


def test_csv_default_target_column_and_regression(tmp_path):
    rows = "\n".join(f"{i},{0.5 * i + 0.1}" for i in range(30))
    ds = load_data(write(tmp_path / "r.csv", "x,y\n" + rows + "\n"))
    assert ds.task == "regression" and ds.target_name == "y"
    assert np.allclose(ds.y[:3], [0.1, 0.6, 1.1])


def test_csv_needs_target_name(tmp_path):
    p = write(tmp_path / "d.csv", "a,b,c\n1,2,3\n4,5,6\n")
    with pytest.raises(FFNNError, match="which column is the target.*a, b, c"):
        load_file(p)
    with pytest.raises(FFNNError, match="no column named 'z'"):
        load_file(p, target="z")


def test_csv_errors(tmp_path):
    with pytest.raises(FFNNError, match="header"):
        load_file(write(tmp_path / "h.csv", "1,2,3\n4,5,6\n"), target="3")
    with pytest.raises(FFNNError, match="column 'color' is not numeric.*line 3"):
        load_file(write(tmp_path / "s.csv", "color,y\n1,0\nred,1\n"), target="y")
    with pytest.raises(FFNNError, match="column .a. has 1 missing.*line 3"):
        load_file(write(tmp_path / "m.csv", "a,y\n1,0\n,1\n3,0\n"), target="y")
    with pytest.raises(FFNNError, match="empty"):
        load_file(write(tmp_path / "e.csv", ""), target="y")
    with pytest.raises(FFNNError, match="no data rows"):
        load_file(write(tmp_path / "o.csv", "a,y\n"), target="y")
    with pytest.raises(FFNNError, match="only one class"):
        load_file(write(tmp_path / "c.csv", "a,y\n1,k\n2,k\n"), target="y")
    with pytest.raises(FFNNError, match="no such file"):
        load_file(tmp_path / "missing.csv")


def test_csv_feature_selection_for_a_model(tmp_path):
    p = write(tmp_path / "d.csv", "b,extra,a\n2,9,1\n4,9,3\n")
    t = read_table(p, features=["a", "b"], need_target=False)
    assert t.X.tolist() == [[1, 2], [3, 4]] and t.y is None
    with pytest.raises(FFNNError, match="lacks: c"):
        read_table(p, features=["a", "c"], need_target=False)


def test_npz_and_npy(tmp_path):
    X = np.arange(12.0).reshape(6, 2)
    y = np.array([0, 1, 0, 1, 0, 1])
    np.savez(tmp_path / "d.npz", X=X, y=y)
    ds = load_file(tmp_path / "d.npz")
    assert np.array_equal(ds.X, X) and ds.y.tolist() == y.tolist()
    np.savez(tmp_path / "k.npz", inputs=X, out=y)
    ds = load_file(tmp_path / "k.npz", target="out", x_key="inputs")
    assert ds.n == 6
    with pytest.raises(FFNNError, match="no array 'X'.*inputs"):
        load_file(tmp_path / "k.npz")
    np.save(tmp_path / "a.npy", np.column_stack([X, y]))
    ds = load_file(tmp_path / "a.npy")
    assert np.array_equal(ds.X, X) and ds.task == "classification"
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", X.sum(1) + 0.5)
    ds = load_file(tmp_path / "x.npy", target=str(tmp_path / "y.npy"))
    assert ds.task == "regression" and np.array_equal(ds.X, X)


def test_unknown_extension(tmp_path):
    with pytest.raises(FFNNError, match="unknown file type"):
        load_file(write(tmp_path / "d.json", "{}"))
