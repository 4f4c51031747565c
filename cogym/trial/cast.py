"""The cast of a trial: its environment and actors, with what the tick loop needs worked out once.

:class:`TrialEnvironment` is what the tick loop asks of an environment;
:class:`cogym.environment.Environment` is the class to subclass, and provides all of it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from cogym.spaces import membership_check
from cogym.trial.values import ENVIRONMENT, ActorClass, Message, Reward, TrialState

if TYPE_CHECKING:
    from cogym.trial.context import TrialContext

__all__ = ["Cast", "SoloPlay", "TrialEnvironment"]

SoloPlay = tuple[str, Callable[[Any], Any], "Callable[[Any], bool] | None", Callable[[Any], Any]]
"""``(actor name, act, action check, step)`` of a trial that one actor plays alone."""


class TrialEnvironment(Protocol):
    """What the tick loop calls on its environment (see :class:`cogym.environment.Environment`)."""

    context: TrialContext | None

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]: ...

    def step(self, actions: dict[str, Any]) -> tuple[Any, Any, Any, Any, Any]: ...

    def single_actor(self) -> tuple[str, Callable[[Any], Any]] | None: ...

    def render(self) -> Any: ...

    def on_message(self, message: Message) -> None: ...

    def close(self) -> None: ...


class Cast:
    """The environment and actors of a trial, with what the tick loop needs worked out once.

    The orchestrator keeps casts between trials and hands one to each new trial of the same
    spec, so building a trial costs next to nothing. The optional hooks of the actors (see
    :mod:`cogym.trial.recording`) are found here, once.
    """

    def __init__(
        self,
        environment: TrialEnvironment,
        actor_classes: Mapping[str, ActorClass],
        actors: Mapping[str, Any],
        *,
        externals: Sequence[str] = (),
        trusted: frozenset[str] = frozenset(),
        implementations: Mapping[str, str] | None = None,
    ) -> None:
        self.environment = environment
        self.actor_classes = dict(actor_classes)
        self.names = tuple(self.actor_classes)
        """The actors' names, in the spec's order."""
        self.actors = dict(actors)
        self.external_order = tuple(n for n in self.actor_classes if n in set(externals))
        self.externals = frozenset(self.external_order)
        self.implementations = dict(implementations or {})
        self.spoiled = False
        """Set when a call into its environment or an actor was cut short (a deadline): their
        state is unknown, so the cast is closed after its trial instead of being reused."""
        observers = {n for n, c in self.actor_classes.items() if c.action_space is None}
        self.observer_acts = {n: self.actors[n].act for n in observers if n in self.actors}
        self.acts = {n: a.act for n, a in self.actors.items() if n not in observers}
        self.checks = {
            n: (None if n in trusted else membership_check(c.action_space))
            for n, c in self.actor_classes.items()
            if c.action_space is not None
        }
        self.resets: dict[str, Callable[[TrialContext], None]] = _hooks(self.actors, "reset")
        self.reward_handlers: dict[str, Callable[[Reward], None]] = _hooks(
            self.actors, "on_reward"
        )
        self.message_handlers: dict[str, Callable[[Message], None]] = _hooks(
            self.actors, "on_message"
        )
        self.message_handlers[ENVIRONMENT] = environment.on_message
        self.tick_observers: dict[str, Callable[..., None]] = _hooks(self.actors, "observe_tick")
        self.end_handlers: dict[str, Callable[[Any], None]] = _hooks(self.actors, "on_end")
        self.unguarded: tuple[Any, Any, SoloPlay | None] | None = None
        """How its trials play when they need no guard: the ``(failures, play, solo)`` of
        :func:`cogym.trial.playing.playing`, made for the first and reused by the next."""
        single = environment.single_actor()
        self.solo: SoloPlay | None = None
        if (
            single is not None
            and single[0] in self.acts
            and len(self.actor_classes) == 1
            and not self.reward_handlers
        ):
            name, step = single
            self.solo = (name, self.acts[name], self.checks[name], step)

    def tell_end(
        self,
        final_observations: Mapping[str, Any],
        state: TrialState,
        error: str | None,
        trial_id: str,
    ) -> tuple[TrialState, str | None]:
        """Call each actor's ``on_end`` (:class:`~cogym.trial.recording.EndReceiver`) as its
        trial finishes in ``state``; the state and error the trial ends with: ``failed``, naming
        the actor, where a hook raised on a trial that had not failed already."""
        failed = state is TrialState.FAILED
        for name, on_end in self.end_handlers.items():
            try:
                on_end(None if failed else final_observations.get(name))
            except Exception as exc:  # noqa: BLE001  (the trial's result says it)
                if state is not TrialState.FAILED:
                    state = TrialState.FAILED
                    error = f"trial {trial_id}: actor {name!r} raised as the trial ended: {exc!r}"
        return state, error

    def close(self) -> None:
        """Close the actors and the environment."""
        for close in _hooks(self.actors, "close").values():
            close()
        self.environment.close()


def _hooks(actors: Mapping[str, Any], hook: str) -> dict[str, Callable[..., Any]]:
    """The actors' optional ``hook`` methods, by actor name (those that have it)."""
    found = {}
    for name, actor in actors.items():
        method = getattr(actor, hook, None)
        if callable(method):
            found[name] = method
    return found
