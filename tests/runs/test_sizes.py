"""Sizing a run before allocating it."""

import math

import pytest

from ffnn import mlp
from ffnn.errors import FFNNError
from ffnn.runs import RunConfig, prepare_run
from ffnn.runs.sizes import (
    available_memory,
    check_network,
    check_rows,
    human,
    n_params,
    network_bytes,
    parse_size,
)


def test_n_params_is_that_of_the_network():
    for widths in ([3, 5, 4, 2], [64, 256, 10], [2, 1]):
        assert n_params(widths) == mlp(widths, "relu").n_params


def test_network_bytes_counts_theta_copies_and_activations():
    assert network_bytes([2, 3, 1], 4, rows=10) == 6 * 13 * 4 + 3 * 10 * 4 * 4


def test_parse_size_and_human():
    assert parse_size("16G") == 16 * 2**30 and parse_size("512MiB") == 512 * 2**20
    assert parse_size("1e9") == 1e9 and parse_size("off") == math.inf
    for bad in ("", "-1G", "lots", "nanG"):
        with pytest.raises(ValueError):
            parse_size(bad)
    assert human(728 * 2**40) == "728 TiB" and human(1536) == "1.5 KiB"


def test_available_memory_is_a_positive_figure_where_known():
    room = available_memory()
    assert room is None or room > 0


def test_a_network_beyond_the_limit_is_refused_with_the_figure():
    with pytest.raises(FFNNError, match=r"p = 800,000,003 parameters\) needs about 1\d\d GiB"):
        check_network([4, 10**8, 3], 4, 32, 100, limit=2**30)
    check_network([4, 10**8, 3], 4, 32, 100, limit=math.inf)  # the limit overridden
    with pytest.raises(FFNNError, match="--n 2,000,000,000 examples needs about"):
        check_rows(2 * 10**9, 2, 2**30, "spirals")


def test_prepare_run_sizes_before_it_builds(tmp_path):
    cfg = RunConfig("iris", hidden=[10**8], out=str(tmp_path / "r"))
    with pytest.raises(FFNNError, match="needs about"):
        prepare_run(cfg)  # would ask numpy for gigabytes if it built the network first
    cfg = RunConfig("iris", hidden=[64], max_memory=1024.0, out=str(tmp_path / "r"))
    with pytest.raises(FFNNError, match="beyond the limit of 1 KiB"):
        prepare_run(cfg)
    cfg = RunConfig("spirals", n=2 * 10**9, out=str(tmp_path / "r"), max_memory=2.0**30)
    with pytest.raises(FFNNError, match="choose a smaller --n"):
        prepare_run(cfg)
    assert not (tmp_path / "r").exists()
