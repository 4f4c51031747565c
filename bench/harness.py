"""Timing helpers: baseline and cogym runs alternate in one process, and medians are compared."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Figure:
    """One benchmark's outcome: both measures, their ratio, and the target it is held to."""

    name: str
    unit: str
    baseline_name: str
    baseline: float
    cogym: float
    higher_is_better: bool
    target: float | None = None
    note: str = ""
    samples: dict[str, list[float]] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        """cogym / baseline."""
        return self.cogym / self.baseline if self.baseline else float("nan")

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.ratio >= self.target if self.higher_is_better else self.ratio <= self.target

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(ratio=self.ratio, met=self.met)
        return data


def alternate(
    baseline: Callable[[], float],
    cogym: Callable[[], float],
    rounds: int,
    warmup: bool = True,
) -> tuple[list[float], list[float]]:
    """Run ``baseline`` and ``cogym`` alternately; each returns its own measure."""
    if warmup:
        baseline()
        cogym()
    b_values, c_values = [], []
    for i in range(rounds):
        order = (baseline, cogym) if i % 2 == 0 else (cogym, baseline)
        for fn in order:
            gc.collect()
            value = fn()
            (b_values if fn is baseline else c_values).append(value)
    return b_values, c_values


def median(values: list[float]) -> float:
    return statistics.median(values)


class Stopwatch:
    def __enter__(self) -> Stopwatch:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start
