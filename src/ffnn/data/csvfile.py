"""CSV files read as untrusted data: encoding, delimiter, columns, and size, checked as it goes.

* Encoding: a byte-order mark chooses UTF-8, UTF-16 or UTF-32; without one the file is read as
  UTF-8, and if that fails as Latin-1 (every byte is a Latin-1 character, so this cannot fail;
  a :class:`UserWarning` says so). A file with NUL or other control bytes and no BOM is refused
  as binary (or UTF-16/32 without a BOM).
* Delimiter: ``sep`` (one character), else tab for .tsv, else whichever of comma, semicolon, tab
  the header line holds most of.
* Columns: ``drop`` names columns to ignore. An unnamed first column whose cells are 0, 1, …, n−1
  (what pandas' ``df.to_csv`` writes as the index) is dropped with a warning; any other unnamed
  column is refused. ``True``/``False`` cells read as 1/0.
* Size: cells go straight into float64 arrays (8 bytes each), and the file's size is checked
  first from the sampled bytes per row, then every 8192 rows against :mod:`ffnn.limits`.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import warnings
from pathlib import Path

import numpy as np

from ffnn.errors import FFNNError
from ffnn.limits import check_bytes

__all__ = ["read_csv", "MISSING", "TARGET_NAMES"]

#: column names taken as the target when none is named
TARGET_NAMES = ("target", "label", "labels", "y", "class")
MISSING = {"", "na", "nan", "n/a", "null", "none", "?"}
_BOOL = {"true": 1.0, "false": 0.0}
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CONTROL = bytes(set(range(32)) - {9, 10, 12, 13})
_INDEX_NAMES = ("", "Unnamed: 0")


def _encoding(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(65536)
    for bom, enc in _BOMS:
        if head.startswith(bom):
            return enc
    if any(c in head for c in _CONTROL):
        raise FFNNError(
            f"{path}: this is not a text CSV (it holds NUL or other control bytes: a binary "
            "file, or UTF-16/32 without a byte-order mark); save it as UTF-8 CSV"
        )
    return "utf-8"


def to_float(cell: str) -> float:
    """A cell as a number: missing markers -> NaN, True/False -> 1/0 (ValueError otherwise)."""
    try:
        return float(cell)  # the common case first; float() strips whitespace itself
    except ValueError:
        pass
    low = cell.strip().lower()
    if low in MISSING:
        return np.nan
    if low in _BOOL:
        return _BOOL[low]
    raise ValueError(f"not a number: {cell!r}")


def _looks_numeric(cells: list[str]) -> bool:
    """Every cell a number (so a 'header' of numbers is data, not column names)."""
    try:
        return all(c.strip().lower() not in MISSING and np.isfinite(to_float(c)) for c in cells)
    except ValueError:
        return False


def _sep(path: Path, first: str, sep: str | None) -> str:
    if sep is not None:
        if not isinstance(sep, str) or len(sep) != 1 or sep in "\r\n\"'":
            raise FFNNError(
                f"sep must be one character such as ',' ';' or '\\t' (not a quote or newline), "
                f"got {sep!r}"
            )
        return sep
    if path.suffix.lower() == ".tsv":
        return "\t"
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


class _Counted:
    """Lines of a text file, counting the characters read (≈ bytes for numeric CSV)."""

    def __init__(self, lines):
        self.lines, self.chars = lines, 0

    def __iter__(self):
        for line in self.lines:
            self.chars += len(line)
            yield line


def read_csv(path: Path, target, features, need_target: bool, sep=None, drop=(), limit=None):
    """(X: (n, n_0) float64, y: (n,) str array or None, feature names, target name)."""
    enc = _encoding(path)
    try:
        return _read(path, enc, target, features, need_target, sep, drop, limit)
    except UnicodeDecodeError as e:
        if enc != "utf-8":
            raise FFNNError(
                f"{path}: not valid {enc} text ({e.reason}); save it as UTF-8"
            ) from None
    warnings.warn(
        f"{path} is not UTF-8; read as Latin-1 (ISO-8859-1). Save it as UTF-8 if names look wrong",
        UserWarning,
        stacklevel=3,
    )
    return _read(path, "latin-1", target, features, need_target, sep, drop, limit)


def _read(path, enc, target, features, need_target, sep, drop, limit):
    size = path.stat().st_size
    with open(path, newline="", encoding=enc) as fh:
        first = fh.readline()
        if not first.strip():
            raise FFNNError(f"{path}: the file is empty; a CSV needs a header line and data rows")
        delim = _sep(path, first, sep)
        lines = _Counted(itertools.chain([first], fh))
        rows = csv.reader(lines, delimiter=delim)
        try:
            header = [h.strip() for h in next(rows)]
            roles = _roles(path, header, target, features, need_target, drop)
            cols = _columns(path, rows, lines, header, roles, size, limit)
        except csv.Error as e:
            raise FFNNError(
                f"{path}: line {rows.line_num}: not valid CSV ({e}); check quotes and the "
                "delimiter (sep=)"
            ) from None
    return _assemble(path, header, roles, cols)


def _roles(path, header, target, features, need_target, drop) -> dict:
    """Column index -> 'feature' / 'target' / 'index' / 'skip', and the names chosen."""
    if _looks_numeric(header):
        raise FFNNError(
            f"{path}: the first line ({','.join(header[:4])}…) looks like numbers, not column "
            "names; add a header line naming the columns"
        )
    if len(set(header)) != len(header):
        dup = sorted({h for h in header if header.count(h) > 1})
        raise FFNNError(f"{path}: column names repeat in the header: {dup}")
    drop = [drop] if isinstance(drop, str) else list(drop or ())
    unknown = [d for d in drop if d not in header]
    if unknown:
        raise FFNNError(
            f"{path}: cannot drop {unknown}: no such columns; the columns are: {', '.join(header)}"
        )
    role = {j: "skip" for j, h in enumerate(header) if h in drop}
    if header[0] in _INDEX_NAMES and 0 not in role and header[0] not in (features or []):
        role[0] = "index"
    for j, h in enumerate(header):
        if h == "" and j not in role and h not in (features or []):
            raise FFNNError(
                f"{path}: column {j + 1} has no name in the header; name it, or remove it "
                "(pandas: df.to_csv(path, index=False) leaves the index out)"
            )
    names = [h for j, h in enumerate(header) if j not in role]
    target = _target(path, names, header, target, features, need_target)
    if features is None:
        features = [h for h in names if h != target]
        if not features:
            raise FFNNError(f"{path}: no feature columns besides the target {target!r}")
    else:
        missing = [f for f in features if f not in header]
        if missing:
            raise FFNNError(
                f"{path}: the model needs feature columns that the file lacks: "
                f"{', '.join(missing[:8])}{' …' if len(missing) > 8 else ''} "
                f"(the file has: {', '.join(header[:12])}{' …' if len(header) > 12 else ''})"
            )
    for j, h in enumerate(header):
        if role.get(j) != "index":
            role[j] = "target" if h == target else ("feature" if h in features else "skip")
    return {"role": role, "features": list(features), "target": target}


def _target(path, names, header, target, features, need_target):
    if target is not None and not isinstance(target, str):
        raise FFNNError(f"{path}: name the target column by its header name, got {target!r}")
    if target is not None and target not in names:
        raise FFNNError(f"{path}: no column named {target!r}; the columns are: {', '.join(header)}")
    if target is None:
        guess = [h for h in names if h.lower() in TARGET_NAMES and h not in (features or [])]
        if guess:
            return guess[0]
        if need_target:
            raise FFNNError(
                f"{path}: which column is the target? name it with --target (target=...); "
                f"the columns are: {', '.join(header)}"
            )
    return target


def _columns(path, rows, lines, header, roles, size, limit) -> dict:
    """Read the data rows in chunks of ~65k cells into float64 arrays (and the target's text)."""
    role = roles["role"]
    used = [j for j in range(len(header)) if role[j] in ("feature", "index")]
    tcol = next((j for j in role if role[j] == "target"), None)
    st = {"X": {j: [] for j in used}, "y": None if tcol is None else [], "bad": {}, "n": 0}
    chunk, where = [], []
    for r in rows:
        if not any(c.strip() for c in r):
            continue
        if len(r) != len(header):
            raise FFNNError(
                f"{path}: line {rows.line_num} has {len(r)} fields but the header names "
                f"{len(header)} columns"
            )
        chunk.append(r)
        where.append(rows.line_num)
        if st["n"] + len(chunk) in (16, 256) or len(chunk) * len(header) >= 65536:
            _flush(path, header, role, tcol, chunk, where, st)
            _check_size(path, st["n"], len(used), tcol is not None, lines.chars, size, limit)
            chunk, where = [], []
    _flush(path, header, role, tcol, chunk, where, st)
    return st


def _cells(cells: list[str]) -> np.ndarray:
    """Cells as float64 (NumPy parses plain numbers; markers and booleans go one by one)."""
    try:
        return np.array(cells, dtype=np.float64)
    except ValueError:
        out = np.empty(len(cells))
        for i, c in enumerate(cells):
            try:
                out[i] = to_float(c)
            except ValueError:
                raise _CellError(i) from None
        return out


class _CellError(Exception):
    def __init__(self, i: int):
        self.i = i


def _flush(path, header, role, tcol, chunk, where, st) -> None:
    n0 = st["n"]
    for j, arrays in st["X"].items():
        cells = [r[j] for r in chunk]
        try:
            v = _cells(cells)
        except _CellError as e:
            _not_numeric(path, header[j], cells[e.i], where[e.i], role[j])
        if role[j] == "index" and not np.array_equal(v, np.arange(n0, n0 + len(v))):
            i = int(np.flatnonzero(v != np.arange(n0, n0 + len(v)))[0])
            _not_numeric(path, "", cells[i], where[i], "index")
        bad = np.flatnonzero(~np.isfinite(v))
        if bad.size:
            b = st["bad"].setdefault(j, [0])
            b[0] += bad.size
            b += [where[i] for i in bad[: max(0, 6 - len(b))]]
        arrays.append(v)
    if tcol is not None:
        st["y"] += [r[tcol].strip() for r in chunk]
    st["n"] += len(chunk)


def _check_size(path, n, width, has_target, chars, size, limit) -> None:
    """Refuse before the arrays outgrow the limit: n rows read from ``chars`` of ``size``.
    A numeric cell costs 16 bytes (its array and the final matrix), a target label ~64."""
    rows_total = n * max(size / max(chars, 1), 1.0)
    target = " and a target" if has_target else ""
    check_bytes(
        int(rows_total * (width * 16 + has_target * 64)),
        f"{path} ({size:,} bytes, about {rows_total:,.0f} rows × {width} numeric columns{target})",
        "use fewer rows or columns (drop=), or raise the limit",
        limit,
    )


def _not_numeric(path, name, cell, line, role):
    if role == "index":
        raise FFNNError(
            f"{path}: the first column has no name in the header and is not a row index "
            f"(line {line}: {cell!r}); name it, or remove it"
        )
    raise FFNNError(
        f"{path}: feature column {name!r} is not numeric (line {line}: {cell[:40]!r}); ffnn takes "
        "numeric features only: encode it as numbers or drop the column (drop=)"
    )


def _assemble(path, header, roles, cols):
    n = cols["n"]
    if n == 0:
        raise FFNNError(f"{path}: no data rows below the header")
    role = roles["role"]
    for j, (count, *lines) in cols["bad"].items():
        shown = ", ".join(str(i) for i in lines) + (" …" if count > len(lines) else "")
        raise FFNNError(
            f"{path}: feature column {header[j]!r} has {count} missing or NaN/inf values "
            f"(line {shown}; a number beyond ±1.8e308 reads as inf); remove those rows or fill "
            "them in"
        )
    if any(r == "index" for r in role.values()):
        warnings.warn(
            f"{path}: dropped the unnamed first column (0, 1, …, {n - 1}): a pandas index. "
            "Save with df.to_csv(path, index=False) to avoid this note",
            UserWarning,
            stacklevel=4,
        )
    by_name = {h: j for j, h in enumerate(header)}
    X = np.empty((n, len(roles["features"])))
    for k, f in enumerate(roles["features"]):
        X[:, k] = np.concatenate(cols["X"][by_name[f]])
    y = None if cols["y"] is None else cols["y"]
    return X, y, roles["features"], roles["target"]
