"""ffnn info: parameter count and multiply-adds per example."""

import ffnn
from ffnn import cli


def test_info_counts_parameters_and_multiply_adds(digits_run, run):
    rc, out, _ = run("info", digits_run)
    assert rc == 0
    assert "p = 85002" in out  # 64·256 + 256 + 256·256 + 256 + 256·10 + 10
    assert "84480" in out  # forward: 64·256 + 256·256 + 256·10
    assert "152576" in out  # backward: 2·84480 − 64·256 (no message to the input)
    assert "O(p·n)" in out


def test_cost_formula():
    c = cli.cost(ffnn.mlp([3, 5, 4, 2], "tanh"))
    assert c["forward"] == 3 * 5 + 5 * 4 + 4 * 2
    assert c["backward"] == 2 * c["forward"] - 3 * 5
    assert c["p"] == 3 * 5 + 5 + 5 * 4 + 4 + 4 * 2 + 2
