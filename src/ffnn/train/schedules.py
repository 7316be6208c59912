"""Learning-rate schedules: the multiplier s(t) in η_t = η · s(t), t = 0, 1, 2, ... the step.

A schedule is any callable ``t -> float``. The ones here are small frozen objects that also
describe themselves (:meth:`Schedule.to_dict`), so a checkpoint can record them:

* :class:`Constant`      s(t) = 1
* :class:`StepDecay`     s(t) = factor^⌊t / every⌋
* :class:`Exponential`   s(t) = rate^(t / every)
* :class:`InverseTime`   s(t) = 1 / (1 + rate · t / every)
* :class:`Cosine`        s(t) = final + (1 − final) · ½(1 + cos(π · min(t, total) / total))
* :class:`Warmup`        s(t) = start + (1 − start)(t + 1) / steps for t < steps,
                         then ``then(t − steps)``

:func:`get_schedule` turns a name (``"cosine"``, ``"warmup+cosine"``), a dict
(``{"name": "step", "every": 100, "factor": 0.1}``) or a callable into a schedule, filling in
defaults from the length of the run.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from ffnn.errors import FFNNError

__all__ = [
    "Schedule",
    "Constant",
    "StepDecay",
    "Exponential",
    "InverseTime",
    "Cosine",
    "Warmup",
    "SCHEDULES",
    "get_schedule",
]


class Schedule:
    """Base class: ``schedule(t)`` is the learning-rate multiplier at step t (0-based)."""

    name = "schedule"

    def __call__(self, t: int) -> float:
        raise NotImplementedError

    def to_dict(self) -> dict:
        d = {"name": self.name}
        for k, v in asdict(self).items():  # type: ignore[call-overload]
            d[k] = v
        return d


@dataclass(frozen=True)
class Constant(Schedule):
    """s(t) = 1."""

    name = "constant"

    def __call__(self, t: int) -> float:
        return 1.0


@dataclass(frozen=True)
class StepDecay(Schedule):
    """s(t) = factor^⌊t / every⌋: multiply the rate by ``factor`` every ``every`` steps."""

    every: int
    factor: float = 0.5
    name = "step"

    def __post_init__(self):
        _positive("step", "every", self.every)

    def __call__(self, t: int) -> float:
        return self.factor ** (t // self.every)


@dataclass(frozen=True)
class Exponential(Schedule):
    """s(t) = rate^(t / every): smooth exponential decay, by ``rate`` per ``every`` steps."""

    rate: float
    every: int = 1
    name = "exponential"

    def __post_init__(self):
        _positive("exponential", "every", self.every)
        _positive("exponential", "rate", self.rate)

    def __call__(self, t: int) -> float:
        return self.rate ** (t / self.every)


@dataclass(frozen=True)
class InverseTime(Schedule):
    """s(t) = 1 / (1 + rate · t / every), the Robbins–Monro style η/t decay."""

    rate: float = 1.0
    every: int = 1
    name = "inverse_time"

    def __post_init__(self):
        _positive("inverse_time", "every", self.every)
        if self.rate < 0:
            raise FFNNError(f"schedule 'inverse_time' needs rate >= 0, got {self.rate}")

    def __call__(self, t: int) -> float:
        return 1.0 / (1.0 + self.rate * t / self.every)


@dataclass(frozen=True)
class Cosine(Schedule):
    """s(t) = final + (1 − final) · ½(1 + cos(π t / total)), held at ``final`` after ``total``."""

    total: int
    final: float = 0.0
    name = "cosine"

    def __post_init__(self):
        _positive("cosine", "total", self.total)

    def __call__(self, t: int) -> float:
        c = 0.5 * (1.0 + math.cos(math.pi * min(t, self.total) / self.total))
        return self.final + (1.0 - self.final) * c


@dataclass(frozen=True)
class Warmup(Schedule):
    """Linear warm-up over ``steps`` steps from ``start`` to 1, then ``then(t − steps)``.

    s(t) = start + (1 − start)(t + 1) / steps for t < steps (so the first step already moves),
    and the wrapped schedule (default constant), started afresh, afterwards.
    """

    steps: int
    then: Callable[[int], float] = field(default_factory=Constant)
    start: float = 0.0
    name = "warmup"

    def __post_init__(self):
        _positive("warmup", "steps", self.steps)

    def __call__(self, t: int) -> float:
        if t < self.steps:
            return self.start + (1.0 - self.start) * (t + 1) / self.steps
        return self.then(t - self.steps)

    def to_dict(self) -> dict:
        then = self.then.to_dict() if isinstance(self.then, Schedule) else repr(self.then)
        return {"name": self.name, "steps": self.steps, "then": then, "start": self.start}


def _positive(name: str, key: str, value) -> None:
    if not value > 0:
        raise FFNNError(f"schedule '{name}' needs {key} > 0, got {value!r}")


SCHEDULES: dict[str, type[Schedule]] = {
    "constant": Constant,
    "step": StepDecay,
    "exponential": Exponential,
    "inverse_time": InverseTime,
    "cosine": Cosine,
    "warmup": Warmup,
}


def _defaults(name: str, total_steps: int, steps_per_epoch: int) -> dict:
    """Parameters of a named schedule that are not given, from the length of the run."""
    total = max(1, int(total_steps))
    per_epoch = max(1, int(steps_per_epoch))
    return {
        "constant": {},
        "step": {"every": max(1, total // 4), "factor": 0.5},  # halve the rate 3 times
        "exponential": {"rate": 0.01 ** (1.0 / total)},  # down to 1/100 at the end
        "inverse_time": {"rate": 1.0, "every": per_epoch},  # η / (1 + epoch)
        "cosine": {"total": total},
        "warmup": {"steps": max(1, total // 20)},  # the first 5% of the run
    }[name]


def get_schedule(
    spec: str | dict | Callable[[int], float] | None,
    *,
    total_steps: int = 1,
    steps_per_epoch: int = 1,
) -> Callable[[int], float]:
    """A schedule from a name, a dict, a callable or None (constant).

    ``"warmup+cosine"`` warms up over the first 5% of ``total_steps`` and then decays by a cosine
    over the rest. A dict names the schedule under ``"name"`` and overrides defaults
    (``{"name": "warmup", "steps": 100, "then": "cosine"}``); counts are in steps.
    """
    if spec is None:
        return Constant()
    if callable(spec) and not isinstance(spec, (str, dict)):
        return spec
    if isinstance(spec, str):
        if "+" in spec:
            first, _, rest = spec.partition("+")
            if first.strip() != "warmup":
                raise FFNNError(
                    f"schedule {spec!r}: only 'warmup' can be composed with '+' (as in "
                    "'warmup+cosine')"
                )
            spec = {"name": "warmup", "then": rest.strip()}
        else:
            spec = {"name": spec}
    if not isinstance(spec, dict) or "name" not in spec:
        raise FFNNError(
            f"schedule must be a name ({', '.join(SCHEDULES)}), a dict with a 'name', or a "
            f"callable step -> multiplier; got {spec!r}"
        )
    params = dict(spec)
    name = str(params.pop("name")).strip()
    if name not in SCHEDULES:
        raise FFNNError(f"unknown schedule {name!r}; choose one of {', '.join(SCHEDULES)}")
    kwargs = _defaults(name, total_steps, steps_per_epoch)
    if name == "warmup":
        warm = int(params.get("steps", kwargs["steps"]))
        then = params.pop("then", None)
        params["then"] = get_schedule(
            then, total_steps=max(1, total_steps - warm), steps_per_epoch=steps_per_epoch
        )
    kwargs.update(params)
    try:
        return SCHEDULES[name](**kwargs)
    except TypeError as e:
        raise FFNNError(f"schedule {name!r}: {e}") from None
