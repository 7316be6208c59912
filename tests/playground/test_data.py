"""The 2-D sets, the feature map, and the in-memory CSV reader."""

import numpy as np
import pytest

from ffnn.errors import FFNNError
from ffnn.playground.data import SETS, feature_map, make_set, parse_csv


@pytest.mark.parametrize("name", SETS)
def test_every_set_is_two_dimensional_and_seeded(name):
    a, b = make_set(name, 200, 0.1, 3), make_set(name, 200, 0.1, 3)
    assert a.X.shape == (200, 2) and a.feature_names == ["x1", "x2"]
    np.testing.assert_array_equal(a.X, b.X)
    assert a.task == ("regression" if name == "regression" else "classification")


def test_the_feature_map_is_the_named_functions():
    X = np.array([[1.0, 2.0], [-0.5, 3.0]])
    F = feature_map(X, ["x1", "x2^2", "x1*x2", "sin(x2)"])
    np.testing.assert_allclose(F, [[1, 4, 2, np.sin(2)], [-0.5, 9, -1.5, np.sin(3)]])


def test_a_csv_with_text_labels_becomes_a_classification_set():
    ds = parse_csv(b"a;b;kind\n1;2;cat\n3;4;dog\n5;6;cat\n")
    assert ds.task == "classification" and ds.classes == ["cat", "dog"]
    assert ds.feature_names == ["a", "b"] and ds.X.shape == (3, 2)


def test_a_csv_target_and_features_can_be_chosen():
    text = "y,a,b,c\n" + "".join(f"{i * 0.37:.3f},{i},{i % 3},{-i}\n" for i in range(30))
    ds = parse_csv(text, target="y", features=["c", "a"])
    assert ds.task == "regression" and ds.feature_names == ["c", "a"]
    with pytest.raises(FFNNError, match="no column named 'z'"):
        parse_csv(text, target="z")
    with pytest.raises(FFNNError, match="not usable: y"):
        parse_csv(text, target="y", features=["a", "y"])


@pytest.mark.parametrize(
    "body, says",
    [
        (b"", "not a table"),
        (b"a,b\n1,2\n", "at least two data rows"),
        (b"\xff\xfe\x00bad", "not UTF-8"),
        (b"a,,c\n1,2,3\n4,5,6\n", "name every column"),
        (b"a,b,c\n1,2,3\n4,,6\n7,8,9\n", "missing or non-finite"),
        (b"a,b,c\n1,2,3\n4,inf,6\n7,8,9\n", "missing or non-finite"),
        (b"a,b,c\n1,2,x\n4,5,x\n7,8,x\n", "only one class ('x')"),
    ],
)
def test_bad_csv_files_say_what_is_wrong(body, says):
    with pytest.raises(FFNNError) as e:
        parse_csv(body)
    assert says in str(e.value)


def test_a_table_with_too_many_rows_is_refused():
    body = "a,b,c\n" + "1,2,0\n3,4,1\n" * 2600
    with pytest.raises(FFNNError, match="too large"):
        parse_csv(body)
