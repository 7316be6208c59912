"""Shared fixtures of the command-line tests: the CLI called in-process through cli.main([...]),
the check that a user's mistake is one line on stderr, one default digits run, small CSV files."""

import numpy as np
import pytest

from ffnn import cli


def _assert_user_error(rc, err, pattern=""):
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ffnn: error: "), err
    assert "Traceback" not in err
    assert pattern.lower() in lines[0].lower(), lines[0]


@pytest.fixture
def run(capsys):
    """run(*argv) -> (exit status, stdout, stderr) of cli.main in this process."""

    def _run(*argv):
        rc = cli.main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return rc, out, err

    return _run


@pytest.fixture
def user_error():
    """user_error(rc, err, pattern): exit 2 and one line 'ffnn: error: ...' holding pattern."""
    return _assert_user_error


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory):
    """The default `ffnn train` (digits), trained once for the session."""
    out = tmp_path_factory.mktemp("runs") / "digits"
    rc = cli.main(["train", "-o", str(out), "--no-progress"])
    assert rc == 0
    return out


@pytest.fixture
def csv_files(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    labels = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    lines = ["a,b,label"] + [f"{x:.4f},{z:.4f},{c}" for (x, z), c in zip(X, labels, strict=True)]
    ok = tmp_path / "ok.csv"
    ok.write_text("\n".join(lines) + "\n")
    (tmp_path / "nan.csv").write_text("a,b,label\n1,2,yes\n3,,no\n5,6,yes\n")
    (tmp_path / "badlabel.csv").write_text("a,b,label\n1,2,yes\n3,4,maybe\n")
    (tmp_path / "badcol.csv").write_text("a,c,label\n1,2,yes\n3,4,no\n")
    (tmp_path / "text.csv").write_text("a,b,label\n1,red,yes\n3,4,no\n")
    (tmp_path / "nolabel.csv").write_text("b,a\n2,1\n-4,-3\n")
    return tmp_path


@pytest.fixture
def process_env():
    """The environment for `python -m ffnn` as a process: this checkout's ffnn first on the path
    (an installed ffnn elsewhere must not answer for it)."""
    import os
    from pathlib import Path

    import ffnn

    src = str(Path(ffnn.__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH")) if p)
    return dict(os.environ, PYTHONPATH=path, PYTHONWARNINGS="ignore", PYTHONUNBUFFERED="1")
