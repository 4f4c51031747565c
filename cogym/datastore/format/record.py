"""A finished trial as columns (:class:`TrialRecord`), and what trials of one cast share.

:class:`ActorSchema` names an actor's stream (its name, class and spaces) and holds the
functions that copy and stack its values; :class:`Schemas` caches schemas, plans and spec JSON
per process, so that recording a trial of a known cast works nothing out again. The recorder
that fills records is in :mod:`cogym.datastore.write.recorder`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from gymnasium import spaces

from cogym.datastore.format import spaces as leafs
from cogym.environment import ActorClass
from cogym.spaces import space_to_dict
from cogym.spec import TrialSpec

__all__ = [
    "NOT_ENDED",
    "TERMINATED",
    "TRUNCATED",
    "ActorRecord",
    "ActorSchema",
    "CastPlan",
    "Schemas",
    "TrialRecord",
]

NOT_ENDED, TERMINATED, TRUNCATED = 0, 1, 2
"""How an actor's part of a trial ended (``ended_how``)."""

Columns = dict[tuple[str, ...], np.ndarray]


@dataclass(frozen=True)
class ActorSchema:
    """What every trial of an actor with these spaces shares; its ``key`` names its stream."""

    name: str
    actor_class: str
    observation_space: spaces.Space
    action_space: spaces.Space | None
    key: str

    @classmethod
    def of(cls, name: str, actor_class: ActorClass) -> ActorSchema:
        what = f"actor {name!r}"
        leafs.check_recordable(actor_class.observation_space, f"{what}'s observation space")
        if actor_class.action_space is not None:
            leafs.check_recordable(actor_class.action_space, f"{what}'s action space")
        key = json.dumps(
            [
                name,
                actor_class.name,
                space_to_dict(actor_class.observation_space),
                None
                if actor_class.action_space is None
                else space_to_dict(actor_class.action_space),
            ]
        )
        return cls(
            name, actor_class.name, actor_class.observation_space, actor_class.action_space, key
        )

    @functools.cached_property
    def capture_observation(self) -> Callable[[Any], Any]:
        return leafs.capture(self.observation_space)

    @functools.cached_property
    def capture_action(self) -> Callable[[Any], Any]:
        return leafs.capture(self.action_space) if self.action_space is not None else _identity

    @functools.cached_property
    def stack_observations(self) -> Callable[[Any], Columns]:
        return leafs.stacker(self.observation_space)

    @functools.cached_property
    def stack_actions(self) -> Callable[[Any], Columns]:
        return leafs.stacker(self.action_space) if self.action_space is not None else _no_columns


def _identity(value: Any) -> Any:
    return value


def _no_columns(values: Any) -> Columns:
    return {}


@dataclass
class ActorRecord:
    """One actor's part of one trial, as columns.

    Rows are the ticks on which the actor had an observation (it acted, or watched); rewards
    are one entry per tick on which the actor received a reward, revisions applied.
    """

    schema: ActorSchema
    ticks: np.ndarray
    observations: Columns
    actions: Columns | None
    reward_ticks: np.ndarray
    rewards: np.ndarray
    env_rewards: np.ndarray
    """The environment's own reward on that tick; NaN where it gave none."""
    final_observation: Columns | None
    """One row: the observation the actor was left with when its part ended, if any."""
    ended_tick: int = -1
    ended_how: int = NOT_ENDED

    @property
    def name(self) -> str:
        return self.schema.name

    @property
    def rows(self) -> int:
        return len(self.ticks)


@dataclass
class TrialRecord:
    """A finished trial: its summary (the index entry, as JSON too), its spec, and its data."""

    summary: dict[str, Any]
    spec_json: str
    actors: list[ActorRecord]
    frame_ticks: np.ndarray | None = None
    frames: np.ndarray | None = None
    rewards_sent: list[tuple[int, int, str, str, float, float]] = field(default_factory=list)
    """``(tick sent, tick named, sender, receiver, value, confidence)``."""
    messages: list[tuple[int, str, str, str]] = field(default_factory=list)
    """``(tick, sender, receiver, payload as JSON)``."""
    annotations: list[tuple[int, str, str]] = field(default_factory=list)
    """``(tick, actor, note as JSON)``."""
    summary_json: str = ""

    def __post_init__(self) -> None:
        if not self.summary_json:
            self.summary_json = json.dumps(self.summary)

    @property
    def trial_id(self) -> str:
        return self.summary["id"]

    @property
    def nbytes(self) -> int:
        total = 0
        for actor in self.actors:
            total += actor.ticks.nbytes + 3 * actor.rewards.nbytes
            total += sum(a.nbytes for a in actor.observations.values())
            if actor.actions is not None:
                total += sum(a.nbytes for a in actor.actions.values())
        if self.frames is not None:
            total += self.frames.nbytes
        notes = len(self.rewards_sent) + len(self.messages) + len(self.annotations)
        return total + 64 * notes + len(self.summary_json)


