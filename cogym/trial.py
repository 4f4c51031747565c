"""A trial: one run of an environment with its actors, advanced tick by tick.

A tick, as data flows: the observations of the actors that act on this tick go to their
``act``; external actors' actions come from outside (:meth:`Trial.step`); the environment
steps; rewards and messages are routed; the tick's :class:`Sample` goes to the recorder.

Trials are built and started by :class:`~cogym.orchestrator.Orchestrator`; users meet
:class:`Trial` through ``Orchestrator.start`` and :class:`TrialResult` through ``run``.
"""

from __future__ import annotations

import enum
import json
import math
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from cogym.environment import ActorClass, Environment
from cogym.errors import (
    ActorFailure,
    EnvironmentFailure,
    InvalidActionError,
    MessageError,
    TrialError,
)
from cogym.spaces import membership_check

if TYPE_CHECKING:
    from cogym.spec import TrialSpec

__all__ = [
    "ENVIRONMENT",
    "BROADCAST",
    "TrialState",
    "Reward",
    "Message",
    "Sample",
    "TrialInfo",
    "TrialResult",
    "TrialContext",
    "TrialRecorder",
    "Cast",
    "Trial",
]

ENVIRONMENT = "env"
"""Sender and receiver name of the environment in rewards and messages."""
BROADCAST = "*"
"""Receiver name that addresses every actor."""
REWARD_HISTORY = 4096
"""How many past ticks a retroactive reward can reach back."""


class TrialState(str, enum.Enum):
    """``pending`` -> ``running`` -> ``ended`` | ``failed`` | ``terminated``."""

    PENDING = "pending"
    RUNNING = "running"
    ENDED = "ended"
    FAILED = "failed"
    TERMINATED = "terminated"

    @property
    def finished(self) -> bool:
        return self in (TrialState.ENDED, TrialState.FAILED, TrialState.TERMINATED)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Reward:
    """A reward sent by ``sender`` to ``receiver`` for tick ``tick`` (possibly an earlier one)."""

    tick: int
    sender: str
    receiver: str
    value: float
    confidence: float = 1.0


@dataclass(frozen=True, slots=True)
class Message:
    """A JSON-serialisable payload; sent on tick ``tick``, delivered on the next tick."""

    tick: int
    sender: str
    receiver: str
    payload: Any


class Sample(NamedTuple):
    """What happened on one tick.

    ``observations`` are those the acting actors (and observers) acted on, ``actions`` what the
    acting actors did, ``rewards`` the aggregated reward of each actor for this tick as known at
    its end, ``terminated``/``truncated`` the actors that ended on this tick, ``rewards_sent``
    every reward sent by a participant during this tick (whatever tick it names) and
    ``messages`` every message sent during this tick. ``env_rewards`` are the rewards the
    environment itself gave (equal to ``rewards`` unless a participant also sent some), and
    ``frame`` the environment's rendering of the state the actors observed, when the spec sets
    ``record_frames``.
    """

    # an immutable tuple: one is made on every recorded tick, so it must be cheap to make
    tick: int
    observations: Mapping[str, Any]
    actions: Mapping[str, Any]
    rewards: Mapping[str, float]
    terminated: Mapping[str, bool]
    truncated: Mapping[str, bool]
    rewards_sent: tuple[Reward, ...] = ()
    messages: tuple[Message, ...] = ()
    env_rewards: Mapping[str, float] | None = None
    frame: Any = None
    annotations: Mapping[str, Any] | None = None
    """What actors noted about this tick with ``context.annotate`` (JSON values), by actor."""


@dataclass(frozen=True)
class TrialInfo:
    """What a recorder learns when a trial starts."""

    trial_id: str
    spec: TrialSpec
    seed: int | None
    actor_classes: Mapping[str, ActorClass]
    implementations: Mapping[str, str]
    """The implementation each actor really ran (a registry ref resolved to its version)."""
    started: float
    index: int | None = None


@dataclass(frozen=True)
class TrialResult:
    """The outcome of a trial (small; the ticks themselves go to the datastore)."""

    trial_id: str
    state: TrialState
    ticks: int
    returns: Mapping[str, float]
    seed: int | None
    spec: TrialSpec = field(repr=False)
    started: float = field(repr=False)
    ended: float = field(repr=False)
    error: str | None = None
    index: int | None = field(default=None, repr=False)
    implementations: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def duration(self) -> float:
        """Wall-clock seconds from start to end."""
        return self.ended - self.started

    @property
    def tags(self) -> Mapping[str, Any]:
        return self.spec.tags


