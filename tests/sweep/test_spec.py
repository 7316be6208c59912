import pytest

from ffnn.errors import FFNNError
from ffnn.sweep.spec import cell_key, expand, load_spec


def _spec(tmp_path, text):
    p = tmp_path / "s.toml"
    p.write_text(text)
    return p


def test_grid_times_seeds_with_resolved_parameters(tiny_spec):
    cells = expand(load_spec(tiny_spec()))
    assert len(cells) == 8
    assert len({c.key for c in cells}) == 8
    c = cells[0]
    assert c.params["hidden"] == [4] and "width" not in c.params
    assert c.params["optimizer"] == "adam" and c.params["epochs"] == 5  # defaults filled
    assert c.label == {"width": 4, "lr": 0.01}
    assert [c.seed for c in cells[:2]] == [0, 1]


def test_keys_hash_resolved_parameters():
    a = expand(load_spec({"fixed": {"data": "iris"}, "grid": {"hidden": [[8, 8]]}}))
    b = expand(load_spec({"grid": {"depth": [2], "width": [8], "data": ["iris"]}}))
    c = expand(load_spec({"fixed": {"data": "iris", "epochs": 300}, "grid": {"hidden": [[8, 8]]}}))
    assert a[0].key == b[0].key == c[0].key  # the same run however it is written
    d = expand(load_spec({"fixed": {"data": "iris"}, "grid": {"hidden": [[8, 9]]}}))
    assert d[0].key != a[0].key
    assert cell_key("train", None, a[0].params, 1, False) != a[0].key


def test_random_samples_deterministic_and_in_range():
    spec = {
        "sweep": {"seeds": [3], "sample_seed": 7},
        "grid": {"width": [4, 8]},
        "random": {
            "samples": 5,
            "lr": {"log_uniform": [1e-4, 1e-1]},
            "batch_size": {"choice": [8, "full"]},
            "epochs": {"int_uniform": [2, 4]},
        },
    }
    cells = expand(load_spec(spec))
    assert len(cells) == 10
    assert [c.key for c in cells] == [c.key for c in expand(load_spec(spec))]
    assert all(1e-4 <= c.params["lr"] <= 1e-1 for c in cells)
    assert all(2 <= c.params["epochs"] <= 4 for c in cells)
    assert {c.params["batch_size"] for c in cells} <= {8, None}
    assert len({c.params["lr"] for c in cells}) == 5


@pytest.mark.parametrize(
    "text, words",
    [
        ("[fixed]\ndata = 'iris'\nepochz = 3\n", ["fixed.epochz", "line 3", "unknown option"]),
        ("[grid]\n\nlr = ['fast', 0.1]\n", ["grid.lr", "line 3", "number"]),
        ("[grid]\nlr = []\n", ["grid.lr", "line 2", "empty"]),
        ("[sweep]\nseeds = 2\n[grid]\n", ["[grid]", "line 3", "empty"]),
        ("[sweep]\nseed = 2\n", ["sweep.seed", "line 2", "unknown key"]),
        ("[grids]\nlr = [1]\n", ["[grids]", "line 1", "unknown table"]),
        ("[fixed]\nactivation = 'relux'\n", ["fixed.activation", "line 2", "relux"]),
        ("[grid]\nlr = 0.1\n", ["grid.lr", "line 2", "list"]),
        ("[grid]\nhidden = [[8]]\nwidth = [4]\n", ["grid.width", "line 3", "not both"]),
        ("[random]\nsamples = 2\nlr = { normal = [0, 1] }\n", ["random.lr", "line 3"]),
        ("[random]\nlr = { uniform = [0.1, 0.2] }\n", ["random.samples", "samples = N"]),
        ("[sweep]\nx = 'lr'\n[grid]\nwidth = [1]\n", ["sweep.x", "line 2", "not swept"]),
        ("[grid]\nbatch_size = [8, 'half']\n", ["grid.batch_size", "integer"]),
        ("[fixed]\nseed = 3\n", ["fixed.seed", "seeds"]),
        ("[grid\nlr = 1\n", ["not valid TOML", "line 1"]),
    ],
)
def test_bad_spec_names_key_and_line(tmp_path, text, words):
    with pytest.raises(FFNNError) as e:
        load_spec(_spec(tmp_path, text))
    msg = str(e.value)
    for w in words:
        assert w in msg, msg
    assert "\n" not in msg


def test_unknown_lab_experiment_refused():
    with pytest.raises(FFNNError, match="no-such-experiment"):
        load_spec({"sweep": {"kind": "lab", "experiment": "no-such-experiment"}})