@dataclass(frozen=True)
class CastPlan:
    """What the recorder needs per actor of a cast, worked out once per cast."""

    schemas: dict[str, ActorSchema]
    capture_observation: dict[str, Callable[[Any], Any]]
    capture_action: dict[str, Callable[[Any], Any]]
    solo: (
        tuple[
            str,
            Callable[[Any], Any],
            Callable[[Any], Any],
            np.dtype | None,
            tuple[int, ...] | None,
        ]
        | None
    ) = None
    """For a cast of one acting actor, the recorder's fast path: its name, its capture
    functions, and the dtype and shape of an observation kept as raw bytes (``None`` if its
    observations are not plain arrays)."""


class Schemas:
    """Per-process caches of what trials of the same cast share (actor schemas, spec JSON)."""

    def __init__(self) -> None:
        self._actors: dict[int, tuple[ActorClass, dict[str, ActorSchema]]] = {}
        self._plans: dict[int, tuple[Mapping[str, ActorClass], CastPlan]] = {}
        self._specs: dict[Any, tuple[Any, str]] = {}
        self._summary_tails: dict[Any, tuple[Any, str, dict[str, str], dict[str, str], str]] = {}
        self._solo_actors: dict[str, dict[str, str]] = {}

    def actor(self, name: str, actor_class: ActorClass) -> ActorSchema:
        entry = self._actors.get(id(actor_class))
        if entry is None or entry[0] is not actor_class:
            entry = self._actors[id(actor_class)] = (actor_class, {})
        schema = entry[1].get(name)
        if schema is None:
            schema = entry[1][name] = ActorSchema.of(name, actor_class)
        return schema

    def plan(self, actor_classes: Mapping[str, ActorClass]) -> CastPlan:
        entry = self._plans.get(id(actor_classes))
        if entry is not None and entry[0] is actor_classes:
            return entry[1]
        schemas = {name: self.actor(name, c) for name, c in actor_classes.items()}
        solo = None
        if len(schemas) == 1:
            ((name, schema),) = schemas.items()
            if schema.action_space is not None:
                space = schema.observation_space
                plain = isinstance(space, (spaces.Box, spaces.MultiDiscrete, spaces.MultiBinary))
                dtype = np.dtype(space.dtype) if plain and space.shape else None
                shape = tuple(space.shape) if dtype is not None else None
                solo = (name, schema.capture_observation, schema.capture_action, dtype, shape)
        plan = CastPlan(
            schemas,
            {name: s.capture_observation for name, s in schemas.items()},
            {name: s.capture_action for name, s in schemas.items()},
            solo,
        )
        self._plans[id(actor_classes)] = (actor_classes, plan)
        return plan

    def solo_actors(self, schema: ActorSchema) -> dict[str, str]:
        """``{name: actor class}`` of a one-actor trial, one dict per schema (it keys the cache
        of :meth:`summary_tail`)."""
        actors = self._solo_actors.get(schema.key)
        if actors is None:
            actors = self._solo_actors[schema.key] = {schema.name: schema.actor_class}
        return actors

    def summary_tail(
        self,
        spec: TrialSpec,
        implementations: Mapping[str, str],
        actors: Mapping[str, str],
        frames: bool,
    ) -> str:
        """The JSON of the summary fields that trials of one cast share (cached: trials of a
        cast share these very objects, so their identities find the entry, which is checked)."""
        key = (id(spec.tags), id(implementations), id(actors), frames)
        entry = self._summary_tails.get(key)
        environment = spec.environment.implementation
        if (
            entry is None
            or entry[0] is not spec.tags
            or entry[1] != environment
            or entry[2] != implementations
            or entry[3] != actors
        ):
            tail = json.dumps(
                {
                    "tags": spec.tags,
                    "environment": environment,
                    "implementations": dict(implementations),
                    "actors": dict(actors),
                    "frames": frames,
                }
            )[1:-1]
            if len(self._summary_tails) > 4096:
                self._summary_tails.clear()
            entry = (spec.tags, environment, dict(implementations), dict(actors), tail)
            self._summary_tails[key] = entry
        return entry[4]

    def spec_json(self, spec: TrialSpec) -> str:
        """The spec as JSON without its seed (trials of one run share one string)."""
        # copies of a spec (one per trial, seeds apart) share their tags dict: its identity,
        # checked against the one kept, stands for the tags
        key = (
            spec.cast_key,
            id(spec.tags),
            spec.max_ticks,
            spec.max_seconds,
            spec.datastore,
            spec.record_frames,
        )
        entry = self._specs.get(key)
        if entry is None or entry[0] is not spec.tags:
            data = spec.to_dict()
            data.pop("seed", None)
            if len(self._specs) > 4096:
                self._specs.clear()
            entry = self._specs[key] = (spec.tags, json.dumps(data, sort_keys=True))
        return entry[1]