class TrialRecorder(Protocol):
    """Receives a trial's ticks; see :mod:`cogym.datalog`.

    A recorder may also have ``append_solo(name, tick, observation, action, reward,
    env_reward, terminated, truncated)``: a trial of one actor then calls it instead of
    :meth:`append` on the ticks where nothing else happened (no reward or message sent, no
    frame, no note), which spares it building a :class:`Sample`.
    """

    def append(self, sample: Sample) -> None: ...

    def revise_reward(self, actor: str, tick: int, value: float) -> None: ...

    def finish(
        self, result: TrialResult, final_observations: Mapping[str, Any]
    ) -> TrialResult | None:
        """Take the trial's end; return its result as recorded if recording changed it (a
        trial that could not be recorded whole is ``failed``, with the reason), else ``None``."""


class TrialContext:
    """What a participant knows of its trial, and how it sends rewards and messages.

    Actors get theirs in ``reset(context)``; environments find theirs in ``self.context``.
    """

    def __init__(self, trial: Trial, name: str, actor_class: ActorClass | None, seed: int | None):
        self._trial = trial
        self.name = name
        self.actor_class = actor_class
        self.seed = seed

    @property
    def trial_id(self) -> str:
        return self._trial.trial_id

    @property
    def spec(self) -> TrialSpec:
        return self._trial.spec

    @property
    def tick(self) -> int:
        """The tick being played."""
        return self._trial.tick

    @property
    def actors(self) -> tuple[str, ...]:
        return tuple(self._trial.actor_classes)

    def send_reward(
        self, receiver: str, value: float, confidence: float = 1.0, tick: int | None = None
    ) -> None:
        """Reward ``receiver`` (an actor name or ``"*"``) for ``tick`` (default: this tick)."""
        self._trial._send_reward(self.name, receiver, value, confidence, tick)

    def send_message(self, receiver: str, payload: Any) -> None:
        """Send a JSON-serialisable payload to an actor, ``"env"`` or ``"*"``; it arrives next tick."""
        self._trial._send_message(self.name, receiver, payload)

    def annotate(self, note: Any) -> None:
        """Record a JSON-serialisable note with this tick (for instance who chose the action)."""
        self._trial._annotate(self.name, note)

    def render(self) -> Any:
        """The environment's frame of the state being observed (an RGB array), or ``None``."""
        return self._trial.environment.render()

    def terminate(self, reason: str) -> None:
        """End the trial as ``terminated`` once the tick being played is over."""
        if not self._trial.done and self._trial._stop is None:
            self._trial._stop = (TrialState.TERMINATED, reason)
            self._trial._attention = True

    def __repr__(self) -> str:
        return f"TrialContext(trial={self.trial_id!r}, name={self.name!r}, tick={self.tick})"


class Cast:
    """The environment and actors of a trial, with what the tick loop needs worked out once.

    The orchestrator keeps casts between trials and hands one to each new trial of the same
    spec, so building a trial costs next to nothing.
    """

    def __init__(
        self,
        environment: Environment,
        actor_classes: Mapping[str, ActorClass],
        actors: Mapping[str, Any],
        *,
        externals: Sequence[str] = (),
        trusted: frozenset[str] = frozenset(),
        implementations: Mapping[str, str] | None = None,
    ) -> None:
        self.environment = environment
        self.actor_classes = dict(actor_classes)
        self.actors = dict(actors)
        self.external_order = tuple(n for n in self.actor_classes if n in set(externals))
        self.externals = frozenset(self.external_order)
        self.implementations = dict(implementations or {})
        observers = {n for n, c in self.actor_classes.items() if c.action_space is None}
        self.observer_acts = {n: self.actors[n].act for n in observers if n in self.actors}
        self.acts = {n: a.act for n, a in self.actors.items() if n not in observers}
        self.checks = {
            n: (None if n in trusted else membership_check(c.action_space))
            for n, c in self.actor_classes.items()
            if c.action_space is not None
        }
        self.resets = {
            n: a.reset for n, a in self.actors.items() if callable(getattr(a, "reset", None))
        }
        self.reward_handlers = {
            n: a.on_reward for n, a in self.actors.items() if callable(getattr(a, "on_reward", None))
        }
        self.message_handlers: dict[str, Callable[[Message], None]] = {
            n: a.on_message
            for n, a in self.actors.items()
            if callable(getattr(a, "on_message", None))
        }
        self.message_handlers[ENVIRONMENT] = environment.on_message
        single = environment.single_actor()
        self.solo: tuple[str, Callable[[Any], Any], Any, Callable[[Any], Any]] | None = None
        if (
            single is not None
            and single[0] in self.acts
            and len(self.actor_classes) == 1
            and not self.reward_handlers
        ):
            name, step = single
            self.solo = (name, self.acts[name], self.checks[name], step)

    def close(self) -> None:
        """Close the actors and the environment."""
        for actor in self.actors.values():
            close = getattr(actor, "close", None)
            if callable(close):
                close()
        self.environment.close()


