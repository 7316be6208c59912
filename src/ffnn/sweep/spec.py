"""A sweep's spec: a TOML file (or a dict) checked before any cell runs, expanded into cells.

    [sweep]
    kind = "train"              # or "lab" with experiment = "NAME"
    seeds = 3                   # or a list: [0, 1, 2]
    metric = "test_accuracy"    # what --summary plots …
    x = "width"                 # … against which swept parameter
    save = ["history"]          # also keep each cell's "model" and/or "history"

    [fixed]                     # the same in every cell (options of `ffnn train`)
    data = "iris"
    epochs = 20

    [grid]                      # every combination
    width = [8, 32, 128]
    depth = [1, 2]

    [random]                    # plus `samples` random draws, each combined with the grid
    samples = 4
    lr = { log_uniform = [1e-4, 1e-1] }

A cell is (kind, target, resolved parameters with defaults filled, seed); its key is a hash of
exactly that, so a rerun finds the cells it has already finished.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ffnn.errors import FFNNError
from ffnn.sweep.options import DISTRIBUTIONS, lab_checker, train_checker

__all__ = ["Cell", "Spec", "load_spec", "expand", "cell_key"]

_SWEEP_KEYS = {
    "kind": "train or lab",
    "experiment": "the lab experiment's name (kind = lab)",
    "name": "a title for the table and plot",
    "seeds": "a count n (seeds 0..n-1) or a list of seeds",
    "metric": "the metric --summary plots",
    "x": "the swept parameter --summary plots it against",
    "save": 'what else each cell keeps: ["model", "history"]',
    "quick": "lab experiments: their quick sizes as defaults",
    "sample_seed": "seeds the [random] draws (default 0)",
}
_TABLES = ("sweep", "fixed", "grid", "random")


@dataclass(frozen=True)
class Cell:
    """One task: a pure function of (params, seed) → one result row."""

    kind: str
    target: str | None
    params: dict
    seed: int
    key: str
    save: tuple[str, ...] = ()
    quick: bool = False
    label: dict = field(default_factory=dict)  # the swept values, as the table shows them


@dataclass
class Spec:
    kind: str
    target: str | None
    seeds: list[int]
    fixed: dict
    grid: dict
    random: dict
    samples: int
    sample_seed: int
    save: tuple[str, ...]
    name: str
    metric: str | None
    x: str | None
    quick: bool
    source: str  # the file it came from, or "<dict>"

    @property
    def swept(self) -> list[str]:
        """The parameters that vary across cells (seed aside)."""
        return [*self.grid, *self.random]


def _read_toml(path: Path) -> tuple[dict, str]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise FFNNError(f"cannot read the sweep spec {str(path)!r}: {e.strerror or e}") from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as e:
        raise FFNNError(f"{path}: not valid TOML: {e}") from None


def _key_lines(text: str) -> dict[tuple[str, str], int]:
    """(table, key) → the line (1-based) that sets it; (table, "") → the table's header."""
    where: dict[tuple[str, str], int] = {}
    table = ""
    for i, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        m = re.match(r"^\[\s*([A-Za-z0-9_.\-\"']+)\s*\]", s)
        if m:
            table = m.group(1).strip("\"'")
            where.setdefault((table, ""), i)
            continue
        m = re.match(r"^([A-Za-z0-9_\-]+|\"[^\"]+\"|'[^']+')\s*=", s)
        if m:
            where.setdefault((table, m.group(1).strip("\"'")), i)
    return where


class _Where:
    """Names a spec's key and its line in error messages."""

    def __init__(self, source: str, lines: dict[tuple[str, str], int]):
        self.source, self.lines = source, lines

    def __call__(self, table: str, key: str = "") -> str:
        line = self.lines.get((table, key)) or self.lines.get((table, ""))
        name = f"{table}.{key}" if key else f"[{table}]"
        return f"{self.source}" + (f", line {line}" if line else "") + f": {name}"


