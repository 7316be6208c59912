"""``ffnn lab NAME --set K=V --seed N`` and ``--params`` drive the experiments' parameters."""

import json

from ffnn import cli


def run(capsys, *argv):
    rc = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_lab_params_lists_names_types_defaults(capsys):
    rc, out, _ = run(capsys, "lab", "ntk-lazy", "--params")
    assert rc == 0
    assert "widths" in out and "list of int" in out and "8,16,32,64,128,256,512,1024" in out
    assert "epochs" in out and "1000" in out and "400" in out


def test_lab_set_and_seed_reach_the_run(capsys, tmp_path):
    rc, out, _ = run(capsys, "lab", "pwl-exact", "--set", "pieces=1,2,4", "--seed", "5",
                     "-o", tmp_path, "--no-progress")  # fmt: skip
    assert rc == 0 and "AGREES" in out and "tolerance:" in out
    data = json.loads((tmp_path / "pwl-exact.json").read_text())
    assert data["params"] == {"pieces": [1, 2, 4]} and data["seed"] == 5
    assert [r["pieces"] for r in data["rows"]] == [1, 2, 4]


def test_lab_bad_setting_is_one_line_and_makes_no_folder(capsys, tmp_path):
    out_dir = tmp_path / "never"
    rc, _, err = run(capsys, "lab", "pwl-exact", "--set", "pieces=many", "-o", out_dir)
    assert rc == 2 and "'pieces'" in err and "Traceback" not in err
    rc, _, err = run(capsys, "lab", "pwl-exact", "--set", "width=3", "-o", out_dir)
    assert rc == 2 and "'width'" in err and "pieces" in err
    rc, _, err = run(capsys, "lab", "pwl-exact", "--set", "pieces", "-o", out_dir)
    assert rc == 2 and "NAME=VALUE" in err
    assert not out_dir.exists()
