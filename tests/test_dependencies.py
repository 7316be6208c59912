"""pyproject's floors are the true ones: each API the code uses that a version introduced must be
covered by the declared floor, and the optional packages stay optional."""

import re
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = (ROOT / "pyproject.toml").read_text()

#: (package, version that introduced it, regex of its use somewhere in src/ffnn)
INTRODUCED = [
    ("scipy", (1, 11), r"def \w+\(intermediate_result\)"),
    ("matplotlib", (3, 9), r"boxplot\([^)]*tick_labels="),
    ("scikit-learn", (1, 6), r"from sklearn\.utils\.validation import [^\n]*validate_data"),
]
SOURCES = {p: p.read_text() for p in (ROOT / "src" / "ffnn").rglob("*.py")}


def _floor(package: str) -> tuple[int, ...]:
    deps = PYPROJECT.split("dependencies = [", 1)[1].split("]", 1)[0]
    m = re.search(rf'"{re.escape(package)}>=([0-9.]+)"', deps)
    assert m, f"{package} has no floor in [project] dependencies"
    return tuple(int(p) for p in m.group(1).split("."))


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:2])


def test_floors_cover_the_apis_the_code_uses():
    for package, introduced, pattern in INTRODUCED:
        where = [p.name for p, src in SOURCES.items() if re.search(pattern, src)]
        assert where, f"no module uses {pattern!r} any more: lower {package}'s floor"
        assert _floor(package) >= introduced, f"{package} floor below {introduced} ({where})"
        assert _version(metadata.version(package)) >= _floor(package)


def test_optional_packages_are_extras_not_requirements():
    deps = PYPROJECT.split("dependencies = [", 1)[1].split("]", 1)[0]
    assert "mnist1d" not in deps and "torch" not in deps
    extras = PYPROJECT.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
    assert re.search(r'^mnist1d = \["mnist1d>=', extras, re.M)
    test = re.search(r"^test = \[(.*?)\]", extras, re.M | re.S).group(1)
    assert '"mnist1d>=' in test and '"hypothesis>=' in test
    torch = re.search(r"^torch = \[(.*)\]", extras, re.M).group(1)
    assert "==" not in torch and ">=" in torch
