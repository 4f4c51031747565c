"""A recorded trial read back: its summary, spec, spaces, and its ticks as samples."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from cogym.datastore.format import spaces as leafs
from cogym.datastore.format.record import TERMINATED, TRUNCATED, ActorRecord, TrialRecord
from cogym.datastore.read.query import TrialSummary
from cogym.environment import ActorClass
from cogym.spec import TrialSpec
from cogym.trial import Message, Reward, Sample

__all__ = ["StoredTrial"]


class StoredTrial:
    """One recorded trial. Get it with ``datastore.trial(trial_id)``.

    >>> # for sample in datastore.trial(trial_id).samples():
    >>> #     print(sample.tick, sample.actions, sample.rewards)

    ``samples()`` yields :class:`cogym.trial.Sample` objects as the trial produced them,
    except that ``rewards`` hold each tick's aggregated rewards as known when the trial ended
    (retroactive rewards applied).
    """

    def __init__(self, summary: TrialSummary, record: TrialRecord) -> None:
        self.summary = summary
        self._record = record
        self._actors = {a.name: a for a in record.actors}

    @property
    def trial_id(self) -> str:
        return self.summary.trial_id

    @property
    def spec(self) -> TrialSpec:
        return self.summary.spec

    @property
    def actor_classes(self) -> dict[str, ActorClass]:
        """Each actor's class with the spaces its values were recorded in."""
        return {
            name: ActorClass(
                a.schema.actor_class, a.schema.observation_space, a.schema.action_space
            )
            for name, a in self._actors.items()
        }

    @property
    def final_observations(self) -> dict[str, Any]:
        """The observation each actor was left with at its end (absent for some failures)."""
        return {
            name: leafs.value_at(a.schema.observation_space, a.final_observation, 0)
            for name, a in self._actors.items()
            if a.final_observation is not None
        }

    @property
    def rewards_sent(self) -> tuple[Reward, ...]:
        """Every reward sent by a participant, with the tick it names."""
        return tuple(
            Reward(tick, sender, receiver, value, confidence)
            for _sent, tick, sender, receiver, value, confidence in self._record.rewards_sent
        )

    @property
    def annotations(self) -> dict[int, dict[str, Any]]:
        """The notes actors made with ``context.annotate``, by tick, then actor."""
        out: dict[int, dict[str, Any]] = {}
        for tick, actor, note in self._record.annotations:
            out.setdefault(tick, {})[actor] = json.loads(note)
        return out

    @property
    def messages(self) -> tuple[Message, ...]:
        return tuple(
            Message(tick, sender, receiver, json.loads(payload))
            for tick, sender, receiver, payload in self._record.messages
        )

    def frames(self) -> np.ndarray | None:
        """The rendered frames, one per tick, when the spec had ``record_frames: true``."""
        return self._record.frames

    def frame_ticks(self) -> np.ndarray | None:
        """The tick of each of :meth:`frames` (the frame of the state observed on that tick)."""
        return self._record.frame_ticks

    def arrays(self, actor: str) -> dict[str, Any]:
        """This trial's rows of one actor: ``tick``, ``observations``, ``actions`` (nested as the
        space)."""
        record = self._actor(actor)
        out: dict[str, Any] = {
            "tick": record.ticks,
            "observations": leafs.nest(record.schema.observation_space, record.observations),
        }
        if record.actions is not None and record.schema.action_space is not None:
            out["actions"] = leafs.nest(record.schema.action_space, record.actions)
        return out

    def returns(self) -> dict[str, float]:
        """Each actor's return, summed from the recorded rewards."""
        return {name: float(a.rewards.sum()) for name, a in self._actors.items()}

    def _actor(self, name: str) -> ActorRecord:
        try:
            return self._actors[name]
        except KeyError:
            raise KeyError(
                f"trial {self.trial_id} has no actor {name!r}; its actors: {sorted(self._actors)}"
            ) from None

    def samples(self) -> Iterator[Sample]:
        """The trial tick by tick."""
        record = self._record
        ticks = self.summary.ticks
        per_actor = []
        for name, actor in self._actors.items():
            obs_space = actor.schema.observation_space
            act_space = actor.schema.action_space
            rows = {int(t): i for i, t in enumerate(actor.ticks)}
            rewards = {
                int(t): (float(v), float(e))
                for t, v, e in zip(
                    actor.reward_ticks, actor.rewards, actor.env_rewards, strict=True
                )
            }
            per_actor.append((name, actor, obs_space, act_space, rows, rewards))
        sent: dict[int, list[Reward]] = {}
        for sent_tick, tick, sender, receiver, value, confidence in record.rewards_sent:
            sent.setdefault(sent_tick, []).append(Reward(tick, sender, receiver, value, confidence))
        messages: dict[int, list[Message]] = {}
        for tick, sender, receiver, payload in record.messages:
            messages.setdefault(tick, []).append(
                Message(tick, sender, receiver, json.loads(payload))
            )
        notes: dict[int, dict[str, Any]] = {}
        for tick, actor, note in record.annotations:
            notes.setdefault(tick, {})[actor] = json.loads(note)
        frames: Mapping[int, int] = {}
        if record.frame_ticks is not None:
            frames = {int(t): i for i, t in enumerate(record.frame_ticks)}
        last = max([ticks - 1] + [int(a.ticks[-1]) for a in self._actors.values() if len(a.ticks)])
        for tick in range(last + 1):
            observations, actions, rewards, env_rewards = {}, {}, {}, {}
            terminated, truncated = {}, {}
            for name, actor, obs_space, act_space, rows, reward_rows in per_actor:
                row = rows.get(tick)
                if row is not None:
                    observations[name] = leafs.value_at(obs_space, actor.observations, row)
                    if act_space is not None and actor.actions is not None:
                        actions[name] = leafs.value_at(act_space, actor.actions, row)
                reward = reward_rows.get(tick)
                if reward is not None:
                    rewards[name] = reward[0]
                    if not math.isnan(reward[1]):
                        env_rewards[name] = reward[1]
                if actor.ended_tick == tick:
                    if actor.ended_how == TERMINATED:
                        terminated[name] = True
                    elif actor.ended_how == TRUNCATED:
                        truncated[name] = True
            frame = None
            if tick in frames and record.frames is not None:
                frame = record.frames[frames[tick]]
            yield Sample(
                tick,
                observations,
                actions,
                rewards,
                terminated,
                truncated,
                tuple(sent.get(tick, ())),
                tuple(messages.get(tick, ())),
                env_rewards,
                frame,
                notes.get(tick),
            )

    def __repr__(self) -> str:
        s = self.summary
        returns = {k: round(v, 3) for k, v in s.returns.items()}
        return (
            f"StoredTrial({s.trial_id!r}, state={s.state.value}, ticks={s.ticks}, "
            f"returns={returns})"
        )
