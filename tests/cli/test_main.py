"""main(): the parser of every sub-command, and a user's mistake as one line without a traceback
(also as a process, `python -m ffnn`)."""

import subprocess
import sys

import pytest

from ffnn import cli


def test_every_subcommand_has_its_parser():
    sub = next(a for a in cli.build_parser()._actions if a.dest == "command")
    assert set(sub.choices) == {
        "train",
        "predict",
        "evaluate",
        "info",
        "datasets",
        "diagnose",
        "lab",
        "demo",
        "playground",
    }


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


def test_an_internal_error_asks_for_a_report(run, monkeypatch):
    from ffnn.cli import datasets

    def bug(args):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(datasets, "run", bug)
    monkeypatch.delenv("FFNN_DEBUG", raising=False)
    rc, _, err = run("datasets")
    assert rc == cli.EXIT_INTERNAL == 70
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ffnn: internal error: ZeroDivisionError")
    assert "please report" in lines[0] and "FFNN_DEBUG=1" in lines[0]
    monkeypatch.setenv("FFNN_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        cli.main(["datasets"])


def test_memory_the_machine_cannot_give_is_a_user_error(run, user_error, monkeypatch):
    from ffnn.cli import datasets

    def greedy(args):
        raise MemoryError("Unable to allocate 728. TiB for an array with shape (10, 10)")

    monkeypatch.setattr(datasets, "run", greedy)
    rc, _, err = run("datasets")
    user_error(rc, err, "not enough memory: Unable to allocate 728. TiB")


@pytest.mark.parametrize(
    "argv,pattern",
    [
        (["demo", "--seed", "-1"], "--seed: must be a whole number >= 0"),
        (["train", "iris", "--hidden", "0"], "for a linear model give --hidden none"),
        (["train", "iris", "--hidden", "8,0"], "--hidden"),
        (["train", "iris", "--epochs", "1.5"], "must be a whole number"),
        (["train", "iris", "--max-memory", "lots"], "not a size"),
        (["train", "iris", "--sep", ";;"], "one character"),
        (["info", "x", "--n", "0"], "must be a whole number >= 1"),
    ],
)
def test_bad_arguments_are_refused(argv, pattern, run, user_error):
    rc, _, err = run(*argv)
    user_error(rc, err, pattern)


def test_whole_numbers_may_be_written_2e9_or_10_to_the_8():
    from ffnn.cli._args import positive_int, widths

    assert positive_int("2e9") == 2_000_000_000 and positive_int("10^8") == 10**8
    assert widths("1e4,10^2") == [10_000, 100] and widths("128x64") == [128, 64]
    assert widths("none") == [] == widths("-")


def test_a_warning_is_one_line(run, monkeypatch):
    import warnings

    from ffnn.cli import datasets

    def warns(args):
        warnings.warn("data.csv is not UTF-8; read as Latin-1", UserWarning, stacklevel=1)
        return 0

    monkeypatch.setattr(datasets, "run", warns)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        rc, _, err = run("datasets")
    assert rc == 0 and err == "ffnn: warning: data.csv is not UTF-8; read as Latin-1\n"
