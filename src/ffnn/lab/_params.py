"""Parameters of a lab experiment: a name, a type, a default, a quick value and a help line.

Types are ``int``, ``float``, ``bool``, ``str``, ``list[int]`` and ``list[float]`` (lists are kept
as tuples, so a set of values is frozen and hashable). Values come from Python (``{"width": 512}``)
or from the command line as text (``width=512``, ``widths=16,64,256``); both are checked here.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ffnn.errors import FFNNError

__all__ = ["Param", "Params", "resolve"]

_SCALARS = (int, float, bool, str)


@dataclass(frozen=True)
class Param:
    """One setting of an experiment: ``default`` at its full size, ``quick`` for ``--quick``."""

    name: str
    type: Any
    default: Any
    quick: Any = None
    help: str = ""

    def __post_init__(self):
        if self.type not in _SCALARS and self.element is None:
            raise TypeError(f"parameter {self.name!r}: unsupported type {self.type!r}")
        object.__setattr__(self, "default", self.check(self.default))
        if self.quick is not None:
            object.__setattr__(self, "quick", self.check(self.quick))

    @property
    def element(self):
        """The element type of a list parameter, or None for a scalar."""
        if typing.get_origin(self.type) is list:
            return typing.get_args(self.type)[0]
        return None

    @property
    def type_name(self) -> str:
        el = self.element
        return f"list of {el.__name__}" if el else self.type.__name__

    def check(self, value):
        """``value`` as this parameter's type; an FFNNError naming the key if it is not one."""
        el = self.element
        if el is None:
            return _scalar(self.name, self.type, value)
        if isinstance(value, str):
            value = [v for v in value.split(",") if v.strip()]
        if not isinstance(value, Sequence) or not value:
            raise FFNNError(
                f"parameter {self.name!r} takes a non-empty {self.type_name}, got {value!r} "
                "(on the command line: --set NAME=1,2,3)"
            )
        return tuple(_scalar(self.name, el, v) for v in value)

    def show(self, value) -> str:
        return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


def _scalar(name: str, typ, value):
    bad = FFNNError(f"parameter {name!r} takes a {typ.__name__}, got {value!r}")
    if isinstance(value, str) and typ is not str:
        text = value.strip()
        if typ is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise bad
        try:
            value = typ(text)
        except ValueError:
            raise bad from None
    if typ is bool:
        if not isinstance(value, bool):
            raise bad
        return value
    if isinstance(value, bool) or not isinstance(value, typ if typ is not float else (int, float)):
        raise bad
    return float(value) if typ is float else value


class Params(Mapping):
    """The values of one run, read as attributes (``p.width``) or as a mapping; immutable."""

    def __init__(self, values: Mapping[str, Any]):
        self._values = MappingProxyType(dict(values))

    def __getattr__(self, name: str):
        try:
            return self.__dict__["_values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, key):
        return self._values[key]

    def __iter__(self):
        return iter(self._values)

    def __len__(self):
        return len(self._values)

    def __repr__(self):
        return f"Params({dict(self._values)!r})"


def resolve(
    specs: Sequence[Param], given: Mapping[str, Any] | None, *, quick: bool, where: str
) -> Params:
    """Defaults (or quick values), overridden by ``given``; unknown keys and bad values refused."""
    by_name = {p.name: p for p in specs}
    given = dict(given or {})
    unknown = [k for k in given if k not in by_name]
    if unknown:
        valid = ", ".join(by_name) or "none"
        raise FFNNError(
            f"{where} has no parameter {unknown[0]!r}; its parameters are: {valid} "
            f"(list them with: ffnn lab {where} --params)"
        )
    values = {}
    for p in specs:
        base = p.quick if quick and p.quick is not None else p.default
        values[p.name] = p.check(given[p.name]) if p.name in given else base
    return Params(values)


def parse_settings(items: Sequence[str]) -> dict[str, str]:
    """``["width=512", "lr=0.1"]`` → ``{"width": "512", "lr": "0.1"}`` (checked later)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise FFNNError(f"--set takes NAME=VALUE, got {item!r}")
        out[key.strip()] = value
    return out