def load_spec(spec: str | Path | Mapping) -> Spec:
    """Read and check a spec (a TOML file's path, or the same structure as a dict)."""
    if isinstance(spec, Mapping):
        data, where = dict(spec), _Where("<dict>", {})
    else:
        data, text = _read_toml(Path(spec))
        where = _Where(str(spec), _key_lines(text))
    for t in data:
        if t not in _TABLES:
            raise FFNNError(f"{where(t)}: unknown table; a spec has {', '.join(_TABLES)}")
        if not isinstance(data[t], Mapping):
            raise FFNNError(f"{where(t)}: must be a table ([{t}] with keys under it)")
    head = dict(data.get("sweep", {}))
    for k in head:
        if k not in _SWEEP_KEYS:
            keys = ", ".join(_SWEEP_KEYS)
            raise FFNNError(f"{where('sweep', k)}: unknown key; [sweep] takes {keys}")
    return _build(data, head, where, "<dict>" if isinstance(spec, Mapping) else str(spec))


def _head_value(head: dict, key: str, typ: type, default, where: _Where, what: str):
    if key not in head:
        return default
    v = head[key]
    ok = isinstance(v, bool) if typ is bool else isinstance(v, typ) and not isinstance(v, bool)
    if not ok:
        raise FFNNError(f"{where('sweep', key)}: must be {what}, got {v!r}")
    return v


def _seeds(head: dict, where: _Where) -> list[int]:
    s = head.get("seeds", 1)
    if isinstance(s, int) and not isinstance(s, bool):
        if s < 1:
            raise FFNNError(f"{where('sweep', 'seeds')}: a count of seeds is at least 1, got {s}")
        return list(range(s))
    if isinstance(s, list) and s and all(isinstance(v, int) and not isinstance(v, bool) for v in s):
        if min(s) < 0 or len(set(s)) != len(s):
            raise FFNNError(f"{where('sweep', 'seeds')}: seeds are distinct and >= 0, got {s}")
        return list(s)
    raise FFNNError(f"{where('sweep', 'seeds')}: a count or a non-empty list of ints, got {s!r}")


def _build(data: dict, head: dict, where: _Where, source: str) -> Spec:
    kind = _head_value(head, "kind", str, "train", where, '"train" or "lab"')
    if kind not in ("train", "lab"):
        raise FFNNError(f'{where("sweep", "kind")}: must be "train" or "lab", got {kind!r}')
    target = head.get("experiment")
    if kind == "lab" and not isinstance(target, str):
        raise FFNNError(f'{where("sweep", "experiment")}: kind = "lab" needs experiment = NAME')
    if kind == "train" and target is not None:
        raise FFNNError(f'{where("sweep", "experiment")}: only for kind = "lab"')
    quick = _head_value(head, "quick", bool, False, where, "true or false")
    check = train_checker() if kind == "train" else lab_checker(target, quick)
    save = head.get("save", [])
    if not isinstance(save, list) or any(s not in ("model", "history") for s in save):
        raise FFNNError(f'{where("sweep", "save")}: a list of "model", "history"; got {save!r}')
    if save and kind != "train":
        raise FFNNError(f"{where('sweep', 'save')}: models and histories are train cells' files")
    fixed = {k: _checked(check, "fixed", k, v, where) for k, v in data.get("fixed", {}).items()}
    grid = _grid(data, check, where)
    random, samples = _random(data, check, where)
    for k in fixed:
        if k in grid or k in random:
            raise FFNNError(f"{where('fixed', k)}: is also swept; keep it in one table")
    for k in grid:
        if k in random:
            raise FFNNError(f"{where('grid', k)}: is also in [random]; keep it in one table")
    spec = Spec(
        kind=kind,
        target=target,
        seeds=_seeds(head, where),
        fixed=fixed,
        grid=grid,
        random=random,
        samples=samples,
        sample_seed=_head_value(head, "sample_seed", int, 0, where, "an int"),
        save=tuple(save),
        name=_head_value(head, "name", str, Path(source).stem, where, "a string"),
        metric=_head_value(head, "metric", str, None, where, "a string"),
        x=_head_value(head, "x", str, None, where, "a string"),
        quick=quick,
        source=source,
    )
    if spec.x is not None and spec.x not in (*spec.swept, "seed"):
        raise FFNNError(f"{where('sweep', 'x')}: {spec.x!r} is not swept ({spec.swept or 'none'})")
    check.whole([*fixed, *grid, *random], where)
    return spec


