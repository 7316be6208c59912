"""``ffnn playground`` on the command line."""

import socket

import pytest

from ffnn.cli import build_parser, main


def test_the_sub_command_and_its_flags():
    args = build_parser().parse_args(["playground", "--no-browser", "--port", "0"])
    assert args.no_browser and args.port == 0 and args.host == "127.0.0.1"


@pytest.mark.parametrize("port", ["http", "70000", "-1"])
def test_a_bad_port_is_a_usage_error(port, capsys):
    assert main(["playground", "--port", port]) == 2
    assert "ffnn: error:" in capsys.readouterr().err


def test_a_busy_port_is_reported_not_raised(capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["playground", "--no-browser", "--port", str(port)]) == 2
    assert f"cannot serve on 127.0.0.1:{port}" in capsys.readouterr().err
