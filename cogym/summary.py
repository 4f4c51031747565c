"""Summaries of runs: counts, ticks and returns per actor, and their console rendering."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from cogym.trial import TrialResult

__all__ = ["ActorReturns", "RunSummary"]


@dataclass(frozen=True)
class ActorReturns:
    """Mean, min and max return of one actor over the trials of a run."""

    actor: str
    mean: float
    minimum: float
    maximum: float
    std: float
    trials: int


@dataclass(frozen=True)
class RunSummary:
    """What ``cogym run`` prints at the end."""

    trials: int
    states: dict[str, int]
    ticks: int
    seconds: float
    returns: tuple[ActorReturns, ...]
    errors: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    @property
    def trials_per_second(self) -> float:
        return self.trials / self.seconds if self.seconds > 0 else math.inf

    @property
    def ticks_per_second(self) -> float:
        return self.ticks / self.seconds if self.seconds > 0 else math.inf

    def actor(self, name: str) -> ActorReturns:
        for entry in self.returns:
            if entry.actor == name:
                return entry
        raise KeyError(name)

    @classmethod
    def of(cls, results: Iterable[TrialResult], seconds: float) -> RunSummary:
        """Summarise results; returns count the trials that ended, not those that failed."""
        results = list(results)
        per_actor: dict[str, list[float]] = {}
        for result in results:
            if result.state.value != "ended":
                continue
            for actor, value in result.returns.items():
                per_actor.setdefault(actor, []).append(value)
        returns = []
        for actor, values in per_actor.items():
            mean = sum(values) / len(values)
            std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
            returns.append(ActorReturns(actor, mean, min(values), max(values), std, len(values)))
        errors = tuple((r.trial_id, r.error or "") for r in results if r.error)
        return cls(
            trials=len(results),
            states=dict(Counter(r.state.value for r in results)),
            ticks=sum(r.ticks for r in results),
            seconds=seconds,
            returns=tuple(returns),
            errors=errors,
        )

    def describe(self) -> str:
        """One line: trials by state, ticks, time and rates."""
        states = ", ".join(f"{n} {state}" for state, n in sorted(self.states.items()))
        return (
            f"{self.trials} trials ({states}), {self.ticks:,} ticks in {self.seconds:.2f} s: "
            f"{self.trials_per_second:,.1f} trials/s, {self.ticks_per_second:,.0f} ticks/s"
        )

    def _repr_html_(self) -> str:
        """An HTML table, for notebooks."""
        import html

        rows = "".join(
            f"<tr><td>{html.escape(e.actor)}</td><td>{e.trials}</td><td>{e.mean:.2f}</td>"
            f"<td>{e.std:.2f}</td><td>{e.minimum:.2f}</td><td>{e.maximum:.2f}</td></tr>"
            for e in self.returns
        )
        return (
            "<table><thead><tr><th>actor</th><th>trials</th><th>mean return</th><th>std</th>"
            f"<th>min</th><th>max</th></tr></thead><tbody>{rows}</tbody></table>"
            f"<p>{html.escape(self.describe())}</p>"
        )

    def table(self, title: str = "run summary", caption: bool = True):  # noqa: ANN201
        """The returns per actor as a rich table, with :meth:`describe` as its caption."""
        from rich.table import Table

        table = Table(title=title, title_justify="left")
        table.add_column("actor")
        table.add_column("trials", justify="right")
        table.add_column("mean return", justify="right")
        table.add_column("std", justify="right")
        table.add_column("min", justify="right")
        table.add_column("max", justify="right")
        for entry in self.returns:
            table.add_row(
                entry.actor,
                str(entry.trials),
                f"{entry.mean:.2f}",
                f"{entry.std:.2f}",
                f"{entry.minimum:.2f}",
                f"{entry.maximum:.2f}",
            )
        if caption:
            table.caption = self.describe()
            table.caption_justify = "left"
        return table