def _checked(check, table: str, key: str, value, where: _Where):
    try:
        return check(key, value)
    except FFNNError as e:
        raise FFNNError(f"{where(table, key)}: {e}") from None


def _grid(data: dict, check, where: _Where) -> dict:
    if "grid" in data and not data["grid"]:
        raise FFNNError(f"{where('grid')}: the grid is empty; give each swept key a list")
    grid = {}
    for k, values in data.get("grid", {}).items():
        if not isinstance(values, list):
            raise FFNNError(
                f"{where('grid', k)}: a grid key takes a list of values, got {values!r}"
            )
        if not values:
            raise FFNNError(f"{where('grid', k)}: empty list; give at least one value")
        grid[k] = [_checked(check, "grid", k, v, where) for v in values]
    return grid


def _random(data: dict, check, where: _Where) -> tuple[dict, int]:
    table = dict(data.get("random", {}))
    if not table:
        return {}, 0
    n = table.pop("samples", None)
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise FFNNError(f"{where('random', 'samples')}: [random] needs samples = N (N >= 1)")
    if not table:
        raise FFNNError(f"{where('random')}: no parameter to draw; add e.g. lr = {{ uniform = ..}}")
    out = {}
    for k, d in table.items():
        if not isinstance(d, Mapping) or len(d) != 1 or next(iter(d)) not in DISTRIBUTIONS:
            names = ", ".join(DISTRIBUTIONS)
            raise FFNNError(f"{where('random', k)}: one of {{ {names} = [..] }}, got {d!r}")
        ((dist, args),) = d.items()
        try:
            DISTRIBUTIONS[dist].check(args)
            check(k, DISTRIBUTIONS[dist].draw(np.random.default_rng(0), args))
        except FFNNError as e:
            raise FFNNError(f"{where('random', k)}: {e}") from None
        if dist == "choice":
            args = [_checked(check, "random", k, v, where) for v in args]
        out[k] = (dist, args)
    return out, n


def _draws(spec: Spec, check) -> list[dict]:
    """The [random] samples: drawn from one generator seeded by sample_seed, keys in order."""
    if not spec.random:
        return [{}]
    rng = np.random.default_rng(spec.sample_seed)
    draws = []
    for _ in range(spec.samples):
        d = {}
        for k, (dist, args) in spec.random.items():
            d[k] = check(k, DISTRIBUTIONS[dist].draw(rng, args))
        draws.append(d)
    return draws


def _jsonable(v: Any):
    return list(v) if isinstance(v, tuple) else v


def cell_key(kind: str, target: str | None, params: Mapping, seed: int, quick: bool) -> str:
    """A hash of a cell's resolved parameters: equal cells share it, across runs and machines."""
    doc = {"kind": kind, "target": target, "quick": bool(quick), "seed": int(seed)}
    doc["params"] = {k: _jsonable(params[k]) for k in sorted(params)}
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def expand(spec: Spec) -> list[Cell]:
    """Every cell of the spec: grid × random draws × seeds, in a fixed order."""
    check = train_checker() if spec.kind == "train" else lab_checker(spec.target, spec.quick)
    names = list(spec.grid)
    cells = []
    for combo in itertools.product(*(spec.grid[k] for k in names)):
        for draw in _draws(spec, check):
            label = {**dict(zip(names, combo, strict=False)), **draw}
            given = {**spec.fixed, **label}
            params = check.resolve(given)
            for seed in spec.seeds:
                key = cell_key(spec.kind, spec.target, params, seed, spec.quick)
                cells.append(
                    Cell(spec.kind, spec.target, params, seed, key, spec.save, spec.quick, label)
                )
    return cells
