"""Acting and stepping, the first half of a tick, and what can go wrong in it.

:func:`play_any` makes the :data:`Play` of a cast: given the tick and the observations, it asks
the actors for their actions, checks them, steps the environment and returns a :data:`Played`
(a trial that one actor plays alone does the same inline, in :meth:`cogym.trial.Trial._advance`,
without the dicts); :func:`playing` picks one or the other for a trial. :func:`render_frame`
renders the frame a spec's ``record_frames`` asks for, and :class:`Failures` words what went
wrong, where.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from cogym.errors import (
    ActorFailure,
    EnvironmentFailure,
    InvalidActionError,
    SpecError,
    TrialTimeoutError,
)
from cogym.trial.deadlines import Skipped

if TYPE_CHECKING:
    from cogym.spec import TrialSpec
    from cogym.trial.cast import Cast, SoloPlay, TrialEnvironment
    from cogym.trial.deadlines import Guard

__all__ = ["Failures", "Play", "Played", "play_any", "playing", "render_frame", "retire", "worded"]

Played = tuple[
    dict[str, Any],  # actions, of the actors that acted
    dict[str, Any],  # next observations
    Mapping[str, float],  # the environment's rewards
    Mapping[str, bool],  # terminated: only the actors that ended (True)
    Mapping[str, bool],  # truncated: likewise, and none of the terminated
    Mapping[str, Any],  # infos
]
"""What acting and stepping one tick gives the rest of the tick."""

Play = Callable[[int, dict[str, Any], "Mapping[str, Any] | None", set[str]], Played]
"""``play(tick, observations, provided, used)``: ``provided`` are the external actors'
actions of this tick, and ``used`` collects the names of those that were used."""


class Failures:
    """The errors of a trial's participants, naming the trial, tick, actor and implementation.

    The Failures of a cast's trials without a guard serve each of them in turn (a cast plays
    one trial at a time): each sets :attr:`trial_id` to its own as it starts playing.
    """

    __slots__ = ("_cast", "_environment", "trial_id")

    def __init__(self, trial_id: str, cast: Cast, environment: str) -> None:
        self.trial_id = trial_id
        self._cast = cast
        self._environment = environment

    def actor(self, name: str, tick: int, exc: Exception) -> ActorFailure:
        role = "observer" if name in self._cast.observer_acts else "actor"
        return ActorFailure(
            f"trial {self.trial_id}, tick {tick}: {role} {name!r} "
            f"({self._cast.implementations.get(name, '?')}) raised {exc!r}"
        )

    def environment(self, tick: int, exc: Exception) -> EnvironmentFailure:
        return EnvironmentFailure(
            f"trial {self.trial_id}, tick {tick}: environment {self._environment} raised {exc!r}"
        )

    def reward(self, rewards: Mapping[str, Any], tick: int) -> EnvironmentFailure:
        """The environment gave a reward that is not a number: the first such in ``rewards``."""
        name, value = next((n, v) for n, v in rewards.items() if not _adds_to_a_float(v))
        return EnvironmentFailure(
            f"trial {self.trial_id}, tick {tick}: environment {self._environment} gave actor "
            f"{name!r} the reward {value!r} ({type(value).__name__}); a reward must be a number"
        )

    def action(self, name: str, tick: int, action: Any) -> InvalidActionError:
        space = self._cast.actor_classes[name].action_space
        return InvalidActionError(name, tick, space, action, self.trial_id)


_WORDED = (ActorFailure, EnvironmentFailure, InvalidActionError, TrialTimeoutError)
"""The failures whose message says it all (others are shown with their type)."""


def worded(exc: BaseException) -> str:
    """The error of a trial that ``exc`` failed: its message (with its type, unless it is one of
    the failures worded here), then the traceback of its cause, if it has one."""
    cause = exc.__cause__
    detail = "".join(traceback.format_exception(cause)) if cause is not None else ""
    message = str(exc) if isinstance(exc, _WORDED) else repr(exc)
    return message + (f"\n{detail}" if detail else "")


def _adds_to_a_float(value: Any) -> bool:
    try:
        0.0 + value  # noqa: B018  (the question is whether this raises)
    except TypeError:
        return False
    return True


def play_any(cast: Cast, failures: Failures, guard: Guard | None = None) -> Play:
    """Acting and stepping for any cast: every actor in the observations acts (observers
    watch, external actors' actions come from ``provided``), then the environment steps and
    the cast's tick observers (:class:`~cogym.trial.recording.TickObserver`) see the tick.

    With a ``guard``, each call into an actor or the environment goes through it (deadlines,
    response timeouts); an optional actor it skips without a default action gives no action.
    """
    acts = cast.acts
    observer_acts = cast.observer_acts
    checks = cast.checks
    env_step = cast.environment.step
    observe = cast.tick_observers
    if guard is not None:
        acts = {n: guard.act(n, a) for n, a in acts.items()}
        observer_acts = {
            n: guard.call(f"observer {n!r} (act)", a) for n, a in observer_acts.items()
        }
        env_step = guard.call("the environment's step", env_step)
        observe = {n: guard.call(f"observer {n!r} (observe_tick)", o) for n, o in observe.items()}

    def play(
        tick: int, obs: dict[str, Any], provided: Mapping[str, Any] | None, used: set[str]
    ) -> Played:
        actions = {}
        for name, observation in obs.items():
            act = acts.get(name)
            if act is not None:
                try:
                    action = act(observation)
                except Skipped:
                    continue
                except Exception as exc:
                    raise failures.actor(name, tick, exc) from exc
            elif name in observer_acts:
                try:
                    observer_acts[name](observation)
                except Exception as exc:
                    raise failures.actor(name, tick, exc) from exc
                continue
            else:
                action = provided[name]  # type: ignore[index]
                used.add(name)
            check = checks[name]
            if check is not None and not check(action):
                raise failures.action(name, tick, action)
            actions[name] = action
        try:
            next_obs, rewards, terminated, truncated, infos = env_step(actions)
        except Exception as exc:
            raise failures.environment(tick, exc) from exc
        for name, observe_tick in observe.items():
            try:
                observe_tick(tick, obs, actions, rewards)
            except Exception as exc:
                raise failures.actor(name, tick, exc) from exc
        if terminated or truncated:
            terminated = {n: True for n, v in terminated.items() if v}
            truncated = {n: True for n, v in truncated.items() if v and n not in terminated}
        return actions, next_obs, rewards, terminated, truncated, infos

    return play


def playing(
    cast: Cast, trial_id: str, environment: str, guard: Guard | None = None
) -> tuple[Failures, Play | None, SoloPlay | None]:
    """How trial ``trial_id`` of ``cast`` (``environment``: its implementation, for messages)
    words its failures and plays a tick: a :data:`Play` of any cast, or, when one actor plays
    alone (``cast.solo``), that actor's act and the environment's step, called inline by the
    tick loop. With a ``guard``, the calls into user code are guarded (and a cast whose actor
    has a response timeout is played as any cast). Without a guard, what the cast's first
    trial made is reused."""
    if guard is None and cast.unguarded is not None:
        cast.unguarded[0].trial_id = trial_id
        return cast.unguarded
    failures = Failures(trial_id, cast, environment)
    solo = cast.solo if guard is None or not guard.rules else None
    if solo is not None and guard is not None:
        name, act, check, step = solo
        solo = (name, guard.act(name, act), check, guard.call("the environment's step", step))
    play = play_any(cast, failures, guard) if solo is None else None
    if guard is None:
        cast.unguarded = (failures, play, solo)
    return failures, play, solo


def check_renders_frames(
    spec: TrialSpec, environment: Any, recorded: bool, source: str | None = None
) -> None:
    """Refuse a ``spec`` recorded with ``record_frames`` whose ``environment`` (one built from
    it) renders no RGB arrays, naming the render mode and the fix (``source``: the spec file).

    The Gymnasium and PettingZoo wrappers hold the env; other environments say whether they
    render at the first frame (:func:`render_frame`)."""
    if not (spec.record_frames and recorded):
        return
    mode = getattr(getattr(environment, "env", None), "render_mode", "")
    if mode is None or mode in ("ansi", "human"):
        gives = "nothing" if mode is None else "no RGB arrays"
        problem = (
            f"the environment renders {gives} (its render_mode is {mode!r}); set "
            "environment.config.render_mode: rgb_array, or drop record_frames"
        )
        raise SpecError([("record_frames", problem)], source)


def render_frame(environment: TrialEnvironment, failures: Failures, tick: int) -> Any:
    """The environment's frame of the state about to be acted on, for ``record_frames``; an
    :class:`EnvironmentFailure` if it raises or renders nothing."""
    try:
        frame = environment.render()
    except Exception as exc:
        raise EnvironmentFailure(
            f"trial {failures.trial_id}, tick {tick}: the environment raised while rendering "
            f"a frame for record_frames: {exc!r}"
        ) from exc
    if frame is None:
        raise EnvironmentFailure(
            f"trial {failures.trial_id}: record_frames is set but the environment renders "
            "nothing; make it render RGB arrays (for Gymnasium and PettingZoo envs: "
            "environment.config.render_mode: rgb_array)"
        )
    if not isinstance(frame, np.ndarray) or frame.dtype.kind not in "biuf":
        # a text frame (render_mode 'ansi') would fail the datastore's write of every trial
        # that the writer holds
        shown = type(frame).__name__ if not isinstance(frame, np.ndarray) else frame.dtype
        raise EnvironmentFailure(
            f"trial {failures.trial_id}, tick {tick}: record_frames needs frames that are "
            f"arrays of numbers, but the environment rendered a {shown} ({_short(frame)}); "
            "make it render RGB arrays (for Gymnasium and PettingZoo envs: "
            "environment.config.render_mode: rgb_array)"
        )
    return frame


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def retire(
    next_obs: dict[str, Any],
    terminated: Mapping[str, bool],
    truncated: Mapping[str, bool],
    final_observations: dict[str, Any],
    observers: Mapping[str, Any],
) -> tuple[dict[str, Any], bool]:
    """Keep the final observations of the actors that ended in ``final_observations``; the
    observations of the others, and whether the trial is over (none left, or only
    ``observers``)."""
    for name in (*terminated, *truncated):
        final_observations[name] = next_obs.get(name)
    left = {n: o for n, o in next_obs.items() if n not in terminated and n not in truncated}
    return left, all(n in observers for n in left)
