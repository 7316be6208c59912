"""benchmarks/bench_fit_limit.py runs end to end, quiet and beside a busy process (a tiny run:
what it measures is not checked)."""

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_fit_limit.py"


def _run(*extra):
    cmd = [sys.executable, str(BENCH), "--config", "tiny", "--n", "256", "--rounds", "1", *extra]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_fit_and_the_limit_are_timed_and_compared():
    text = _run()
    for row in ("fit threads=2 ", "limit epoch ", "limit best "):
        assert row in text
    assert "of the best-step limit" in text and "of the limit's epoch" in text


def test_beside_a_busy_process_the_thread_choices_are_timed():
    text = _run("--busy", "1")
    assert "1 busy process(es)" in text
    for row in ("fit threads=1 ", "fit threads=None ", "fit threads=2 "):
        assert row in text
