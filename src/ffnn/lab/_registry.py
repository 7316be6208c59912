"""The registry of lab experiments run by ``ffnn lab NAME``.

An experiment is a function ``run(out_dir: Path, *, quick: bool = False, progress: bool = True)
-> ExperimentResult`` registered with ``@experiment("name", claim="...")``. It writes its figure
(PNG) and table (CSV and JSON) into ``out_dir`` and says whether the measurement agrees with the
claim. ``quick=True`` runs a small size for tests.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ffnn.errors import FFNNError

__all__ = ["ExperimentResult", "Experiment", "experiment", "EXPERIMENTS", "get_experiment"]


@dataclass
class ExperimentResult:
    """What an experiment measured: the claim, the verdict, its table rows and written files."""

    name: str
    claim: str
    agrees: bool
    summary: str
    rows: list[dict] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    def verdict(self) -> str:
        word = "AGREES" if self.agrees else "DISAGREES"
        return f"[{self.name}] claim: {self.claim}\n  measured: {self.summary}\n  verdict: {word}"

    def write_table(self, out_dir: Path, stem: str | None = None) -> list[Path]:
        """Write ``rows`` as CSV and JSON (with claim and verdict) into out_dir."""
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
        paths[1].write_text(
            json.dumps(
                {
                    "name": self.name,
                    "claim": self.claim,
                    "agrees": bool(self.agrees),
                    "summary": self.summary,
                    "rows": self.rows,
                },
                indent=2,
                default=float,
            )
        )
        self.files += paths
        return paths


@dataclass(frozen=True)
class Experiment:
    name: str
    claim: str
    run: Callable[..., ExperimentResult]
    doc: str = ""


EXPERIMENTS: dict[str, Experiment] = {}


def experiment(name: str, claim: str):
    """Register ``fn(out_dir, *, quick=False, progress=True) -> ExperimentResult`` as name."""

    def deco(fn):
        if name in EXPERIMENTS:
            raise RuntimeError(f"experiment {name!r} registered twice")
        EXPERIMENTS[name] = Experiment(name, claim, fn, (fn.__doc__ or "").strip())
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
