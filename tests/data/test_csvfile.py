"""CSV files as untrusted data: encodings, delimiter, dropped/unnamed columns, booleans, size."""

import numpy as np
import pytest

from ffnn.data import load_file, read_table
from ffnn.errors import FFNNError

OK = "a,b,target\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n"


def _w(tmp_path, text, encoding="utf-8", name="d.csv"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-be", "utf-32"])
def test_byte_order_marks_choose_the_encoding(tmp_path, encoding):
    text = OK if encoding in ("utf-8-sig", "utf-16", "utf-32") else "\ufeff" + OK
    ds = load_file(_w(tmp_path, text.replace("a,", "ä,"), encoding))
    assert ds.feature_names == ["ä", "b"] and ds.X[:, 0].tolist() == [1, 3, 5, 7]


def test_latin1_is_read_with_a_warning_and_binary_is_refused(tmp_path):
    p = _w(tmp_path, OK.replace("a,", "é,"), "latin-1")
    with pytest.warns(UserWarning, match="not UTF-8; read as Latin-1"):
        ds = load_file(p)
    assert ds.feature_names == ["é", "b"]
    with pytest.raises(FFNNError, match="not a text CSV.*UTF-16/32 without a byte-order mark"):
        load_file(_w(tmp_path, OK, "utf-16-le"))
    with pytest.raises(FFNNError, match="not a text CSV"):
        load_file(_w(tmp_path, OK.replace("3,4", "3\0,4")))


def test_sep_given_or_detected(tmp_path):
    assert load_file(_w(tmp_path, OK.replace(",", ";"))).feature_names == ["a", "b"]
    assert load_file(_w(tmp_path, OK.replace(",", "\t"))).feature_names == ["a", "b"]
    ds = load_file(_w(tmp_path, OK.replace(",", "|")), sep="|")
    assert ds.X.tolist() == [[1, 2], [3, 4], [5, 6], [7, 8]]
    with pytest.raises(FFNNError, match="sep must be one character"):
        load_file(_w(tmp_path, OK), sep="||")
    with pytest.raises(FFNNError, match="CSV files only"):
        np.save(tmp_path / "a.npy", np.ones((3, 3)))
        load_file(tmp_path / "a.npy", sep=",")


def test_drop_ignores_columns_and_names_unknown_ones(tmp_path):
    p = _w(tmp_path, "id,a,note,target\nx,1,hi,0\ny,2,ho,1\nz,3,hu,0\n")
    ds = load_file(p, drop=["id", "note"])
    assert ds.feature_names == ["a"] and ds.X[:, 0].tolist() == [1, 2, 3]
    assert load_file(p, drop="id,note".split(",")).n == 3
    with pytest.raises(FFNNError, match=r"cannot drop \['nope'\]: no such columns.*id, a, note"):
        load_file(p, drop=["nope"])


def test_pandas_index_column_is_dropped_with_a_note(tmp_path):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"a": [5.0, 6.0, 7.0, 8.0], "target": [1, 0, 1, 0]})
    df.to_csv(tmp_path / "p.csv")
    with pytest.warns(UserWarning, match="dropped the unnamed first column.*index=False"):
        ds = load_file(tmp_path / "p.csv")
    assert ds.feature_names == ["a"] and ds.X[:, 0].tolist() == [5, 6, 7, 8]
    with pytest.raises(FFNNError, match="first column has no name.*not a row index.*line 3"):
        load_file(_w(tmp_path, ",a,target\n0,5,1\n7,6,0\n2,7,1\n"))
    with pytest.raises(FFNNError, match="column 2 has no name.*index=False"):
        load_file(_w(tmp_path, "a,,target\n1,5,1\n2,6,0\n"))


def test_booleans_read_as_0_1_and_huge_finite_values_are_kept(tmp_path):
    ds = load_file(_w(tmp_path, "a,b,target\nTrue,1.7e308,0\nfalse,-1.7e308,1\nTRUE,0,0\n"))
    assert ds.X[:, 0].tolist() == [1, 0, 1] and ds.X[:, 1].tolist() == [1.7e308, -1.7e308, 0]
    with pytest.raises(FFNNError, match=r"missing or NaN/inf values \(line 2; a number beyond"):
        load_file(_w(tmp_path, "a,target\n1e400,1\n2,0\n"))


def test_malformed_csv_is_refused_with_the_line(tmp_path):
    with pytest.raises(FFNNError, match="line 2: not valid CSV.*field larger than field limit"):
        load_file(_w(tmp_path, "a,target\n" + "1" * 200_000 + ",1\n"))


def test_size_is_checked_against_the_limit_while_reading(tmp_path, monkeypatch):
    cols = 500
    p = tmp_path / "sparse.csv"
    p.write_text(
        ",".join(f"c{j}" for j in range(cols - 1))
        + ",target\n"
        + ("1" + "," * (cols - 1) + "\n") * 3000
    )
    monkeypatch.setenv("FFNN_MAX_BYTES", "4M")
    with pytest.raises(
        FFNNError,
        match=r"about \d,\d{3} rows × 499 numeric columns and a target.*limit of 4\.0 MiB",
    ):
        read_table(p, need_target=False, target="target")
    monkeypatch.setenv("FFNN_MAX_BYTES", "64M")
    with pytest.raises(FFNNError, match="missing or NaN"):  # fits now: reads, finds the empty cells
        read_table(p, need_target=False, target="target")
