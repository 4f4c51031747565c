"""Trial summaries (the index entries) and the filter that selects trials by them.

>>> f = TrialFilter(state="ended", tags={"experiment": "demo"}, returns=(400, None))
>>> f
TrialFilter(tags={'experiment': 'demo'}, state=('ended',), returns=(400.0, None))
"""

from __future__ import annotations

import datetime
import fnmatch
import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from cogym.errors import InputError
from cogym.spec import TrialSpec
from cogym.trial import TrialState

__all__ = ["TrialFilter", "TrialSummary", "as_filter", "filter_from_options"]


_STATES = {state.value: state for state in TrialState}
"""Trial states by value: a dict lookup, where ``TrialState(value)`` costs a quarter of reading
an index entry (a KeyError for an unknown one, reported as a corrupt index)."""


@dataclass(frozen=True)
class TrialSummary:
    """What the index knows of a recorded trial, without reading its ticks."""

    trial_id: str
    state: TrialState
    seed: int | None
    ticks: int
    started: float
    ended: float
    returns: Mapping[str, float]
    tags: Mapping[str, Any] = field(repr=False)
    environment: str = field(repr=False)
    implementations: Mapping[str, str] = field(repr=False)
    actor_classes: Mapping[str, str] = field(repr=False)
    error: str | None = field(default=None, repr=False)
    index: int | None = field(default=None, repr=False)
    frames: bool = field(default=False, repr=False)
    recording_error: str | None = field(default=None, repr=False)
    """Why the trial's ticks could not be recorded (its values did not fit its spaces), if so."""
    location: str = field(default="", repr=False)
    """The file that holds the trial (a shard, or the journal of the process writing it)."""
    spec_json: str = field(default="{}", repr=False, compare=False)

    @classmethod
    def of(cls, summary: Mapping[str, Any], spec_json: str, location: str) -> TrialSummary:
        return cls(
            trial_id=summary["id"],
            state=_STATES[summary["state"]],
            seed=summary.get("seed"),
            ticks=int(summary["ticks"]),
            started=float(summary["started"]),
            ended=float(summary["ended"]),
            returns=summary.get("returns", {}),
            tags=summary.get("tags", {}),
            environment=summary.get("environment", ""),
            implementations=summary.get("implementations", {}),
            actor_classes=summary.get("actors", {}),
            error=summary.get("error"),
            index=summary.get("index"),
            frames=bool(summary.get("frames", False)),
            recording_error=summary.get("recording_error"),
            location=location,
            spec_json=spec_json,
        )

    @property
    def duration(self) -> float:
        return self.ended - self.started

    @property
    def actors(self) -> tuple[str, ...]:
        return tuple(self.actor_classes)

    @property
    def total_return(self) -> float:
        """The sum of the actors' returns."""
        return float(sum(self.returns.values()))

    @functools.cached_property
    def spec(self) -> TrialSpec:
        """The spec the trial ran, seed included."""
        data = json.loads(self.spec_json)
        if self.seed is not None:
            data["seed"] = self.seed
        return TrialSpec.from_dict(data)


def _time(value: float | datetime.datetime | str | None, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, str):
        try:
            return datetime.datetime.fromisoformat(value).timestamp()
        except ValueError:
            raise InputError(
                f"{name}: {value!r} is not a time; give seconds since the epoch or an ISO "
                "date such as 2025-01-31 or 2025-01-31T12:00"
            ) from None
    return float(value)


def _range(value: Any, name: str) -> tuple[float | None, float | None] | None:
    if value is None:
        return None
    try:
        low, high = value
        return (None if low is None else float(low), None if high is None else float(high))
    except (TypeError, ValueError):
        raise InputError(
            f"{name}: expected a (low, high) pair, either may be None; got {value!r}"
        ) from None


