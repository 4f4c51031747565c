"""Re-execute a recorded trial from its seed and recorded actions, and compare tick by tick.

The trial's spec is run again with every acting actor made ``external`` and fed the recorded
actions (observers watch through :class:`Watcher`); each tick's observations, the
environment's own rewards and the terminated / truncated flags are compared with the record.
Rewards and messages that *actors* sent are not re-sent (the actors do not run), so an
environment that reacts to messages from actors may legitimately diverge.

A replay runs in an environment built for it alone. When it differs from the record, the
report says whether rebuilding the environment is what changes the result: the trial is
replayed twice more in one environment, and if those two differ, the environment does not fully
reset (a trial recorded after others in the same process depended on them; such environments
want ``environment: {rebuild: per_trial}``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from cogym.actors import EXTERNAL
from cogym.datastore.read.stored import StoredTrial
from cogym.environment import OBSERVER
from cogym.errors import CogymError, EnvironmentFailure, InputError
from cogym.orchestrator import Orchestrator
from cogym.spec import TrialSpec
from cogym.trial import Sample, Trial, TrialState
from cogym.trial.values import ENVIRONMENT

__all__ = ["Difference", "ReplayReport", "Watcher", "render_replay", "replay", "same_value"]

WATCHER = "python:cogym.datastore.replay:Watcher"


class Watcher:
    """The stand-in for observers during a replay: watches, does nothing."""

    def act(self, observation: Any) -> None:
        return None


@dataclass(frozen=True)
class Difference:
    """The first place where the replay differs from the record."""

    tick: int
    actor: str | None
    field: str
    recorded: Any
    replayed: Any

    def __str__(self) -> str:
        who = f", actor {self.actor!r}" if self.actor is not None else ""
        return (
            f"tick {self.tick}{who}, {self.field}: recorded {_short(self.recorded)}, "
            f"replayed {_short(self.replayed)}"
        )


@dataclass(frozen=True)
class ReplayReport:
    """Whether a replay reproduced the record; ``difference`` says where it first did not."""

    trial_id: str
    reproduced: bool
    ticks: int
    """Ticks compared."""
    recorded_ticks: int
    difference: Difference | None = None
    notes: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.reproduced:
            text = (
                f"trial {self.trial_id} reproduces: {self.ticks} of {self.recorded_ticks} ticks "
                "identical"
            )
        else:
            text = (
                f"trial {self.trial_id} does not reproduce: first difference at {self.difference}"
            )
        return "\n".join([text, *self.notes])


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def same_value(a: Any, b: Any) -> bool:
    """Exact equality of observations: arrays element-wise (NaN equals NaN), dicts and tuples
    by part."""
    if isinstance(a, dict) or isinstance(b, dict):
        return (
            isinstance(a, dict)
            and isinstance(b, dict)
            and a.keys() == b.keys()
            and all(same_value(a[k], b[k]) for k in a)
        )
    if isinstance(a, tuple) or isinstance(b, tuple):
        return (
            isinstance(a, tuple)
            and isinstance(b, tuple)
            and len(a) == len(b)
            and all(same_value(x, y) for x, y in zip(a, b, strict=True))
        )
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    x, y = np.asarray(a), np.asarray(b)
    if x.shape != y.shape:
        return False
    if x.dtype.kind in "fc" or y.dtype.kind in "fc":
        return bool(np.array_equal(x, y, equal_nan=True))
    return bool(np.array_equal(x, y))


def _same_number(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def _compare(recorded: Sample, replayed: Sample) -> Difference | None:
    tick = recorded.tick
    if recorded.observations.keys() != replayed.observations.keys():
        return Difference(
            tick,
            None,
            "actors observing",
            sorted(recorded.observations),
            sorted(replayed.observations),
        )
    for name, value in recorded.observations.items():
        if not same_value(value, replayed.observations[name]):
            return Difference(tick, name, "observation", value, replayed.observations[name])
    env = replayed.env_rewards or {}
    recorded_env = recorded.env_rewards or {}
    for name in sorted(set(env) | set(recorded_env)):
        a, b = recorded_env.get(name), env.get(name)
        if a is None or b is None or not _same_number(float(a), float(b)):
            return Difference(tick, name, "environment reward", a, b)
    for field in ("terminated", "truncated"):
        a, b = getattr(recorded, field), getattr(replayed, field)
        if set(a) != set(b):
            return Difference(tick, None, field, sorted(a), sorted(b))
    return None


def _replay_spec(stored: StoredTrial) -> TrialSpec:
    spec = stored.spec
    classes = stored.actor_classes
    actors = []
    for actor in spec.actors:
        data = actor.model_dump(mode="json")
        recorded = classes.get(actor.name)
        watches = (
            recorded.action_space is None if recorded is not None else actor.actor_class == OBSERVER
        )
        if watches:
            data.update(implementation=WATCHER, config={})
        else:
            data.update(implementation=EXTERNAL, config={})
        actors.append(data)
    environment = stored.spec.environment.model_dump(mode="json") | {"rebuild": "per_trial"}
    return spec.replace(
        actors=actors,
        environment=environment,
        datastore=None,
        record_frames=False,
        max_seconds=None,
    )


def replay(stored: StoredTrial, orchestrator: Orchestrator | None = None) -> ReplayReport:
    """Re-execute ``stored`` and compare; see the module docstring."""
    summary = stored.summary
    if summary.seed is None:
        raise InputError(
            f"trial {summary.trial_id} was recorded without a seed, so it cannot be replayed"
        )
    notes = []
    # what the environment sent (a Cogment environment's rewards) it sends again in the replay
    rewards = [r for r in stored.rewards_sent if r.sender != ENVIRONMENT]
    messages = [m for m in stored.messages if m.sender != ENVIRONMENT]
    if rewards or messages:
        notes.append(
            f"note: actors sent {len(rewards)} reward(s) and {len(messages)} "
            "message(s) in the recorded trial; the replay does not send them again"
        )
    if summary.state is not TrialState.ENDED:
        ended = f"note: the recorded trial {summary.state.value} at tick {summary.ticks}"
        notes.append(f"{ended}: {summary.error}" if summary.error else ended)
    spec = _replay_spec(stored)
    owned = orchestrator is None
    orchestrator = orchestrator or Orchestrator(keep_samples=True)
    if not orchestrator.keep_samples:
        raise InputError("replay needs an orchestrator built with keep_samples=True")
    try:
        trial = orchestrator.start(spec, seed=summary.seed, trial_id=f"replay-{summary.trial_id}")
        report = _drive(trial, stored, notes)
        if not trial.done:
            trial.terminate("replay compared up to the first difference")
    finally:
        if owned:
            orchestrator.close()
    if report.reproduced:
        return report
    note = _rebuild_note(stored, spec, list(trial.samples))
    return dataclasses.replace(report, notes=(*report.notes, note))


def render_replay(stored: StoredTrial) -> tuple[list[int], list[Any], str]:
    """The frames of ``stored`` re-rendered: its spec re-run from its seed and recorded actions
    (as :func:`replay` does), the environment rendering the state observed on each tick (a
    Gymnasium or PettingZoo environment is told ``render_mode: rgb_array``). Returns the ticks,
    their frames and, if the replay stopped before the recorded trial's last tick, why (else
    ``""``). Raises :class:`~cogym.errors.InputError` for a trial without a seed, and
    :class:`~cogym.errors.EnvironmentFailure` if the environment raises while rendering."""
    summary = stored.summary
    if summary.seed is None:
        raise InputError(
            f"trial {summary.trial_id} was recorded without a seed, so it cannot be re-rendered"
        )
    spec = _replay_spec(stored)
    environment = spec.environment.model_dump(mode="json")
    if environment["implementation"].startswith(("gym:", "pettingzoo:")):
        environment["config"] = {**environment.get("config", {}), "render_mode": "rgb_array"}
    spec = spec.replace(environment=environment)
    ticks: list[int] = []
    frames: list[Any] = []
    stopped = ""
    with Orchestrator() as orchestrator:
        trial = orchestrator.start(spec, seed=summary.seed, trial_id=f"render-{summary.trial_id}")
        for expected in stored.samples():
            pending = trial.pending
            if trial.done or not pending or set(pending) - set(expected.actions):
                how = f"had ended ({trial.state.value})" if trial.done else "waited for others"
                stopped = f"at tick {expected.tick} the replay {how}"
                break
            try:
                frame = trial.environment.render()
            except Exception as exc:
                raise EnvironmentFailure(
                    f"trial {summary.trial_id}, tick {expected.tick}: the environment raised "
                    f"while re-rendering: {exc!r}"
                ) from exc
            if frame is None:
                stopped = f"at tick {expected.tick} the environment rendered nothing"
                break
            ticks.append(expected.tick)
            frames.append(frame)
            try:
                trial.step({name: expected.actions[name] for name in pending})
            except CogymError as exc:
                stopped = f"at tick {expected.tick} the replay failed: {exc}"
                break
        if not trial.done:
            trial.terminate("re-rendered every recorded tick")
    return ticks, frames, stopped


def _first_split(a: list[Sample], b: list[Sample], *, prefix: bool = False) -> int | None:
    """The first tick at which two replays of one record differ (None if they agree; with
    ``prefix``, as far as the shorter goes)."""
    for one, other in zip(a, b, strict=False):
        if _compare(one, other) is not None:
            return one.tick
    if len(a) != len(b) and not prefix:
        shorter = a if len(a) < len(b) else b
        return shorter[-1].tick + 1 if shorter else 0
    return None


def _rebuild_note(stored: StoredTrial, spec: TrialSpec, replayed: list[Sample]) -> str:
    """Whether rebuilding the environment explains a replay that differs from the record.

    ``replayed`` is the replay's own run, in a fresh environment; one more fresh run tells
    whether the environment is deterministic at all, and a run in that same environment again
    whether its ``reset`` leaves state behind."""
    if stored.spec.environment.rebuild == "per_trial":
        return (
            "note: the trial was recorded in an environment built for it alone, so rebuilding "
            "the environment does not explain the difference"
        )
    reused = spec.replace(
        environment=spec.environment.model_dump(mode="json") | {"rebuild": "never"}
    )
    seed, trial_id = stored.summary.seed, stored.summary.trial_id
    runs = []
    with Orchestrator(keep_samples=True) as scratch:
        for attempt in ("fresh", "reused"):
            trial = scratch.start(reused, seed=seed, trial_id=f"replay-{attempt}-{trial_id}")
            _play_through(trial, stored)
            runs.append(list(trial.samples))
    fresh, again = runs
    tick = _first_split(replayed, fresh, prefix=True)
    if tick is not None:
        return (
            "note: two replays in fresh environments differ from tick "
            f"{tick}: the environment is not deterministic for a given seed and actions, "
            "and rebuilding it does not change that"
        )
    tick = _first_split(fresh, again)
    if tick is None:
        return (
            "note: replayed in a fresh environment and again in one that had already run the "
            "trial, the results agree: rebuilding the environment does not change the result"
        )
    return (
        "note: this environment does not fully reset: replayed twice in one environment, the "
        f"runs differ from tick {tick}, so a trial recorded after others in the same process "
        "depended on them; record with `environment: {rebuild: per_trial}` (a fresh "
        "environment for every trial) to make its trials replayable"
    )


def _play_through(trial: Trial, stored: StoredTrial) -> None:
    """Feed ``trial`` every recorded action, differences or not, as far as it takes them."""
    for expected in stored.samples():
        if trial.done:
            return
        pending = trial.pending
        if not pending or set(pending) - set(expected.actions):
            break
        try:
            trial.step({name: expected.actions[name] for name in pending})
        except CogymError:
            return
    if not trial.done:
        trial.terminate("replay played every recorded tick")


def _drive(trial: Trial, stored: StoredTrial, notes: list[str]) -> ReplayReport:
    summary = stored.summary
    recorded: Iterator[Sample] = stored.samples()
    compared = 0

    def report(difference: Difference | None) -> ReplayReport:
        if trial.error and difference is not None:
            notes.append(f"the replay failed: {trial.error.splitlines()[0]}")
        return ReplayReport(
            summary.trial_id, difference is None, compared, summary.ticks, difference, tuple(notes)
        )

    for expected in recorded:
        while len(trial.samples) <= compared and not trial.done:
            pending = trial.pending
            if set(pending) - set(expected.actions) or not pending:
                return report(
                    Difference(
                        expected.tick,
                        None,
                        "actors to act",
                        sorted(expected.actions),
                        sorted(pending),
                    )
                )
            try:
                trial.step({name: expected.actions[name] for name in pending})
            except CogymError as exc:
                return report(
                    Difference(
                        expected.tick, None, "step", "a tick", f"{type(exc).__name__}: {exc}"
                    )
                )
        if len(trial.samples) <= compared:
            return report(
                Difference(
                    expected.tick,
                    None,
                    "trial",
                    "goes on",
                    f"{trial.state.value} ({trial.error or 'no error'})",
                )
            )
        difference = _compare(expected, trial.samples[compared])
        compared += 1
        if difference is not None:
            return report(difference)
    if summary.state is TrialState.ENDED and not trial.done:
        return report(Difference(summary.ticks, None, "trial", "ended", "goes on"))
    if trial.done and summary.state is TrialState.ENDED:
        for name, value in stored.final_observations.items():
            replayed = trial.final_observations.get(name)
            if replayed is not None and not same_value(value, replayed):
                return report(Difference(summary.ticks, name, "final observation", value, replayed))
    if not trial.done:
        trial.terminate("replay compared every recorded tick")
    return report(None)
