"""Every `ffnn ...` example in README.md's command-line section parses with today's options (the
examples themselves were run by hand; this catches an option renamed or removed later)."""

import re
import shlex
from pathlib import Path

import pytest

from ffnn import cli

README = Path(__file__).resolve().parents[2] / "README.md"


def _examples() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## The command line", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    lines = [ln.split("  #", 1)[0].strip() for b in blocks for ln in b.splitlines()]
    return [ln for ln in lines if ln.startswith("ffnn ")]


def test_the_readme_has_command_examples():
    assert len(_examples()) >= 10


@pytest.mark.parametrize("line", _examples())
def test_readme_example_parses(line):
    argv = shlex.split(line)[1:]
    args = cli.build_parser().parse_args(argv)
    assert callable(args.func)
