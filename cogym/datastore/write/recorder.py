"""The recorder of one trial: each tick's values in, a
:class:`~cogym.datastore.format.record.TrialRecord` out.

:meth:`TrialBuffer.append` (and its shortcut :meth:`TrialBuffer.append_solo`) runs on every
tick of every recorded trial, so it keeps each value as a plain value or the bytes of a copy
(an env may reuse its buffers), in lists: nothing the garbage collector tracks, so holding many
ended trials until they are stacked costs no collection time. Columns are built later, for a
group of ended trials at once (see :mod:`cogym.datastore.write.plain` and
:mod:`cogym.datastore.write.builder`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
from numpy import ndarray

from cogym.datastore.format.record import (
    NOT_ENDED,
    TERMINATED,
    TRUNCATED,
    ActorRecord,
    ActorSchema,
    CastPlan,
    Schemas,
    TrialRecord,
)
from cogym.datastore.write.summary import summary_of
from cogym.errors import DatastoreError
from cogym.trial import Sample, TrialInfo, TrialResult, TrialState

__all__ = ["POLL_TICKS", "TrialBuffer", "unrecordable"]

if Sample._fields[:11] != (
    "tick", "observations", "actions", "rewards", "terminated", "truncated", "rewards_sent",
    "messages", "env_rewards", "frame", "annotations",
):  # fmt: skip
    raise ImportError(
        "cogym.datastore.write.recorder unpacks cogym.trial.Sample by position, and its fields "
        f"changed order: {Sample._fields}; update TrialBuffer.append"
    )


class _ActorColumns:
    __slots__ = (
        "actions",
        "ended_how",
        "ended_tick",
        "env_rewards",
        "observations",
        "reward_ticks",
        "rewards",
        "schema",
        "ticks",
    )

    def __init__(self, schema: ActorSchema) -> None:
        self.schema = schema
        self.ticks: list[int] = []
        self.observations: list[Any] = []
        self.actions: list[Any] = []
        self.reward_ticks: list[int] = []
        self.rewards: list[float] = []
        self.env_rewards: list[float] = []
        self.ended_tick = -1
        self.ended_how = NOT_ENDED


_NAN = math.nan


class _General:
    """The general path of a recorder: per-actor columns, and what was sent on each tick."""

    def __init__(self, plan: CastPlan) -> None:
        self.plan = plan
        self.columns = {name: _ActorColumns(schema) for name, schema in plan.schemas.items()}
        self.rewards_sent: list[tuple[int, int, str, str, float, float]] = []
        self.messages: list[tuple[int, str, str, str]] = []
        self.annotations: list[tuple[int, str, str]] = []
        self.frame_ticks: list[int] = []
        self.frames: list[np.ndarray] = []

    def append(self, sample: Sample) -> None:
        columns = self.columns
        tick = sample.tick
        capture = self.plan.capture_observation
        for name, observation in sample.observations.items():
            actor = columns[name]
            actor.ticks.append(tick)
            actor.observations.append(capture[name](observation))
        capture = self.plan.capture_action
        for name, action in sample.actions.items():
            columns[name].actions.append(capture[name](action))
        env_rewards = sample.env_rewards or {}
        for name, value in sample.rewards.items():
            actor = columns[name]
            actor.reward_ticks.append(tick)
            actor.rewards.append(value)
            actor.env_rewards.append(env_rewards.get(name, _NAN))
        for name in sample.terminated:
            columns[name].ended_tick = tick
            columns[name].ended_how = TERMINATED
        for name in sample.truncated:
            columns[name].ended_tick = tick
            columns[name].ended_how = TRUNCATED
        for r in sample.rewards_sent:
            self.rewards_sent.append(
                (tick, int(r.tick), r.sender, r.receiver, float(r.value), float(r.confidence))
            )
        for m in sample.messages:
            self.messages.append((int(m.tick), m.sender, m.receiver, json.dumps(m.payload)))
        if sample.annotations:
            for name, note in sample.annotations.items():
                self.annotations.append((tick, name, json.dumps(note)))
        if sample.frame is not None:
            self.frame_ticks.append(tick)
            self.frames.append(np.array(sample.frame, copy=True))


POLL_TICKS = 64
"""The recorder lets its writer check its commit deadline every this many ticks."""


class TrialBuffer:
    """The recorder of one trial (see :class:`cogym.trial.TrialRecorder`).

    Each tick's values go into per-actor lists of plain values and bytes (copies of the arrays,
    as an env may reuse its buffers): objects the garbage collector does not track, so keeping
    many ended trials in memory until they are committed costs no collection time. A trial of
    one acting actor takes the *solo* path: one observation, action and reward per tick, ticks
    counted rather than stored; the first tick that does not fit (another actor, a reward or
    message sent, a frame, a note) moves it to the general path. ``sink`` receives the buffer
    when the trial finishes; ``poll`` is called every :data:`POLL_TICKS` ticks.
    """

    def __init__(
        self,
        info: TrialInfo,
        plan: CastPlan,
        sink: Callable[[TrialBuffer], None],
        poll: Callable[[], None],
    ) -> None:
        self.info = info
        self.plan = plan
        self._sink = sink
        self._poll = poll
        self._countdown = POLL_TICKS
        self.solo = plan.solo is not None
        # the solo path: one row per tick, ticks first_tick, first_tick + 1, ...
        self.first_tick = self._next_tick = -1
        self.observations: list[Any] = []
        self.actions: list[Any] = []
        self.rewards: list[float] = []
        self.env_rewards: list[float] = []
        self._add_observation = self.observations.append
        self._add_action = self.actions.append
        self._add_reward = self.rewards.append
        self._add_env_reward = self.env_rewards.append
        self.ended: tuple[int, int] = (-1, NOT_ENDED)
        # the general path, set up when a trial leaves the solo path (or never was on it)
        self.general: _General | None = None
        self.revisions: list[tuple[str, int, float]] = []
        self.result: TrialResult | None = None
        self.final_observations: Mapping[str, Any] = {}
        self.recording_error: str | None = None
        """Why the trial could not be recorded whole (see :meth:`fail_recording`)."""
        self.reported = False
        """Whether :meth:`finish` has returned (a later recording error cannot change the
        result it returned, only the index entry)."""

    def append(self, sample: Sample) -> None:
        if self.solo:
            # one unpacking instead of a field lookup each (Sample is a named tuple)
            (tick, observations, actions, rewards, terminated, truncated, sent, messages,
             env_rewards, frame, notes) = sample[:11]  # fmt: skip
            name = self.plan.solo[0]  # type: ignore[index]
            if (
                tick == self._next_tick
                and frame is None
                and not (sent or messages or notes)
                and len(observations) == 1
                and len(actions) == 1
                and name in rewards
                and env_rewards is not None
                and name in env_rewards
            ):
                self.append_solo(
                    name,
                    tick,
                    observations[name],
                    actions[name],
                    rewards[name],
                    env_rewards[name],
                    bool(terminated),
                    bool(truncated),
                )
                return
            if self.first_tick < 0 and self._start_solo(sample):
                self.append(sample)
                return
            self._leave_solo()
        self._append_general(sample)
        self._tick_done()

    def append_solo(
        self,
        name: str,
        tick: int,
        observation: Any,
        action: Any,
        reward: float,
        env_reward: float,
        terminated: bool,
        truncated: bool,
    ) -> None:
        """A tick on which actor ``name`` alone observed, acted and got a reward, and nothing
        else happened (no reward or message sent, no frame, no note): what :meth:`append` takes
        as a :class:`Sample`, without building one (the trial's one-actor loop calls this)."""
        if not (self.solo and tick == self._next_tick):
            self.append(
                Sample(
                    tick,
                    {name: observation},
                    {name: action},
                    {name: reward},
                    {name: True} if terminated else {},
                    {name: True} if truncated else {},
                    (),
                    (),
                    {name: env_reward},
                    None,
                    None,
                )
            )
            return
        _, capture_observation, capture_action, dtype, shape = self.plan.solo  # type: ignore[misc]
        if (
            type(observation) is ndarray
            and observation.dtype is dtype
            and observation.shape == shape
        ):
            self._add_observation(observation.tobytes())
        else:
            self._add_observation(capture_observation(observation))
        self._add_action(capture_action(action) if type(action) is ndarray else action)
        self._add_reward(reward)
        self._add_env_reward(env_reward)
        self._next_tick = tick + 1
        if terminated:
            self.ended = (tick, TERMINATED)
        elif truncated:
            self.ended = (tick, TRUNCATED)
        self._tick_done()

    def _tick_done(self) -> None:
        self._countdown -= 1
        if not self._countdown:
            self._countdown = POLL_TICKS
            self._poll()

    def _start_solo(self, sample: Sample) -> bool:
        """Whether the first sample fits the solo path (then it starts the tick count)."""
        name = self.plan.solo[0]  # type: ignore[index]
        if name in sample.observations and name in sample.actions:
            self.first_tick = self._next_tick = sample.tick
            return True
        return False

    def _leave_solo(self) -> None:
        """Move what the solo path collected into the general columns."""
        self.solo = False
        general = self.general = _General(self.plan)
        if self.first_tick < 0:
            return
        actor = general.columns[self.plan.solo[0]]  # type: ignore[index]
        actor.ticks = list(range(self.first_tick, self.first_tick + len(self.rewards)))
        actor.observations = self.observations
        actor.actions = self.actions
        actor.reward_ticks = list(actor.ticks)
        actor.rewards = self.rewards
        actor.env_rewards = self.env_rewards
        actor.ended_tick, actor.ended_how = self.ended

    def _append_general(self, sample: Sample) -> None:
        general = self.general
        if general is None:
            general = self.general = _General(self.plan)
        general.append(sample)

    def revise_reward(self, actor: str, tick: int, value: float) -> None:
        self.revisions.append((actor, tick, float(value)))

    def finish(
        self, result: TrialResult, final_observations: Mapping[str, Any]
    ) -> TrialResult | None:
        """Take the trial's end; returns its result as recorded when recording changed it
        (a trial that could not be recorded whole is ``failed``, with the reason)."""
        if self.result is not None:
            return None
        self.result = result
        capture = self.plan.capture_observation
        self.final_observations = {
            name: capture[name](value)
            for name, value in final_observations.items()
            if value is not None and name in capture
        }
        self._sink(self)
        self.reported = True
        return self.result if self.recording_error is not None else None

    def fail_recording(self, reason: str) -> None:
        """Mark the trial as not recorded whole: its result (and index entry) become
        ``failed``, with ``reason`` as its error (after the trial's own, if it had one)."""
        assert self.result is not None
        if self.recording_error is not None:
            return
        self.recording_error = reason
        error = reason if self.result.error is None else f"{self.result.error}\n{reason}"
        self.result = replace(self.result, state=TrialState.FAILED, error=error)

    @property
    def plain(self) -> bool:
        """Whether the trial takes the fast path (:func:`cogym.datastore.write.plain.plain_forms`
        asks only this): its cast has one acting actor (:attr:`CastPlan.solo
        <cogym.datastore.format.record.CastPlan.solo>`), each of its ticks fitted the solo path
        from the first on, and no reward of it was revised."""
        return self.solo and self.first_tick >= 0 and not self.revisions

    # -- building the record ------------------------------------------------------------------

    def record(self, schemas: Schemas) -> TrialRecord:
        """The finished trial as columns; raises :class:`DatastoreError` if a value misfits."""
        assert self.result is not None, "record() is for finished trials"
        if self.solo:
            self._leave_solo()
        try:
            return self._record(schemas)
        except ValueError as exc:
            raise DatastoreError(
                f"trial {self.result.trial_id} could not be recorded: {exc}. Make the "
                "environment's values fit the spaces it declares"
            ) from exc

    def _record(self, schemas: Schemas) -> TrialRecord:
        general = self.general or _General(self.plan)
        revisions: dict[str, list[tuple[int, float]]] = {}
        for name, tick, value in self.revisions:
            revisions.setdefault(name, []).append((tick, value))
        actors = [
            _actor_record(c, self.final_observations, revisions.get(n))
            for n, c in general.columns.items()
        ]
        text = summary_of(
            self,
            schemas,
            {a.schema.name: a.schema.actor_class for a in actors},
            bool(general.frames),
        )
        record = TrialRecord(
            json.loads(text),
            schemas.spec_json(self.info.spec),
            actors,
            summary_json=text,
            rewards_sent=general.rewards_sent,
            messages=general.messages,
            annotations=general.annotations,
        )
        if general.frames:
            record.frame_ticks = np.asarray(general.frame_ticks, dtype=np.int64)
            try:
                record.frames = np.stack(general.frames)
            except ValueError as exc:
                raise ValueError(f"the rendered frames differ in shape ({exc})") from None
        return record


def _actor_record(
    columns: _ActorColumns,
    final_observations: Mapping[str, Any],
    revisions: list[tuple[int, float]] | None,
) -> ActorRecord:
    schema = columns.schema
    where = f"actor {schema.name!r}"
    observations = _stacked(
        "observation",
        schema.stack_observations,
        columns.observations,
        columns,
        schema.observation_space,
    )
    actions = None
    if schema.action_space is not None:
        actions = _stacked(
            "action", schema.stack_actions, columns.actions, columns, schema.action_space
        )
    ticks = _int_array(columns.ticks)
    reward_ticks, rewards, env_rewards = columns.reward_ticks, columns.rewards, columns.env_rewards
    if revisions:
        reward_ticks, rewards, env_rewards = _revise(reward_ticks, rewards, env_rewards, revisions)
    reward_array = np.array(rewards, dtype=np.float64)
    final = None
    if schema.name in final_observations:
        try:
            final = schema.stack_observations([final_observations[schema.name]])
        except ValueError as exc:
            raise ValueError(
                f"{where}'s final observation (after tick {columns.ended_tick}) is not in its "
                f"observation space {schema.observation_space}: {exc}"
            ) from None
    return ActorRecord(
        schema=schema,
        ticks=ticks,
        observations=observations,
        actions=actions,
        reward_ticks=ticks if reward_ticks == columns.ticks else _int_array(reward_ticks),
        rewards=reward_array,
        env_rewards=reward_array
        if env_rewards == rewards
        else np.array(env_rewards, dtype=np.float64),
        final_observation=final,
        ended_tick=columns.ended_tick,
        ended_how=columns.ended_how,
    )


def _stacked(
    what: str, stack: Callable[[Any], Any], values: list[Any], columns: _ActorColumns, space: Any
) -> Any:
    """``values`` (the actor's ``what``: ``observation`` or ``action``) stacked as a column, or
    a ValueError naming the tick of the first one that does not fit ``space``, and why (looked
    for once one did not)."""
    try:
        return stack(values)
    except ValueError as whole:
        tick: int | str = "?"
        reason: ValueError = whole
        for row, value in enumerate(values):
            try:
                stack([value])
            except ValueError as exc:
                tick = columns.ticks[row] if row < len(columns.ticks) else "?"
                reason = exc
                break
        raise ValueError(
            f"actor {columns.schema.name!r}'s {what} at tick {tick} is not in its {what} space "
            f"{space}: {reason}"
        ) from None


def _int_array(values: list[int]) -> np.ndarray:
    """Ticks as int64; a run of consecutive ticks (the usual case) without a Python loop."""
    if values and values[-1] - values[0] == len(values) - 1:
        return np.arange(values[0], values[-1] + 1, dtype=np.int64)
    return np.array(values, dtype=np.int64)


def _revise(
    ticks: list[int], values: list[float], env: list[float], revisions: list[tuple[int, float]]
) -> tuple[list[int], list[float], list[float]]:
    by_tick = {t: i for i, t in enumerate(ticks)}
    ticks, values, env = list(ticks), list(values), list(env)
    added = False
    for tick, value in revisions:
        i = by_tick.get(tick)
        if i is None:
            by_tick[tick] = len(ticks)
            ticks.append(tick)
            values.append(value)
            env.append(_NAN)
            added = True
        else:
            values[i] = value
    if added:
        order = sorted(range(len(ticks)), key=ticks.__getitem__)
        ticks = [ticks[i] for i in order]
        values = [values[i] for i in order]
        env = [env[i] for i in order]
    return ticks, values, env


def unrecordable(buffer: TrialBuffer, schemas: Schemas, reason: str) -> TrialRecord:
    """The record of a trial whose values could not be stored: its summary (``failed``, with
    the reason as its error and ``recording_error``), no ticks."""
    buffer.fail_recording(reason)
    text = summary_of(
        buffer, schemas, {n: s.actor_class for n, s in buffer.plan.schemas.items()}, False
    )
    summary = {**json.loads(text), "recording_error": reason}
    return TrialRecord(summary, schemas.spec_json(buffer.info.spec), [])
