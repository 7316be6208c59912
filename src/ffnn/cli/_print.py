"""What the command line prints: a line unless quiet, a table of metrics, an error in one line."""

from __future__ import annotations


def say(msg: str = "", *, quiet: bool = False) -> None:
    if not quiet:
        print(msg, flush=True)


def one_line(e: BaseException) -> str:
    return " ".join(str(e).split())


def table(rows: dict[str, dict]) -> str:
    """A fixed-width table of {split: {metric: value}}."""
    cols: list[str] = []
    for r in rows.values():
        cols += [k for k in r if k not in cols]
    lines = [f"{'':<8}" + "".join(f"{c:>12}" for c in cols)]
    for name, r in rows.items():
        cells = []
        for c in cols:
            v = r.get(c)
            if v is None:
                cells.append(f"{'':>12}")
            elif isinstance(v, int):
                cells.append(f"{v:>12d}")
            elif c == "accuracy":
                cells.append(f"{100 * v:>11.2f}%")
            else:
                cells.append(f"{v:>12.4g}")
        lines.append(f"{name:<8}" + "".join(cells))
    return "\n".join(lines)
