"""main(): the parser of every sub-command, and a user's mistake as one line without a traceback
(also as a process, `python -m ffnn`)."""

import subprocess
import sys

import pytest

from ffnn import cli


def test_every_subcommand_has_its_parser():
    sub = next(a for a in cli.build_parser()._actions if a.dest == "command")
    assert set(sub.choices) == {"train", "predict", "evaluate", "info", "datasets", "lab", "demo"}


def test_help_exits_0(run):
    rc, out, _ = run("--help")
    assert rc == 0 and "train" in out


def test_unknown_command(run, user_error):
    rc, _, err = run("frobnicate")
    user_error(rc, err, "invalid choice")


def _ffnn(env, *argv, **kw):
    return subprocess.run([sys.executable, "-m", "ffnn", *map(str, argv)], capture_output=True,
                          text=True, env=env, timeout=120, **kw)  # fmt: skip


@pytest.mark.parametrize(
    "argv,pattern",
    [
        (["train", "{d}/nan.csv", "--target", "label"], "missing or nan"),
        (["train", "iris", "--lr", "-1"], "must be > 0"),
        (["train", "nonsense"], "neither a built-in"),
    ],
)
def test_user_errors_as_a_process_have_no_traceback(
    argv, pattern, csv_files, tmp_path, user_error, process_env
):
    argv = [a.format(d=csv_files) for a in argv]
    r = _ffnn(process_env, *argv, "-o", tmp_path / "x", cwd=tmp_path)
    user_error(r.returncode, r.stderr, pattern)
    assert not (tmp_path / "x").exists()
