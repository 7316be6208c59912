"""The diagnosis report: one finding per practical issue of the notes (lecture 11, notes 004).

A :class:`Finding` holds what was measured, what it means, what to try, and a verdict — "fine",
"watch" or "problem" — decided by thresholds that are printed with it. A :class:`Diagnosis` is the
list of findings; it renders as text (terminal), a JSON-able dict, and HTML (Jupyter).
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ffnn.errors import FFNNError

__all__ = ["Finding", "Diagnosis", "VERDICTS", "ISSUES"]

VERDICTS = ("fine", "watch", "problem", "unknown")
ISSUES = {
    "I": "cost per iteration, O(p·n)",
    "T": "convergence",
    "S": "saturation",
    "L": "local minima and saddles",
    "O": "overfitting",
}
_MARK = {"fine": "ok", "watch": "!", "problem": "!!", "unknown": "?"}
_COLOR = {"fine": "#1a7f37", "watch": "#9a6700", "problem": "#cf222e", "unknown": "#57606a"}


@dataclass
class Finding:
    """One issue's measurement and verdict.

    ``measurements``: name → number/str, as measured. ``thresholds``: the rule behind the verdict,
    in words (e.g. "problem if η·λ_max > 2"). ``suggestions``: options to change, naming the
    command-line flag or argument (``--lr``, ``--activation`` …).
    """

    issue: str
    verdict: str
    summary: str
    measurements: dict = field(default_factory=dict)
    meaning: str = ""
    thresholds: list[str] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    label: str = ""

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise FFNNError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")
        if self.issue not in ISSUES:
            raise FFNNError(f"issue must be one of {tuple(ISSUES)}, got {self.issue!r}")

    @property
    def title(self) -> str:
        return f"{self.issue}. {ISSUES[self.issue]}"


def _fmt(v) -> str:
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4g}"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return str(v)


def _clean(v):
    """JSON-safe: non-finite floats become None."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_clean(x) for x in v]
    return v


@dataclass
class Diagnosis:
    """The report: ``findings`` in the notes' order (I, T, S, L, O) and ``context`` (what was
    diagnosed: network, data size, loss, which parts could not be measured and why)."""

    findings: list[Finding]
    context: dict = field(default_factory=dict)

    def __getitem__(self, issue: str) -> Finding:
        for f in self.findings:
            if f.issue == issue:
                return f
        raise KeyError(f"no finding for issue {issue!r}; the report has {self.issues}")

    @property
    def issues(self) -> list[str]:
        return [f.issue for f in self.findings]

    @property
    def worst(self) -> str:
        order = {"fine": 0, "unknown": 1, "watch": 2, "problem": 3}
        return max((f.verdict for f in self.findings), key=order.__getitem__, default="fine")

    def to_dict(self) -> dict:
        return _clean({"context": self.context, "findings": [asdict(f) for f in self.findings]})

    def to_json(self, path: str | Path | None = None) -> str:
        text = json.dumps(self.to_dict(), indent=1, ensure_ascii=False)
        if path is not None:
            from ffnn.io import atomic_write_bytes

            atomic_write_bytes(Path(path), (text + "\n").encode())
        return text

    def text(self) -> str:
        """The report for a terminal: a section per issue."""
        lines = [f"diagnosis of {self.context.get('network', 'the network')}"]
        for key in ("data", "loss", "optimizer"):
            if self.context.get(key):
                lines.append(f"  {key}: {self.context[key]}")
        for note in self.context.get("notes", []):
            lines.append(f"  note: {note}")
        for f in self.findings:
            lines += ["", f"{f.title} [{f.verdict.upper()}] {f.summary}"]
            lines += [f"    {k} = {_fmt(v)}" for k, v in f.measurements.items()]
            if f.meaning:
                lines.append(f"  meaning: {f.meaning}")
            lines += [f"  rule: {t}" for t in f.thresholds]
            lines += [f"  try: {s}" for s in f.suggestions]
        return "\n".join(lines)

    __str__ = text

    def _repr_html_(self) -> str:
        e = html.escape
        rows = []
        for f in self.findings:
            meas = "<br>".join(f"{e(k)} = {e(_fmt(v))}" for k, v in f.measurements.items())
            extra = "".join(f"<li>rule: {e(t)}</li>" for t in f.thresholds)
            extra += "".join(f"<li>try: {e(s)}</li>" for s in f.suggestions)
            rows.append(
                f"<tr><td><b>{e(f.title)}</b></td>"
                f"<td style='color:{_COLOR[f.verdict]}'><b>{e(f.verdict)}</b></td>"
                f"<td>{e(f.summary)}<br><small>{e(f.meaning)}</small><ul>{extra}</ul></td>"
                f"<td><small>{meas}</small></td></tr>"
            )
        head = "<tr><th>issue</th><th>verdict</th><th>what it means</th><th>measured</th></tr>"
        ctx = e(str(self.context.get("network", "")))
        return f"<div><p>diagnosis of {ctx}</p><table>{head}{''.join(rows)}</table></div>"