class Trial:
    """A running trial. Built by :meth:`Orchestrator.start <cogym.orchestrator.Orchestrator.start>`.

    Without external actors, :meth:`run` plays it to the end. With external actors,
    :attr:`pending` lists those whose action is awaited and :meth:`step` supplies them::

        trial = orchestrator.start(spec)
        while not trial.done:
            trial.step({name: policy(obs) for name, obs in trial.pending.items()})
        print(trial.result)
    """

    def __init__(
        self,
        spec: TrialSpec,
        *,
        trial_id: str,
        seed: int | None,
        cast: Cast,
        actor_seeds: Mapping[str, int | None] | None = None,
        recorder: TrialRecorder | None = None,
        on_finish: Callable[[TrialResult], None] | None = None,
        index: int | None = None,
        keep_samples: bool = False,
        started: float | None = None,
    ) -> None:
        """``started``: when the trial was taken up (the orchestrator gives the moment before it
        resolved the trial's implementations); by default, when :meth:`start` is called."""
        self.spec = spec
        self.trial_id = trial_id
        self.seed = seed
        self.index = index
        self.cast = cast
        self.environment = cast.environment
        self.actor_classes = cast.actor_classes
        self.implementations = cast.implementations
        self.state = TrialState.PENDING
        self.tick = 0
        self.error: str | None = None
        self.result: TrialResult | None = None
        self.samples: list[Sample] | None = [] if keep_samples else None
        self.returns: dict[str, float] = dict.fromkeys(self.actor_classes, 0.0)
        self.final_observations: dict[str, Any] = {}
        self._externals = cast.externals
        self._recorder = recorder
        self._on_finish = on_finish
        self._seeds = actor_seeds or {}
        self._started = started
        self._stop: tuple[TrialState, str | None] | None = None
        # set whenever the tick loop has more to do than act and step: a stop request, a
        # reward or message sent, messages to deliver (one check per tick instead of four)
        self._attention = False
        self._deadline: float | None = None
        self._obs: dict[str, Any] = {}
        # rewards and messages sent by participants during the current tick
        self._rewards_out: list[Reward] = []
        self._messages_out: list[Message] = []
        self._messages_in: list[Message] = []
        self._annotations: dict[str, Any] = {}
        # everything needed to re-aggregate a tick when a reward for it arrives later
        self._env_rewards: list[Mapping[str, float]] = []
        self._history_start = 0
        self._sent_rewards: dict[tuple[int, str], list[Reward]] = {}
        self._aggregates: dict[tuple[int, str], float] = {}
        # per external actor: what the adapters hand back
        self._external_obs: dict[str, Any] = {}
        self._external_infos: dict[str, dict[str, Any]] = {}
        self._external_rewards: dict[str, float] = {}
        self._external_ended: dict[str, str] = {}
        self._live_externals: set[str] = set()
        self._pending: frozenset[str] = frozenset()

    # -- inspection ---------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """Whether the trial has ended, failed or been terminated."""
        return self.state.finished

    @property
    def externals(self) -> frozenset[str]:
        """Names of the actors driven from outside."""
        return self._externals

    @property
    def pending(self) -> dict[str, Any]:
        """Observations of the external actors whose action :meth:`step` must supply now."""
        if self.state is not TrialState.RUNNING:
            return {}
        return {n: o for n, o in self._obs.items() if n in self._externals}

    def __repr__(self) -> str:
        return (
            f"Trial(id={self.trial_id!r}, state={self.state.value}, tick={self.tick}, "
            f"returns={ {k: round(v, 3) for k, v in self.returns.items()} })"
        )

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Reset the environment and the actors; play internal ticks until an external acts."""
        if self.state is not TrialState.PENDING:
            raise TrialError(f"trial {self.trial_id} was already started (state {self.state.value})")
        if self._started is None:
            self._started = time.time()
        if self.spec.max_seconds is not None:
            self._deadline = time.monotonic() + self.spec.max_seconds
        self.state = TrialState.RUNNING
        try:
            self.environment.context = TrialContext(self, ENVIRONMENT, None, self.seed)
            classes = self.actor_classes
            seeds = self._seeds
            for name, reset in self.cast.resets.items():
                try:
                    reset(TrialContext(self, name, classes[name], seeds.get(name)))
                except Exception as exc:
                    raise ActorFailure(
                        f"trial {self.trial_id}: actor {name!r} raised in reset: {exc!r}"
                    ) from exc
            try:
                obs, infos = self.environment.reset(seed=self.seed)
            except Exception as exc:
                raise EnvironmentFailure(
                    f"trial {self.trial_id}: environment {self.spec.environment.implementation} "
                    f"raised in reset: {exc!r}"
                ) from exc
            self._obs = obs
            for name in self.cast.external_order:
                if name in obs:
                    self._external_obs[name] = obs[name]
                    self._external_infos[name] = infos.get(name, {})
                    self._external_rewards[name] = 0.0
                    self._live_externals.add(name)
            if obs.keys() <= self.cast.observer_acts.keys():
                raise EnvironmentFailure(
                    f"trial {self.trial_id}: the environment's reset gave no observation to any "
                    f"acting actor (got {sorted(obs)})"
                )
        except Exception as exc:
            self._fail(exc)
            raise
        if self._externals:
            self._advance(None)

    def run(self) -> TrialResult:
        """Start if needed and play to the end. Failures end the trial; they are not raised."""
        if self._externals:
            raise TrialError(
                f"trial {self.trial_id} has external actors {sorted(self._externals)}; "
                "drive it with step(), or through TrialParallelEnv / TrialGymEnv"
            )
        try:
            if self.state is TrialState.PENDING:
                self.start()
            if self.cast.solo is not None:
                self._advance_solo()
            else:
                self._advance(None)
        except Exception:
            if not self.done:
                raise
        assert self.result is not None
        return self.result

    def step(self, actions: Mapping[str, Any]) -> None:
        """Supply external actions and play until an external actor must act again.

        The actions of the external actors in :attr:`pending` are used on the current tick;
        then internal actors play on until some external actor must act, or the trial ends.
        Where every actor acts on every tick that is exactly one tick; in turn-based worlds,
        actions given for live external actors whose turn it is not are ignored, as in
        PettingZoo's turn-based conversion.
        """
        if self.state is not TrialState.RUNNING:
            raise TrialError(
                f"trial {self.trial_id} is {self.state.value}; start a new trial to go on"
            )
        if not (self._live_externals.issuperset(actions) and self._pending <= actions.keys()):
            self._explain_bad_step(actions)
        rewards = self._external_rewards
        for name in rewards:
            rewards[name] = 0.0
        self._advance(actions)

    def _explain_bad_step(self, actions: Mapping[str, Any]) -> None:
        for name in actions:
            if name not in self._externals:
                raise TrialError(
                    f"trial {self.trial_id}: {name!r} is not an external actor of this trial "
                    f"(external actors: {sorted(self._externals)})"
                )
            if name in self._external_ended:
                raise TrialError(
                    f"trial {self.trial_id}, tick {self.tick}: actor {name!r} has already "
                    f"{self._external_ended[name]}; send actions only for live agents"
                )
            if name not in self._live_externals:
                raise TrialError(
                    f"trial {self.trial_id}, tick {self.tick}: actor {name!r} has not joined "
                    "the trial yet; send actions only for live agents"
                )
        missing = sorted(self._pending - actions.keys())
        raise TrialError(
            f"trial {self.trial_id}, tick {self.tick}: no action given for external "
            f"actor(s) {missing}, whose turn it is"
        )

    def terminate(self, reason: str = "terminated on request") -> None:
        """Stop the trial; it ends as ``terminated``.

        A trial playing on its own (``run``) stops before its next tick, and this may be called
        from another thread. A trial with external actors ends at once, so call it from the
        thread that steps it.
        """
        if not self.done:
            self._stop = (TrialState.TERMINATED, reason)
            self._attention = True
            if self._externals and self.state is TrialState.RUNNING:
                self._advance({})

    # -- the tick loop ------------------------------------------------------------------------

    def _advance(self, provided: Mapping[str, Any] | None) -> None:
        cast = self.cast
        acts = cast.acts
        observer_acts = cast.observer_acts
        checks = cast.checks
        externals = self._externals
        returns = self.returns
        env_step = self.environment.step
        env_rewards_log = self._env_rewards.append
        recorder = self._recorder
        samples = self.samples
        max_ticks = self.spec.max_ticks or math.inf
        deadline = self._deadline
        record_frames = self.spec.record_frames and (recorder is not None or samples is not None)
        used: set[str] = set()
        obs = self._obs
        tick = self.tick
        try:
            while True:
                if self._attention or deadline is not None:
                    if self._stop is not None or (
                        deadline is not None and time.monotonic() > deadline
                    ):
                        self.tick = tick
                        self._obs = obs
                        self._finish_early(obs)
                        return
                if externals:
                    needed = [n for n in obs if n in externals]
                    if needed and (provided is None or used):
                        self._pending = frozenset(needed)
                        break
                self.tick = tick
                if self._attention and self._messages_in:
                    self._deliver_messages()
                frame = self._render() if record_frames else None
                actions = {}
                for name, observation in obs.items():
                    act = acts.get(name)
                    if act is not None:
                        try:
                            action = act(observation)
                        except Exception as exc:
                            raise self._actor_failed(name, tick, exc) from exc
                    elif name in observer_acts:
                        try:
                            observer_acts[name](observation)
                        except Exception as exc:
                            raise self._actor_failed(name, tick, exc) from exc
                        continue
                    else:
                        action = provided[name]  # type: ignore[index]
                        used.add(name)
                    check = checks[name]
                    if check is not None and not check(action):
                        raise self._invalid_action(name, tick, action)
                    actions[name] = action
                try:
                    next_obs, rewards, terminated, truncated, infos = env_step(actions)
                except Exception as exc:
                    raise self._environment_failed(tick, exc) from exc
                env_rewards_log(rewards)
                if tick - self._history_start >= 2 * REWARD_HISTORY:
                    self._trim_reward_history()
                sent: tuple[Reward, ...] = ()
                messages: tuple[Message, ...] = ()
                env_rewards = rewards
                if self._attention and (self._rewards_out or self._messages_out):
                    rewards, sent, messages = self._route(tick, rewards)
                for name, value in rewards.items():
                    try:
                        returns[name] += value
                    except TypeError:
                        raise self._bad_reward(tick, name, value) from None
                if cast.reward_handlers:
                    self._hand_out_rewards(tick, rewards, sent)
                ended: dict[str, bool] = {}
                if terminated or truncated:
                    ended_term = {n: True for n, v in terminated.items() if v}
                    ended_trunc = {n: True for n, v in truncated.items() if v and n not in ended_term}
                    terminated, truncated = ended_term, ended_trunc
                    ended = {**ended_term, **ended_trunc}
                    if ended:
                        for name in ended:
                            self.final_observations[name] = next_obs.get(name)
                        next_obs = {n: o for n, o in next_obs.items() if n not in ended}
                if externals:
                    self._track_externals(next_obs, rewards, terminated, truncated, infos)
                if recorder is not None or samples is not None:
                    sample = Sample(
                        tick,
                        obs,
                        actions,
                        rewards,
                        terminated,
                        truncated,
                        sent,
                        messages,
                        env_rewards,
                        frame,
                        self._take_annotations(),
                    )
                    if recorder is not None:
                        recorder.append(sample)
                    if samples is not None:
                        samples.append(sample)
                tick += 1
                obs = next_obs
                if not obs or (ended and all(n in observer_acts for n in obs)):
                    for name, observation in obs.items():
                        self.final_observations[name] = observation
                    self.tick = tick
                    self._obs = {}
                    self._finish(TrialState.ENDED, None)
                    return
                if tick >= max_ticks:
                    self.tick = tick
                    self._obs = obs
                    self._finish_early(obs, truncate=True)
                    return
        except Exception as exc:
            self.tick = tick
            self._obs = obs
            self._fail(exc)
            raise
        self.tick = tick
        self._obs = obs

    def _advance_solo(self) -> None:
        """The tick loop for one internal actor and a single-actor environment.

        Same behaviour as :meth:`_advance`, without the per-tick dicts.
        """
        name, act, check, env_step = self.cast.solo  # type: ignore[misc]
        returns = self.returns
        env_rewards_log = self._env_rewards.append
        recorder = self._recorder
        samples = self.samples
        max_ticks = self.spec.max_ticks or math.inf
        deadline = self._deadline
        recording = recorder is not None or samples is not None
        record_frames = self.spec.record_frames and recording
        # a recorder's shortcut for the usual tick (see TrialRecorder)
        append_solo = getattr(recorder, "append_solo", None) if samples is None else None
        observation = self._obs[name]
        tick = self.tick
        try:
            while True:
                self.tick = tick
                if self._attention or deadline is not None:
                    if self._stop is not None or (
                        deadline is not None and time.monotonic() > deadline
                    ):
                        self._obs = {name: observation}
                        self._finish_early(self._obs)
                        return
                    if self._messages_in:
                        self._deliver_messages()
                frame = self._render() if record_frames else None
                try:
                    action = act(observation)
                except Exception as exc:
                    raise self._actor_failed(name, tick, exc) from exc
                if check is not None and not check(action):
                    raise self._invalid_action(name, tick, action)
                try:
                    next_observation, reward, terminated, truncated, _ = env_step(action)
                except Exception as exc:
                    raise self._environment_failed(tick, exc) from exc
                env_rewards_log(reward)
                if tick - self._history_start >= 2 * REWARD_HISTORY:
                    self._trim_reward_history()
                sent: tuple[Reward, ...] = ()
                messages: tuple[Message, ...] = ()
                env_reward = reward
                if self._attention and (self._rewards_out or self._messages_out):
                    routed, sent, messages = self._route(tick, {name: reward})
                    reward = routed[name]
                try:
                    returns[name] += reward
                except TypeError:
                    raise self._bad_reward(tick, name, reward) from None
                if (
                    append_solo is not None
                    and frame is None
                    and not sent
                    and not messages
                    and not self._annotations
                ):
                    append_solo(
                        name,
                        tick,
                        observation,
                        action,
                        reward,
                        env_reward,
                        terminated,
                        truncated and not terminated,
                    )
                elif recording:
                    sample = Sample(
                        tick,
                        {name: observation},
                        {name: action},
                        {name: reward},
                        {name: True} if terminated else {},
                        {name: True} if truncated and not terminated else {},
                        sent,
                        messages,
                        {name: env_reward},
                        frame,
                        self._take_annotations(),
                    )
                    if recorder is not None:
                        recorder.append(sample)
                    if samples is not None:
                        samples.append(sample)
                tick += 1
                if terminated or truncated:
                    self.final_observations[name] = next_observation
                    self.tick = tick
                    self._obs = {}
                    self._finish(TrialState.ENDED, None)
                    return
                observation = next_observation
                if tick >= max_ticks:
                    self.tick = tick
                    self._obs = {name: observation}
                    self._finish_early(self._obs, truncate=True)
                    return
        except Exception as exc:
            self.tick = tick
            self._fail(exc)
            raise

    def _actor_failed(self, name: str, tick: int, exc: Exception) -> ActorFailure:
        role = "observer" if name in self.cast.observer_acts else "actor"
        return ActorFailure(
            f"trial {self.trial_id}, tick {tick}: {role} {name!r} "
            f"({self.implementations.get(name, '?')}) raised {exc!r}"
        )

    def _environment_failed(self, tick: int, exc: Exception) -> EnvironmentFailure:
        return EnvironmentFailure(
            f"trial {self.trial_id}, tick {tick}: environment "
            f"{self.spec.environment.implementation} raised {exc!r}"
        )

    def _bad_reward(self, tick: int, name: str, value: Any) -> EnvironmentFailure:
        return EnvironmentFailure(
            f"trial {self.trial_id}, tick {tick}: environment "
            f"{self.spec.environment.implementation} gave actor {name!r} the reward {value!r} "
            f"({type(value).__name__}); a reward must be a number"
        )

    def _invalid_action(self, name: str, tick: int, action: Any) -> InvalidActionError:
        space = self.actor_classes[name].action_space
        return InvalidActionError(name, tick, space, action, self.trial_id)

    def _trim_reward_history(self) -> None:
        del self._env_rewards[:REWARD_HISTORY]
        self._history_start += REWARD_HISTORY

    def _take_annotations(self) -> dict[str, Any] | None:
        notes = self._annotations
        if not notes:
            return None
        self._annotations = {}
        return notes

    def _render(self) -> Any:
        try:
            frame = self.environment.render()
        except Exception as exc:
            raise EnvironmentFailure(
                f"trial {self.trial_id}, tick {self.tick}: the environment raised while rendering "
                f"a frame for record_frames: {exc!r}"
            ) from exc
        if frame is None:
            raise EnvironmentFailure(
                f"trial {self.trial_id}: record_frames is set but the environment renders "
                "nothing; make it render RGB arrays (for Gymnasium and PettingZoo envs: "
                "environment.config.render_mode: rgb_array)"
            )
        return frame

    # -- rewards and messages -----------------------------------------------------------------

    def _send_reward(
        self, sender: str, receiver: str, value: float, confidence: float, tick: int | None
    ) -> None:
        where = f"trial {self.trial_id}, tick {self.tick}: {sender!r} sending a reward"
        if receiver != BROADCAST and receiver not in self.actor_classes:
            raise MessageError(
                f"{where}: no actor named {receiver!r} (actors: {sorted(self.actor_classes)})"
            )
        try:
            value = float(value)
            confidence = float(confidence)
        except (TypeError, ValueError):
            raise MessageError(f"{where}: value and confidence must be numbers") from None
        if not math.isfinite(value) or not math.isfinite(confidence) or confidence < 0:
            raise MessageError(
                f"{where}: value must be finite and confidence finite and >= 0 "
                f"(got value={value}, confidence={confidence})"
            )
        tick = self.tick if tick is None else int(tick)
        oldest = max(self._history_start, self.tick - REWARD_HISTORY)
        if not oldest <= tick <= self.tick:
            raise MessageError(
                f"{where}: tick {tick} is not within the ticks a reward can name "
                f"({oldest}..{self.tick}; rewards reach back at most {REWARD_HISTORY} ticks)"
            )
        receivers = list(self.actor_classes) if receiver == BROADCAST else [receiver]
        for r in receivers:
            self._rewards_out.append(Reward(tick, sender, r, value, confidence))
        self._attention = True

    def _send_message(self, sender: str, receiver: str, payload: Any) -> None:
        where = f"trial {self.trial_id}, tick {self.tick}: {sender!r} sending a message"
        if receiver not in (BROADCAST, ENVIRONMENT) and receiver not in self.actor_classes:
            raise MessageError(
                f"{where}: no actor named {receiver!r} (actors: {sorted(self.actor_classes)}, "
                f"or {ENVIRONMENT!r}, or {BROADCAST!r})"
            )
        try:
            json.dumps(payload)
        except (TypeError, ValueError) as exc:
            raise MessageError(f"{where}: the payload is not JSON-serialisable ({exc})") from None
        self._messages_out.append(Message(self.tick, sender, receiver, payload))
        self._attention = True

    def _env_reward(self, tick: int, receiver: str) -> float | None:
        """The environment's reward to ``receiver`` on ``tick`` (``None`` if it sent none)."""
        index = tick - self._history_start
        if not 0 <= index < len(self._env_rewards):
            return None
        entry = self._env_rewards[index]
        if isinstance(entry, Mapping):
            return entry.get(receiver)
        solo = self.cast.solo
        return entry if solo is not None and receiver == solo[0] else None

    def _annotate(self, name: str, note: Any) -> None:
        try:
            json.dumps(note)
        except (TypeError, ValueError) as exc:
            raise MessageError(
                f"trial {self.trial_id}, tick {self.tick}: {name!r} annotated the tick with a note "
                f"that is not JSON-serialisable ({exc})"
            ) from None
        self._annotations[name] = note

    def _aggregate(self, tick: int, receiver: str) -> float:
        env_value = self._env_reward(tick, receiver)
        total = 0.0
        weight = 0.0
        if env_value is not None:
            total, weight = float(env_value), 1.0
        for reward in self._sent_rewards.get((tick, receiver), ()):
            total += reward.value * reward.confidence
            weight += reward.confidence
        return total / weight if weight > 0 else 0.0

    def _route(
        self, tick: int, env_rewards: Mapping[str, float]
    ) -> tuple[dict[str, float], tuple[Reward, ...], tuple[Message, ...]]:
        sent = tuple(self._rewards_out)
        messages = tuple(self._messages_out)
        self._rewards_out.clear()
        self._messages_out.clear()
        self._messages_in.extend(messages)
        self._attention = bool(self._messages_in) or self._stop is not None
        rewards = dict(env_rewards)
        touched: set[tuple[int, str]] = set()
        for reward in sent:
            key = (reward.tick, reward.receiver)
            self._sent_rewards.setdefault(key, []).append(reward)
            touched.add(key)
        for key in sorted(touched):
            past_tick, receiver = key
            value = self._aggregate(past_tick, receiver)
            if past_tick == tick:
                rewards[receiver] = value
                continue
            before = self._aggregates.get(key)
            if before is None:
                before = float(self._env_reward(past_tick, receiver) or 0.0)
            self._aggregates[key] = value
            self.returns[receiver] += value - before
            if receiver in self._external_rewards:
                self._external_rewards[receiver] += value - before
            if self._recorder is not None:
                self._recorder.revise_reward(receiver, past_tick, value)
        for key in touched:
            if key[0] == tick:
                self._aggregates[key] = rewards[key[1]]
        return rewards, sent, messages

    def _hand_out_rewards(
        self, tick: int, rewards: Mapping[str, float], sent: tuple[Reward, ...]
    ) -> None:
        handlers = self.cast.reward_handlers
        env_rewards = self._env_rewards[tick - self._history_start]
        for name, value in env_rewards.items():
            handler = handlers.get(name)
            if handler is not None:
                handler(Reward(tick, ENVIRONMENT, name, float(value), 1.0))
        for reward in sent:
            handler = handlers.get(reward.receiver)
            if handler is not None:
                handler(reward)

    def _deliver_messages(self) -> None:
        inbox = self._messages_in[:]
        self._messages_in.clear()
        self._attention = self._stop is not None or bool(self._rewards_out or self._messages_out)
        for message in inbox:
            handlers = self.cast.message_handlers
            receivers = list(handlers) if message.receiver == BROADCAST else [message.receiver]
            for receiver in receivers:
                if receiver == message.sender:
                    continue
                handler = handlers.get(receiver)
                if handler is not None:
                    try:
                        handler(message)
                    except Exception as exc:
                        failure = EnvironmentFailure if receiver == ENVIRONMENT else ActorFailure
                        raise failure(
                            f"trial {self.trial_id}, tick {self.tick}: {receiver!r} raised "
                            f"while receiving a message: {exc!r}"
                        ) from exc

    # -- externals ----------------------------------------------------------------------------

    def _track_externals(
        self,
        obs: Mapping[str, Any],
        rewards: Mapping[str, float],
        terminated: Mapping[str, bool],
        truncated: Mapping[str, bool],
        infos: Mapping[str, dict[str, Any]],
    ) -> None:
        external_obs = self._external_obs
        external_rewards = self._external_rewards
        live = self._live_externals
        for name in self.cast.external_order:
            if name in self._external_ended:
                continue
            if name in rewards:
                external_rewards[name] = external_rewards.get(name, 0.0) + rewards[name]
            if name in obs:
                if name not in external_obs:
                    live.add(name)
                external_obs[name] = obs[name]
            if name in infos:
                self._external_infos[name] = infos[name]
            if terminated and name in terminated:
                self._external_ended[name] = "terminated"
                external_obs[name] = self.final_observations.get(name)
                live.discard(name)
            elif truncated and name in truncated:
                self._external_ended[name] = "truncated"
                external_obs[name] = self.final_observations.get(name)
                live.discard(name)

    def external_view(
        self, names: list[str] | None = None
    ) -> tuple[dict[str, Any], dict[str, float], dict[str, bool], dict[str, bool], dict[str, Any]]:
        """Latest observation, reward since the last step, flags and info of external actors.

        ``names`` defaults to every external actor that has joined; the adapters build on this.
        """
        if names is None:
            names = list(self._external_obs)
        observations, rewards, terminated, truncated, infos = {}, {}, {}, {}, {}
        external_obs = self._external_obs
        external_rewards = self._external_rewards
        external_infos = self._external_infos
        ended = self._external_ended
        for name in names:
            observations[name] = external_obs[name]
            rewards[name] = external_rewards.get(name, 0.0)
            how = ended.get(name)
            terminated[name] = how == "terminated"
            truncated[name] = how == "truncated"
            infos[name] = external_infos.get(name, {})
        return observations, rewards, terminated, truncated, infos

    @property
    def live_externals(self) -> list[str]:
        """External actors that have joined and not ended, in order of joining."""
        live = self._live_externals
        return [n for n in self._external_obs if n in live]

    # -- ending -------------------------------------------------------------------------------

    def _finish_early(self, obs: Mapping[str, Any], truncate: bool = False) -> None:
        """End because of max_ticks, the wall-clock limit or a terminate request."""
        if truncate:
            state, reason = TrialState.ENDED, None
        elif self._stop is not None:
            state, reason = self._stop
        else:
            state, reason = TrialState.TERMINATED, (
                f"wall-clock limit of {self.spec.max_seconds} s reached at tick {self.tick}"
            )
        for name, observation in obs.items():
            self.final_observations.setdefault(name, observation)
        for name in self._externals:
            if name in self._external_obs and name not in self._external_ended:
                self._external_ended[name] = "truncated"
        self._live_externals.clear()
        self._obs = {}
        self._finish(state, reason)

    def _fail(self, exc: BaseException) -> None:
        if self.done:
            return
        cause = exc.__cause__
        detail = "".join(traceback.format_exception(cause)) if cause is not None else ""
        message = str(exc) if isinstance(exc, (ActorFailure, EnvironmentFailure, InvalidActionError)) else repr(exc)
        self.error = message + (f"\n{detail}" if detail else "")
        self._obs = {}
        self._finish(TrialState.FAILED, self.error)

    def _record_end(self) -> None:
        """Hand the end to the recorder; a trial it could not record whole ends ``failed``."""
        assert self.result is not None and self._recorder is not None
        try:
            recorded = self._recorder.finish(self.result, self.final_observations)
        except Exception as exc:  # noqa: BLE001  (the trial's result says it, see below)
            reason = f"trial {self.trial_id} could not be recorded: {exc}"
            error = reason if self.error is None else f"{self.error}\n{reason}"
            recorded = replace(self.result, state=TrialState.FAILED, error=error)
        if recorded is not None:
            self.state, self.error, self.result = recorded.state, recorded.error, recorded

    def _finish(self, state: TrialState, error: str | None) -> None:
        self.state = state
        if error is not None:
            self.error = error
        for key, value in self.returns.items():
            self.returns[key] = float(value)
        self.result = TrialResult(
            trial_id=self.trial_id,
            state=state,
            ticks=self.tick,
            returns=dict(self.returns),
            seed=self.seed,
            spec=self.spec,
            started=0.0 if self._started is None else self._started,
            ended=time.time(),
            error=self.error,
            index=self.index,
            implementations=self.implementations,
        )
        if self._recorder is not None:
            self._record_end()
        if self._on_finish is not None:
            self._on_finish(self.result)
