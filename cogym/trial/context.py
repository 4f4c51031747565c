"""What a participant (an actor or the environment) sees of its trial: :class:`TrialContext`.

A context talks to its trial only through a :class:`TrialPort`, the few calls a participant
may make on the tick being played: send a reward or a message, note something about the tick,
ask for a frame, ask the trial to stop.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from cogym.trial.values import ActorClass

if TYPE_CHECKING:
    from cogym.spec import TrialSpec

__all__ = ["TrialContext", "TrialPort"]


class TrialPort(Protocol):
    """The calls a trial takes from its participants (:class:`cogym.trial.Trial` makes one)."""

    @property
    def trial_id(self) -> str: ...

    @property
    def spec(self) -> TrialSpec: ...

    @property
    def tick(self) -> int: ...

    @property
    def actors(self) -> tuple[str, ...]: ...

    @property
    def actor_classes(self) -> Mapping[str, ActorClass]: ...

    def drop_env_share(self, sender: str, receiver: str) -> None: ...

    def send_reward(
        self, sender: str, receiver: str, value: float, confidence: float, tick: int | None
    ) -> None: ...

    def send_message(self, sender: str, receiver: str, payload: Any) -> None: ...

    def annotate(self, name: str, note: Any) -> None: ...

    def render(self) -> Any: ...

    def request_stop(self, reason: str) -> None: ...


class TrialContext:
    """What a participant knows of its trial, and how it sends rewards and messages.

    Actors get theirs in ``reset(context)``; environments find theirs in ``self.context``::

        class Coach:
            def reset(self, context):
                self.context = context

            def act(self, observation):
                self.context.send_reward("player", 1.0, confidence=0.5)
    """

    def __init__(
        self, port: TrialPort, name: str, actor_class: ActorClass | None, seed: int | None
    ) -> None:
        self._port = port
        self.name = name
        self.actor_class = actor_class
        self.seed = seed

    @property
    def trial_id(self) -> str:
        return self._port.trial_id

    @property
    def spec(self) -> TrialSpec:
        return self._port.spec

    @property
    def tick(self) -> int:
        """The tick being played."""
        return self._port.tick

    @property
    def actors(self) -> tuple[str, ...]:
        return self._port.actors

    @property
    def actor_classes(self) -> Mapping[str, ActorClass]:
        """Each actor's class (its role and spaces; ``action_space`` ``None`` for observers)."""
        return self._port.actor_classes

    def replace_env_reward(self, receiver: str) -> None:
        """Drop ``receiver``'s share of the environment's reward for the rest of the trial: its
        reward is then what participants send it alone (see :mod:`cogym.trial.rewards`)."""
        self._port.drop_env_share(self.name, receiver)

    def send_reward(
        self, receiver: str, value: float, confidence: float = 1.0, tick: int | None = None
    ) -> None:
        """Reward ``receiver`` (an actor name or ``"*"``) for ``tick`` (default: this tick)."""
        self._port.send_reward(self.name, receiver, value, confidence, tick)

    def send_message(self, receiver: str, payload: Any) -> None:
        """Send a JSON-serialisable payload to an actor, ``"env"`` or ``"*"``; it arrives next
        tick."""
        self._port.send_message(self.name, receiver, payload)

    def annotate(self, note: Any) -> None:
        """Record a JSON-serialisable note with this tick (for instance who chose the action)."""
        self._port.annotate(self.name, note)

    def render(self) -> Any:
        """The environment's frame of the state being observed (an RGB array), or ``None``."""
        return self._port.render()

    def terminate(self, reason: str) -> None:
        """End the trial as ``terminated`` once the tick being played is over."""
        self._port.request_stop(reason)

    def __repr__(self) -> str:
        return f"TrialContext(trial={self.trial_id!r}, name={self.name!r}, tick={self.tick})"
