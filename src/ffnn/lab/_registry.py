"""The lab's experiments, one shape for all: claim, parameters, measure, verdict, figure.

An experiment is a subclass of :class:`Experiment` registered with ``@register``::

    @register
    class PwlExact(Experiment):
        \"\"\"One line on what is measured (shown by ``ffnn lab NAME --params``).\"\"\"

        name = "pwl-exact"
        claim = "a one-hidden-layer ReLU network ... equals any piecewise-linear function"
        params = (Param("pieces", list[int], (1, 2, 4, 8), quick=(1, 2), help="pieces m"),)
        figsize = (10, 4)

        def measure(self, p, seed, progress) -> dict:      # returns {"rows": [...], ...}
            for m in progress(p.pieces, "pieces"): ...
        def verdict(self, data) -> tuple[bool, str, str]:  # (agrees, summary, tolerance)
        def figure(self, data, fig) -> None:               # draws on a matplotlib.figure.Figure

The shared tail is :meth:`Experiment.run`: resolve the parameters, measure, judge, and (with an
``out_dir``) write NAME.png, NAME.csv and NAME.json. The result is a pure function of
(name, parameters, seed): every random draw of ``measure`` comes from ``seed`` (0 by default).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ffnn.errors import FFNNError
from ffnn.lab._params import Param, Params, resolve

__all__ = [
    "ExperimentResult",
    "Experiment",
    "Param",
    "Params",
    "Progress",
    "register",
    "experiment",
    "EXPERIMENTS",
    "get_experiment",
    "run",
]


@dataclass
class ExperimentResult:
    """What an experiment measured: the claim, the verdict, its table rows and written files."""

    name: str
    claim: str
    agrees: bool
    summary: str
    rows: list[dict] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    tolerance: str = ""
    params: dict = field(default_factory=dict)
    seed: int = 0

    def verdict(self) -> str:
        word = "AGREES" if self.agrees else "DISAGREES"
        tol = f"\n  tolerance: {self.tolerance}" if self.tolerance else ""
        return (
            f"[{self.name}] claim: {self.claim}\n  measured: {self.summary}{tol}\n  verdict: {word}"
        )

    def to_dict(self) -> dict:
        """Name, claim, parameters, seed, verdict and rows: what NAME.json holds."""
        return {
            "name": self.name,
            "claim": self.claim,
            "params": self.params,
            "seed": self.seed,
            "agrees": bool(self.agrees),
            "summary": self.summary,
            "tolerance": self.tolerance,
            "rows": self.rows,
        }

    def write_table(self, out_dir: Path, stem: str | None = None) -> list[Path]:
        """Write ``rows`` as CSV and JSON (with claim, parameters and verdict) into out_dir."""
        import csv

        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        stem = stem or self.name
        paths = [out_dir / f"{stem}.csv", out_dir / f"{stem}.json"]
        keys: list[str] = []
        for r in self.rows:
            keys += [k for k in r if k not in keys]
        with open(paths[0], "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=keys)
            w.writeheader()
            w.writerows(self.rows)
        paths[1].write_text(json.dumps(self.to_dict(), indent=2, default=_json_default))
        self.files += paths
        return paths


def _json_default(v):
    return v.tolist() if hasattr(v, "tolist") else float(v)


class Progress:
    """``progress(iterable, "what")``: the iterable, with a tqdm bar on stderr when ``on``."""

    def __init__(self, name: str, on: bool):
        self.name, self.on = name, bool(on)

    def __call__(self, iterable: Iterable, desc: str = "", total: int | None = None):
        if not self.on:
            return iterable
        from tqdm.auto import tqdm

        label = f"{self.name}: {desc}" if desc else self.name
        return tqdm(iterable, desc=label, total=total, leave=False, file=sys.stderr)


class Experiment:
    """Base of every lab experiment; subclasses set the class attributes and three methods."""

    name: ClassVar[str]
    claim: ClassVar[str]
    params: ClassVar[tuple[Param, ...]] = ()
    figsize: ClassVar[tuple[float, float]] = (11, 4)

    @property
    def doc(self) -> str:
        return (type(self).__doc__ or "").strip()

    def measure(self, p: Params, seed: int, progress: Progress) -> dict[str, Any]:
        """Run the measurement; return a dict with "rows" (the table) and what figure needs."""
        raise NotImplementedError

    def verdict(self, data: dict[str, Any]) -> tuple[bool, str, str]:
        """(agrees with the claim, one-line summary of the numbers, the tolerance applied)."""
        raise NotImplementedError

    def figure(self, data: dict[str, Any], fig) -> None:
        """Draw the measurement on ``fig`` (a ``matplotlib.figure.Figure``)."""
        raise NotImplementedError

    def resolve(self, params: Mapping[str, Any] | None = None, *, quick: bool = False) -> Params:
        """The parameter values of a run: defaults (quick values), overridden by ``params``."""
        return resolve(self.params, params, quick=quick, where=self.name)

    def describe(self) -> str:
        """The claim and a table of the parameters: name, type, default, quick value, help."""
        lines = [f"{self.name}: {self.claim}", f"  {self.doc}" if self.doc else "", "parameters:"]
        rows = [("name", "type", "default", "--quick", "")]
        for p in self.params:
            quick = p.show(p.quick) if p.quick is not None else "(same)"
            rows.append((p.name, p.type_name, p.show(p.default), quick, p.help))
        w = [max(len(r[i]) for r in rows) for i in range(4)]
        lines += [
            "  " + "  ".join(c.ljust(w[i]) for i, c in enumerate(r[:4])) + "  " + r[4] for r in rows
        ]
        lines.append("set one with --set NAME=VALUE (lists: --set NAME=1,2,3); --seed N")
        return "\n".join(line.rstrip() for line in lines if line)

    def run(
        self,
        out_dir: Path | str | None = None,
        *,
        quick: bool = False,
        progress: bool | None = True,
        params: Mapping[str, Any] | None = None,
        seed: int = 0,
    ) -> ExperimentResult:
        """Measure, judge and, with ``out_dir``, write NAME.png, NAME.csv and NAME.json there."""
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise FFNNError(f"the seed must be an integer, got {seed!r}")
        p = self.resolve(params, quick=quick)
        on = sys.stderr.isatty() if progress is None else progress
        data = self.measure(p, seed, Progress(self.name, on))
        agrees, summary, tolerance = self.verdict(data)
        res = ExperimentResult(
            self.name, self.claim, bool(agrees), summary, data["rows"], [], tolerance, dict(p), seed
        )
        if out_dir is not None:
            from ffnn.lab._figures import new_figure, save

            fig = new_figure(self.figsize)
            self.figure(data, fig)
            res.files.append(save(fig, Path(out_dir), self.name))
            res.write_table(Path(out_dir))
        return res


EXPERIMENTS: dict[str, Experiment] = {}


def register(cls: type[Experiment]) -> type[Experiment]:
    """Class decorator: add one instance of ``cls`` to :data:`EXPERIMENTS` under ``cls.name``."""
    if cls.name in EXPERIMENTS:
        raise RuntimeError(f"experiment {cls.name!r} registered twice")
    EXPERIMENTS[cls.name] = cls()
    return cls


class _FunctionExperiment(Experiment):
    """An experiment registered the old way: one function that measures, judges and writes."""

    fn: ClassVar[Callable[..., ExperimentResult]]

    def run(self, out_dir=None, *, quick=False, progress=True, params=None, seed=0):
        if params or seed != 0:
            raise FFNNError(f"{self.name} takes no parameters and no seed (it is one function)")
        if out_dir is None:
            raise FFNNError(f"{self.name} writes its files: give it an out_dir")
        return type(self).fn(Path(out_dir), quick=quick, progress=bool(progress))


def experiment(name: str, claim: str):
    """Register ``fn(out_dir, *, quick=False, progress=True) -> ExperimentResult`` as name.

    Kept for experiments written before the one shape; a new one subclasses :class:`Experiment`
    (settable parameters, seeds, the shared tail).
    """

    def deco(fn):
        attrs = {"name": name, "claim": claim, "__doc__": fn.__doc__, "fn": staticmethod(fn)}
        register(type(f"Function_{fn.__name__}", (_FunctionExperiment,), attrs))
        return fn

    return deco


def get_experiment(name: str) -> Experiment:
    import ffnn.lab  # noqa: F401  (importing the package registers every experiment)

    try:
        return EXPERIMENTS[name]
    except KeyError:
        raise FFNNError(
            f"unknown experiment {name!r}; available: {', '.join(sorted(EXPERIMENTS)) or 'none'}"
        ) from None


def run(
    name: str,
    params: Mapping[str, Any] | None = None,
    *,
    seed: int = 0,
    quick: bool = False,
    out_dir: Path | str | None = None,
    progress: bool | None = None,
) -> ExperimentResult:
    """Run experiment ``name`` with ``params`` overriding its defaults; files only with out_dir.

    A pure function of (name, params, seed, quick): a sweep may call it in worker processes.
    ``progress=None`` shows bars when stderr is a terminal.
    """
    return get_experiment(name).run(
        out_dir, quick=quick, progress=progress, params=params, seed=seed
    )
