"""The lifecycle of a trial and its tick loop: :class:`Trial`.

A tick, as data flows: the observations of the actors that act on this tick go to their ``act``;
external actors' actions come from outside (:meth:`Trial.step`); the environment steps; rewards
and messages are routed; the tick's :class:`Sample` goes to the recorder. There is one tick loop
(:meth:`Trial._advance`); a trial one actor plays alone acts and steps its own, cheaper way.

Trials are built and started by :class:`~cogym.orchestrator.Orchestrator`; users meet
:class:`Trial` through ``Orchestrator.start`` and :class:`TrialResult` through ``run``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from cogym.errors import ActorFailure, EnvironmentFailure, TrialError
from cogym.trial.cast import Cast, SoloPlay
from cogym.trial.context import TrialContext
from cogym.trial.deadlines import Guard, Interrupt
from cogym.trial.externals import ExternalSeats, ExternalView
from cogym.trial.mailbox import Mailbox
from cogym.trial.playing import Failures, Play, playing, render_frame, retire, worded
from cogym.trial.port import Port
from cogym.trial.recording import Record, TickNotes, TrialRecorder, recorded_end, tick_recorder
from cogym.trial.rewards import RewardLedger
from cogym.trial.values import ENVIRONMENT, Message, Reward, Sample, TrialResult, TrialState

if TYPE_CHECKING:
    from cogym.spec import TrialSpec

__all__ = ["Trial"]

NO_INFOS: Mapping[str, Any] = MappingProxyType({})
NO_FLAGS: Mapping[str, bool] = MappingProxyType({})
NOTHING_SENT: tuple[Reward, ...] = ()
NOTHING_POSTED: tuple[Message, ...] = ()
NO_SEATS = ExternalSeats(())
"""The seats of every trial without external actors (nothing is ever written to them)."""
Prepared = tuple[Failures, Play | None, Record | None, SoloPlay | None, Record | None,
                 Callable[..., None] | None, bool]  # fmt: skip
"""What a trial makes once to play its ticks (see :meth:`Trial._prepare`)."""


class Trial:
    """A running trial. Built by :meth:`Orchestrator.start <cogym.orchestrator.Orchestrator.start>`.

    Without external actors, :meth:`run` plays it to the end. With external actors,
    :attr:`pending` lists those whose action is awaited and :meth:`step` supplies them::

        trial = orchestrator.start(spec)
        while not trial.done:
            trial.step({name: policy(obs) for name, obs in trial.pending.items()})
        print(trial.result)
    """

    __slots__ = ("spec", "trial_id", "seed", "index", "cast", "environment", "actor_classes",
                 "implementations", "state", "tick", "error", "result", "samples", "returns",
                 "final_observations", "_externals", "_recorder", "_on_finish", "_seeds",
                 "_started", "_stop", "_holds", "_deadline", "_obs", "_notes", "_ledger",
                 "_mailbox", "_seats", "_pending", "_prepared", "_guard")  # fmt: skip

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
        # whether the tick loop has more to do than act and step (one check per tick): a stop
        # request, a reward or message sent or to deliver, a wall-clock limit, external actors
        self._holds = False
        self._deadline: float | None = None
        self._obs: dict[str, Any] = {}
        self._notes = TickNotes()
        self._ledger = RewardLedger(trial_id, cast.names, cast.solo and cast.solo[0])
        self._mailbox: Mailbox | None = None  # made when a participant first sends a message
        self._seats = ExternalSeats(cast.external_order) if cast.externals else NO_SEATS
        self._pending: frozenset[str] = frozenset()
        self._prepared: Prepared | None = None
        self._guard: Guard | None = None

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

    def external_view(self, names: list[str] | None = None) -> ExternalView:
        """Latest observation, reward since the last step, flags and info of external actors.

        ``names`` defaults to every external actor that has joined; the adapters build on this.
        """
        return self._seats.view(names)

    @property
    def live_externals(self) -> list[str]:
        """External actors that have joined and not ended, in order of joining."""
        return self._seats.live

    def __repr__(self) -> str:
        return (
            f"Trial(id={self.trial_id!r}, state={self.state.value}, tick={self.tick}, "
            f"returns={ {k: round(v, 3) for k, v in self.returns.items()} })"
        )

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self, options: Mapping[str, Any] | None = None) -> None:
        """Reset the environment (``options`` go to its reset) and actors; play until one acts."""
        if self.state is not TrialState.PENDING:
            raise TrialError(
                f"trial {self.trial_id} was already started (state {self.state.value})"
            )
        if self._started is None:
            self._started = time.time()
        if self.spec.max_seconds is not None:
            self._deadline = time.monotonic() + self.spec.max_seconds
        self._holds = self._holds or self._deadline is not None or bool(self._externals)
        self.state = TrialState.RUNNING
        try:
            if self.spec.has_deadlines:
                self._guard = Guard(self.spec, self.trial_id, self._deadline, lambda: self.tick,
                                    self._notes, self.actor_classes)  # fmt: skip
            if self._guard is None:
                self._reset(options)
            else:
                self._guarded(self._reset, options)
        except Exception as exc:
            self._fail(exc)
            raise
        if self._externals:
            self._guarded(self._advance, None)

    def _reset(self, options: Mapping[str, Any] | None) -> None:
        port = Port(self)
        self.environment.context = TrialContext(port, ENVIRONMENT, None, self.seed)
        classes = self.actor_classes
        seeds = self._seeds
        guard, env_reset = self._guard, self.environment.reset
        if guard is not None:
            env_reset = guard.call("the environment's reset", env_reset)
        for name, reset in self.cast.resets.items():
            if guard is not None:
                reset = guard.call(f"actor {name!r} (reset)", reset)  # noqa: PLW2901
            try:
                reset(TrialContext(port, name, classes[name], seeds.get(name)))
            except Exception as exc:
                raise ActorFailure(
                    f"trial {self.trial_id}: actor {name!r} raised in reset: {exc!r}"
                ) from exc
        try:
            obs, infos = env_reset(seed=self.seed, options=options and dict(options))
        except Exception as exc:
            raise EnvironmentFailure(
                f"trial {self.trial_id}: environment {self.spec.environment.implementation} "
                f"raised in reset: {exc!r}"
            ) from exc
        self._obs = obs
        if self._externals:
            self._seats.join(obs, infos)
        if obs.keys() <= self.cast.observer_acts.keys():
            raise EnvironmentFailure(
                f"trial {self.trial_id}: the environment's reset gave no observation to any "
                f"acting actor (got {sorted(obs)})"
            )

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
            if self._guard is None:
                self._advance(None)
            else:
                self._guarded(self._advance, None)
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
        seats = self._seats
        if not seats.accepts(actions, self._pending):
            raise seats.explain_refusal(actions, self._pending, self.trial_id, self.tick)
        seats.new_step()
        if self._guard is None:
            self._advance(actions)
        else:
            self._guarded(self._advance, actions)

    def terminate(self, reason: str = "terminated on request") -> None:
        """Stop the trial; it ends as ``terminated``.

        A trial playing on its own (``run``) stops before its next tick, and this may be called
        from another thread. A trial with external actors ends at once, so call it from the
        thread that steps it.
        """
        if not self.done:
            self._stop = (TrialState.TERMINATED, reason)
            self._holds = True
            if self._externals and self.state is TrialState.RUNNING:
                self._guarded(self._advance, {})

    # -- the tick loop ------------------------------------------------------------------------

    def _guarded(self, run: Callable[[Any], None], argument: Any) -> None:
        """``run(argument)`` held to the :class:`Guard`'s deadlines; a call cut short fails it."""
        if self._guard is None:
            return run(argument)
        return self._guard.held(run, argument, self._timed_out)

    def _advance(self, provided: Mapping[str, Any] | None) -> None:
        """Play ticks until an external actor must act (``provided`` are the external actions
        of the current tick) or the trial ends: THE tick loop. Acting and stepping is the one
        part a trial that one actor plays alone (``cast.solo``) plays its own way."""
        cast, used = self.cast, set()
        failures, play, record, solo, record_solo, hand_out, frames = (
            self._prepared or self._prepare()
        )
        obs, tick, alone, frame = self._obs, self.tick, solo is not None, None
        if alone:
            name, act, check, solo_step = solo
            obs = dict(obs)  # written to on each tick (not the environment's own dict)
            # its step gives no infos (they are for externals), and flags only on its last tick
            infos, terminated, truncated = NO_INFOS, NO_FLAGS, NO_FLAGS
        externals, returns, ledger, notes = self._externals, self.returns, self._ledger, self._notes
        history, trim_tick = ledger.history, ledger.trim_tick
        max_ticks = self.spec.max_ticks or math.inf
        try:
            while True:
                # before acting: a stop or the deadline, an external actor's turn, messages
                self.tick = tick
                if self._holds and self._hold(obs, provided, used):
                    return
                if frames:
                    frame = render_frame(self.environment, failures, tick)
                if solo is not None:
                    # one actor alone: one act and Gymnasium's step, no per-actor lookups or
                    # dicts (the reward stays bare, ``obs`` is written to: see the recording)
                    try:
                        seen = obs[name]
                        action = act(seen)
                    except Exception as exc:
                        raise failures.actor(name, tick, exc) from exc
                    if check is not None and not check(action):
                        raise failures.action(name, tick, action)
                    try:
                        obs[name], rewards, ended, cut, _ = solo_step(action)
                    except Exception as exc:
                        raise failures.environment(tick, exc) from exc
                    next_obs = obs
                    if ended:  # the trial's last tick: the flags were none until now
                        terminated = {name: True}
                    elif cut:
                        truncated = {name: True}
                else:
                    played = play(tick, obs, provided, used)  # type: ignore[misc]
                    actions, next_obs, rewards, terminated, truncated, infos = played
                # after the step: rewards, messages, endings, recording, limits
                history.append(rewards)
                if tick >= trim_tick:
                    trim_tick = ledger.trim()
                env_rewards = rewards
                if self._holds:
                    rewards, sent, messages = self._route(tick, rewards)
                    lone = alone and rewards is env_rewards  # a lone actor's bare reward
                else:
                    sent, messages, lone = NOTHING_SENT, NOTHING_POSTED, alone
                try:
                    if lone:
                        returns[name] += rewards
                    else:
                        for receiver, value in rewards.items():
                            returns[receiver] += value
                except TypeError:
                    raise failures.reward({name: rewards} if lone else rewards, tick) from None
                if hand_out is not None:
                    hand_out(tick, sent, cast.reward_handlers)
                over = not next_obs
                if terminated or truncated:
                    next_obs, over = retire(
                        next_obs, terminated, truncated, self.final_observations, cast.observer_acts
                    )
                if externals:
                    self._seats.track(
                        next_obs, rewards, terminated, truncated, infos, self.final_observations
                    )
                if record is not None:
                    if record_solo is not None and not (
                        frame is not None or sent or messages or notes.notes
                    ):
                        record_solo(name, tick, seen, action, rewards, env_rewards, ended,
                                    cut and not ended)  # fmt: skip
                    elif solo is None:
                        record(tick, obs, actions, rewards, terminated, truncated, sent, messages,
                               env_rewards, frame)  # fmt: skip
                    else:  # the lone actor's tick, in the shape of any other
                        record(tick, {name: seen}, {name: action},
                               {name: rewards} if lone else rewards, terminated, truncated, sent,
                               messages, {name: env_rewards}, frame)  # fmt: skip
                tick += 1
                obs = next_obs
                if over or tick >= max_ticks:
                    self.tick = tick
                    if over:
                        self._end(obs)
                    else:
                        self._finish_early(obs, truncate=True)
                    return
        except Exception as exc:
            self.tick = tick
            self._obs = obs
            self._fail(exc)
            raise

    def _prepare(self) -> Prepared:
        """How this trial words failures, plays a tick (see :func:`playing`) and records it,
        plain or through the recorder's shortcut for a lone actor; who hears of rewards sent
        (``None``: no ``on_reward``) and whether it records frames (made once)."""
        failures, play, solo = playing(
            self.cast, self.trial_id, self.spec.environment.implementation, self._guard
        )
        record, record_solo = tick_recorder(
            self._recorder, self.samples, self._notes, solo and solo[0]
        )
        hand_out = self._ledger.hand_out if self.cast.reward_handlers else None
        frames = bool(self.spec.record_frames and record is not None)
        self._prepared = (failures, play, record, solo, record_solo, hand_out, frames)
        return self._prepared

    def _hold(self, obs: dict[str, Any], provided: Mapping[str, Any] | None, used: set[str]
              ) -> bool:  # fmt: skip
        """Before a tick: whether the loop stops (a stop request, the wall-clock limit, external
        actions awaited: noted in :attr:`_pending`); else the messages due are delivered."""
        deadline = self._deadline
        if self._stop is not None or (deadline is not None and time.monotonic() > deadline):
            self._finish_early(obs)
            return True
        externals = self._externals
        if externals:
            needed = [n for n in obs if n in externals]
            if needed and (provided is None or used):
                self._pending = frozenset(needed)
                self._obs = obs
                return True
        mailbox = self._mailbox
        if mailbox is not None and mailbox.inbox:
            mailbox.deliver(self.tick, self.cast.message_handlers)
            self._rearm()
        return False

    def _rearm(self) -> None:
        """After messages or rewards were handled: whether the loop still has more to do."""
        mailbox = self._mailbox
        self._holds = self._stop is not None or self._deadline is not None or bool(
            self._externals
            or self._ledger.busy
            or (mailbox is not None and (mailbox.inbox or mailbox.outgoing))
        )

    def _route(
        self, tick: int, env_rewards: Mapping[str, float] | float
    ) -> tuple[dict[str, float], tuple[Reward, ...], tuple[Message, ...]]:
        """Settle what participants sent during ``tick``: this tick's rewards (``env_rewards``
        if none), the rewards and messages sent; revisions correct the returns and recording."""
        mailbox, ledger = self._mailbox, self._ledger
        messages = NOTHING_POSTED if mailbox is None or not mailbox.outgoing else mailbox.post()
        if not ledger.busy:
            self._rearm()
            return env_rewards, NOTHING_SENT, messages  # type: ignore[return-value]
        rewards, sent, revisions = ledger.route(tick, env_rewards)
        self._rearm()
        for receiver, past_tick, value, change in revisions:
            self.returns[receiver] += change
            self._seats.revise(receiver, change)
            if self._recorder is not None:
                self._recorder.revise_reward(receiver, past_tick, value)
        return rewards, sent, messages

    # -- ending -------------------------------------------------------------------------------

    def _end(self, obs: Mapping[str, Any]) -> None:
        """End as ``ended``: no actor is left to act (``obs``: the observers' last)."""
        self.final_observations.update(obs)
        self._obs = {}
        self._finish(TrialState.ENDED, None)

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
        if self._externals:
            self._seats.truncate()
        self._obs = {}
        self._finish(state, reason)

    def _timed_out(self, interrupt: Interrupt) -> None:
        """End ``failed`` for a call cut short, and raise it; its cast is not reused."""
        guard: Guard = self._guard  # type: ignore[assignment]
        error, self.cast.spoiled = guard.timed_out(interrupt), self.cast.spoiled or guard.spoiled
        self._fail(error)
        raise error from None

    def _fail(self, exc: BaseException) -> None:
        if self.done:
            return
        self.error = worded(exc)
        self._obs = {}
        self._finish(TrialState.FAILED, self.error)

    def _finish(self, state: TrialState, error: str | None) -> None:
        if self.cast.end_handlers:
            state, error = self.cast.tell_end(self.final_observations, state, error, self.trial_id)
        self.state, self.error = state, self.error if error is None else error
        for key, value in self.returns.items():
            self.returns[key] = float(value)
        self.result = TrialResult(
            trial_id=self.trial_id, state=state, ticks=self.tick, returns=dict(self.returns),
            seed=self.seed, spec=self.spec, error=self.error, index=self.index,
            started=0.0 if self._started is None else self._started, ended=time.time(),
            implementations=self.implementations,
        )
        if self._recorder is not None:
            self.result = recorded_end(self._recorder, self.result, self.final_observations)
            self.state, self.error = self.result.state, self.result.error
        if self._on_finish is not None:
            self._on_finish(self.result)