def _names(value: str | Iterable[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, (str, TrialState)):
        return (str(value),)
    return tuple(str(v) for v in value)


@dataclass(frozen=True, init=False)
class TrialFilter:
    """Which trials to take; every criterion given must hold (unset ones match everything).

    ``ids``: trial ids or unique prefixes of them. ``tags``: every tag given must have that
    value. ``environment``: the environment implementation (``*`` and ``?`` wildcards).
    ``implementation``: some actor ran it (wildcards), or a ``{actor: implementation}``
    mapping. ``actor``: the trial has an actor of that name. ``state``: one or several of
    ``ended``, ``failed``, ``terminated``. ``returns``: ``(low, high)`` bounds, inclusive,
    on ``actor``'s return if given, else on the sum of the actors' returns. ``started_after``
    / ``started_before``: a time window on the start time (seconds since the epoch,
    ``datetime`` or ISO string).
    """

    ids: tuple[str, ...] | None = None
    tags: Mapping[str, Any] | None = None
    environment: str | None = None
    implementation: str | Mapping[str, str] | None = None
    actor: str | None = None
    state: tuple[str, ...] | None = None
    returns: tuple[float | None, float | None] | None = None
    started_after: float | None = None
    started_before: float | None = None

    def __init__(
        self,
        *,
        ids: str | Iterable[str] | None = None,
        tags: Mapping[str, Any] | None = None,
        environment: str | None = None,
        implementation: str | Mapping[str, str] | None = None,
        actor: str | None = None,
        state: str | TrialState | Iterable[str | TrialState] | None = None,
        returns: tuple[float | None, float | None] | None = None,
        started_after: float | datetime.datetime | str | None = None,
        started_before: float | datetime.datetime | str | None = None,
    ) -> None:
        states = _names(state)
        if states is not None:
            known = [s.value for s in TrialState]
            for s in states:
                if s not in known:
                    raise InputError(f"state: unknown trial state {s!r}; known: {', '.join(known)}")
        put = object.__setattr__
        put(self, "ids", _names(ids))
        put(self, "tags", dict(tags) if tags is not None else None)
        put(self, "environment", environment)
        put(
            self,
            "implementation",
            dict(implementation) if isinstance(implementation, Mapping) else implementation,
        )
        put(self, "actor", actor)
        put(self, "state", states)
        put(self, "returns", _range(returns, "returns"))
        put(self, "started_after", _time(started_after, "started_after"))
        put(self, "started_before", _time(started_before, "started_before"))

    def __repr__(self) -> str:
        shown = [
            f"{f.name}={getattr(self, f.name)!r}"
            for f in fields(self)
            if getattr(self, f.name) is not None
        ]
        return f"TrialFilter({', '.join(shown)})"

    @property
    def matches_everything(self) -> bool:
        """Whether no criterion is set (every trial passes)."""
        return all(getattr(self, f.name) is None for f in fields(self))

    def __call__(self, summary: TrialSummary) -> bool:
        """Whether ``summary`` passes the filter."""
        if self.ids is not None and not any(summary.trial_id.startswith(i) for i in self.ids):
            return False
        if self.state is not None and summary.state.value not in self.state:
            return False
        if self.tags is not None:
            tags = summary.tags
            for key, value in self.tags.items():
                if key not in tags or not _same(tags[key], value):
                    return False
        if self.environment is not None and not fnmatch.fnmatchcase(
            summary.environment, self.environment
        ):
            return False
        if self.actor is not None and self.actor not in summary.actor_classes:
            return False
        if self.implementation is not None:
            used = summary.implementations
            if isinstance(self.implementation, Mapping):
                for name, pattern in self.implementation.items():
                    if name not in used or not fnmatch.fnmatchcase(used[name], pattern):
                        return False
            elif not any(fnmatch.fnmatchcase(v, self.implementation) for v in used.values()):
                return False
        if self.returns is not None:
            if self.actor is not None:
                if self.actor not in summary.returns:
                    return False
                value = summary.returns[self.actor]
            else:
                value = summary.total_return
            low, high = self.returns
            if (low is not None and value < low) or (high is not None and value > high):
                return False
        if self.started_after is not None and summary.started < self.started_after:
            return False
        return self.started_before is None or summary.started <= self.started_before


def _same(stored: Any, wanted: Any) -> bool:
    if isinstance(stored, bool) or isinstance(wanted, bool):
        return stored is wanted or str(stored).lower() == str(wanted).lower()
    if stored == wanted:
        return True
    return str(stored) == str(wanted)


def as_filter(
    filter: TrialFilter | Mapping[str, Any] | None, criteria: Mapping[str, Any]
) -> TrialFilter:
    """Merge a filter (or a dict of criteria) with keyword criteria into one filter."""
    if filter is None:
        base: dict[str, Any] = {}
    elif isinstance(filter, TrialFilter):
        base = {
            f.name: getattr(filter, f.name)
            for f in fields(filter)
            if getattr(filter, f.name) is not None
        }
    elif isinstance(filter, Mapping):
        base = dict(filter)
    else:
        raise InputError(
            f"filter must be a TrialFilter or a dict of criteria, got {type(filter).__name__}"
        )
    known = {f.name for f in fields(TrialFilter)}
    merged = {**base, **criteria}
    unknown = sorted(set(merged) - known)
    if unknown:
        raise InputError(
            f"unknown trial filter criteria {unknown}; known: {', '.join(sorted(known))}"
        )
    return TrialFilter(**merged)


def _when(value: str | float | None) -> str | float | None:
    if value is None or isinstance(value, float):
        return value
    try:
        return float(value)
    except ValueError:
        return value


def _bound(value: str | float | None, name: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except ValueError:
        raise InputError(f"{name}: {value!r} is not a number; give a return such as 200") from None


def filter_from_options(
    *,
    state: Iterable[str] = (),
    tags: Iterable[str] = (),
    environment: str | None = None,
    implementation: str | None = None,
    with_actor: str | None = None,
    min_return: str | float | None = None,
    max_return: str | float | None = None,
    since: str | float | None = None,
    until: str | float | None = None,
    prefix: str = "--",
) -> TrialFilter:
    """The filter that ``cogym trials ls`` options (and the dashboard's fields) describe, as
    text: ``tags`` as ``KEY=VALUE``, ``since``/``until`` as ISO times or epoch seconds.
    Errors name the option: ``--min-return`` with ``prefix="--"``, ``min_return`` with ``""``."""

    def option(name: str) -> str:
        return f"--{name.replace('_', '-')}" if prefix == "--" else f"{prefix}{name}"

    tag_values: dict[str, str] = {}
    for tag in tags:
        key, sep, value = tag.partition("=")
        if not sep or not key:
            raise InputError(f"{option('tag')} {tag!r}: write it as KEY=VALUE")
        tag_values[key] = value
    low = _bound(min_return, option("min_return"))
    high = _bound(max_return, option("max_return"))
    returns = None if low is None and high is None else (low, high)
    after = _time(_when(since or None), option("since"))
    before = _time(_when(until or None), option("until"))
    return TrialFilter(
        state=tuple(state) or None,
        tags=tag_values or None,
        environment=environment or None,
        implementation=implementation or None,
        actor=with_actor or None,
        returns=returns,
        started_after=after,
        started_before=before,
    )
