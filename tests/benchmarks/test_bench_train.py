"""benchmarks/bench_train.py runs end to end: every runner in its own worker process, driven one
epoch at a time, its rows and verdicts printed (a tiny run: what it measures is not checked)."""

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_train.py"


def test_a_tiny_run_prints_every_runner_and_the_verdicts():
    cmd = [sys.executable, str(BENCH), "--configs", "tiny", "--n", "256", "--repeats", "1",
           "--no-memory", "--no-torch", "--no-jax", "--no-sklearn"]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    for row in ("tiny   ffnn ", "tiny   ffnn core", "tiny   limit ", "tiny   limit epoch"):
        assert row in text
    assert "OpenBLAS kernels per runner:" in text
    assert "the limit's layout (the faster here): tiny " in text
    assert "targets:\n  tiny   " in text and "of limit" in text


def test_an_unknown_config_is_refused():
    out = subprocess.run([sys.executable, str(BENCH), "--configs", "huge"], capture_output=True,
                         text=True, timeout=60, check=False)  # fmt: skip
    assert out.returncode != 0 and "unknown config 'huge'" in out.stderr
