import pytest

from ffnn.errors import FFNNError
from ffnn.limits import check_bytes, format_bytes, memory_limit


def test_limit_from_argument_env_and_machine(monkeypatch):
    monkeypatch.delenv("FFNN_MAX_BYTES", raising=False)
    assert memory_limit() > 2**20
    assert memory_limit(1234) == 1234
    for text, value in [("8G", 8 * 2**30), ("512M", 512 * 2**20), ("1000", 1000), ("2GiB", 2**31)]:
        monkeypatch.setenv("FFNN_MAX_BYTES", text)
        assert memory_limit() == value
    monkeypatch.setenv("FFNN_MAX_BYTES", "lots")
    with pytest.raises(FFNNError, match="not a size"):
        memory_limit()
    with pytest.raises(FFNNError, match="positive"):
        memory_limit(0)


def test_check_bytes_names_both_figures(monkeypatch):
    monkeypatch.setenv("FFNN_MAX_BYTES", "1M")
    check_bytes(2**20, "fits", "no fix")
    with pytest.raises(
        FFNNError, match=r"thing needs 2\.0 MiB, beyond the limit of 1\.0 MiB.*do less"
    ):
        check_bytes(2 * 2**20, "thing", "do less")
    assert format_bytes(728 * 2**40) == "728.0 TiB" and format_bytes(12) == "12 B"


def test_off_lifts_the_limit_and_runs_share_it(monkeypatch):
    import math

    from ffnn.runs.sizes import limit_bytes

    monkeypatch.setenv("FFNN_MAX_BYTES", "off")
    assert memory_limit() == math.inf
    check_bytes(2**60, "anything", "no fix")
    monkeypatch.setenv("FFNN_MAX_BYTES", "3M")
    assert limit_bytes(None) == memory_limit() == 3 * 2**20
    assert limit_bytes(1024.0) == 1024.0
