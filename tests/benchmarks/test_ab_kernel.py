"""benchmarks/ab_kernel.py runs end to end against a revision, and refuses one it cannot compare
(a tiny run: what it measures is not checked)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks" / "ab_kernel.py"


def _run(rev, *extra):
    cmd = [
        sys.executable,
        str(BENCH),
        rev,
        "--config",
        "tiny",
        "--n",
        "256",
        "--rounds",
        "2",
        *extra,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)


def _git(*args):
    out = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
    if out.returncode:
        pytest.skip(f"not a git checkout with history: {out.stderr.strip()}")
    return out.stdout.split()


def test_the_tree_and_a_revision_are_timed_in_turn():
    _git("rev-parse", "HEAD")
    out = _run("HEAD")
    assert out.returncode == 0, out.stderr
    assert "tree: median" in out.stdout and "HEAD: median" in out.stdout
    assert "tree / HEAD: " in out.stdout


def test_a_revision_with_another_rows_py_or_none_is_refused():
    changed = _git("log", "--format=%H", "-n", "1", "--", "src/ffnn/train/rows.py")
    if changed and _git("rev-list", "--count", changed[0])[0] != "1":
        out = _run(f"{changed[0]}~1")
        assert out.returncode != 0 and "rows.py differs" in out.stderr
        assert "Traceback" not in out.stderr
    out = _run("no-such-revision")
    assert out.returncode != 0 and "git show no-such-revision:" in out.stderr
    assert "Traceback" not in out.stderr
