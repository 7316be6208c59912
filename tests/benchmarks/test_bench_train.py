"""benchmarks/bench_train.py runs end to end: every runner in its own worker process, driven one
epoch at a time, its rows and verdicts printed (a tiny run: what it measures is not checked)."""

import importlib.util
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_train.py"


def test_a_tiny_run_prints_every_runner_and_the_verdicts():
    cmd = [sys.executable, str(BENCH), "--configs", "tiny", "--n", "256", "--repeats", "2",
           "--processes", "2", "--no-memory", "--no-torch", "--no-jax", "--no-sklearn"]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    for row in ("tiny   ffnn ", "tiny   ffnn core", "tiny   limit ", "tiny   limit epoch"):
        assert row in text
    assert "OpenBLAS kernels per runner:" in text
    assert "the limit's layout and library (the fastest here): tiny " in text
    assert "the repeats cut into 2 runs of fresh processes" in text
    if importlib.util.find_spec("numba") is not None:
        assert "ffnn's compiled products, and how a split step is cut: tiny openblas, whole" in text
    assert "targets:\n  tiny   " in text and "of limit" in text
    assert "as the median of the adjacent pairs' ratios" in text
    assert "of the limit's own epoch timed next to it, which ran at" in text
    assert "as the median of the ratios of the two in one process, in turn" in text


def test_an_unknown_config_is_refused():
    out = subprocess.run([sys.executable, str(BENCH), "--configs", "huge"], capture_output=True,
                         text=True, timeout=60, check=False)  # fmt: skip
    assert out.returncode != 0 and "unknown config 'huge'" in out.stderr


def _bench_module():
    sys.path.insert(0, str(BENCH.parent))
    try:
        import bench_train
    finally:
        sys.path.remove(str(BENCH.parent))
    return bench_train


def test_the_order_changes_so_a_runner_follows_several_others():
    bt = _bench_module()
    names = ["ffnn", "ffnn numpy", "ffnn core", "jax step", "torch", "limit"]
    orders = [bt._rotated(names, rep) for rep in range(15)]
    assert orders[0] == ["ffnn", "limit", "ffnn numpy", "ffnn core", "jax step", "torch"]
    assert all(sorted(o) == sorted(names) for o in orders)
    assert orders == [bt._rotated(names, rep) for rep in range(15)]  # the same in every run
    first = [min(o.index("ffnn numpy"), o.index("ffnn core")) for o in orders]
    before = {o[i - 1] for o, i in zip(orders, first, strict=True) if i > 0}
    assert len(before) >= 3  # the glued pair follows several others


def test_glued_runners_are_next_to_each_other_in_turn():
    bt = _bench_module()
    names = ["ffnn", "ffnn numpy", "ffnn core", "ffnn core 2", "jax step", "limit"]
    for rep in range(12):
        o = bt._rotated(names, rep)
        i, j = o.index("ffnn"), o.index("limit")
        assert abs(i - j) == 1 and (i < j) == (rep % 2 == 0)
        k = o.index("ffnn numpy")
        assert o[k : k + 3] == ["ffnn numpy", "ffnn core", "ffnn core 2"] or o[k - 2 : k + 1] == [
            "ffnn core 2", "ffnn core", "ffnn numpy"]  # fmt: skip
    # a glued runner that is not there leaves the others of its group together
    o = bt._rotated(["ffnn core", "torch", "ffnn numpy"], 0)
    assert o == ["ffnn numpy", "ffnn core", "torch"]  # in the group's order, at its place


def test_repeats_are_as_given_else_per_config():
    bt = _bench_module()
    assert bt.repeats_for("tiny", 2, False) == 2 and bt.repeats_for("wide", None, True) == 3
    assert bt.repeats_for("small", None, False) > bt.repeats_for("wide", None, False) == 5


def test_paired_ratios_are_the_medians_of_each_repeats_ratio():
    bt = _bench_module()
    times = {"ffnn": [1.0, 2.0, 4.0], "ffnn core": [1.0, 3.0, 2.0], "ffnn numpy": [2.0, 3.0, 1.0]}
    pairs = bt._paired(times, [0.9, 1.0, 3.6])  # the limit: 0.9, 0.5, 0.9 of ffnn
    assert pairs == {"pair:limit": 0.9, "pair:core": 1.0}  # core/numpy: 0.5, 1.0, 2.0
    assert bt._paired({"ffnn": [1.0]}, [0.5]) == {"pair:limit": 0.5}
    times["ffnn core 2"] = [2.0, 3.0, 8.0]  # the A/A check: core over core 2, 0.5, 1.0, 0.25
    assert bt._paired(times, [0.9, 1.0, 3.6])["pair:aa"] == 0.5
    # the core step and the NumPy fit in one process decide where they were timed there
    inproc = [(1.0, 1.1), (2.0, 2.0), (3.0, 2.5)]  # core over numpy: 0.91, 1.0, 1.2
    assert bt._paired(times, [0.9, 1.0, 3.6], inproc)["pair:core"] == 1.0
    # the limit's own epoch: over ffnn's next to it, and the best step's limit over it
    times["limit"] = [0.8, 1.2, 4.0]  # over ffnn 0.8, 0.6, 1.0; best over it 1.125, 0.83, 0.9
    out = bt._paired(times, [0.9, 1.0, 3.6])
    assert out["pair:limit epoch"] == 0.8 and out["pair:limit own"] == 0.9
