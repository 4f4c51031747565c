"""The environment side of a trial: actor classes and the :class:`Environment` protocol.

Gymnasium and PettingZoo envs become environments through :mod:`cogym.wrappers`; write an
:class:`Environment` directly when the world has actors that no Gym or PettingZoo env models
(observers, teachers, several roles with their own spaces).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from cogym.trial.values import ActorClass

if TYPE_CHECKING:
    from cogym.spec import ActorSpec
    from cogym.trial.context import TrialContext
    from cogym.trial.values import Message

__all__ = ["ActorClass", "Environment", "StepResult", "OBSERVER"]

OBSERVER = "observer"
"""Actor class of actors that watch a trial (and may send rewards and messages) but do not act."""

StepResult = tuple[
    dict[str, Any],  # observations: next one per actor that acts next, final one per ended actor
    dict[str, float],  # rewards of this tick, per actor
    dict[str, bool],  # terminated: the actors that ended this tick (True); may be empty
    dict[str, bool],  # truncated: likewise
    dict[str, dict[str, Any]],  # infos, per actor
]


class Environment(abc.ABC):
    """The world of a trial.

    A subclass decides which actor plays which role (:meth:`bind`), then runs episodes with
    :meth:`reset` and :meth:`step`. Observations, rewards and flags are dicts keyed by actor
    name. Only the actors present in the observations returned by the last call act on the
    next tick, which is how turn-based worlds let one actor act at a time.

    Example, a one-actor world that counts to three::

        >>> from gymnasium import spaces
        >>> class Count(Environment):
        ...     def bind(self, actors):
        ...         self.name = actors[0].name
        ...         counter = ActorClass("counter", spaces.Discrete(4), spaces.Discrete(2))
        ...         return {self.name: counter}
        ...     def reset(self, seed=None, options=None):
        ...         self.n = 0
        ...         return {self.name: 0}, {self.name: {}}
        ...     def step(self, actions):
        ...         self.n += 1
        ...         done = {self.name: True} if self.n == 3 else {}
        ...         return {self.name: self.n}, {self.name: 1.0}, done, {}, {self.name: {}}
    """

    metadata: dict[str, Any] = {"render_modes": []}
    context: TrialContext | None = None
    """Set by the trial before :meth:`reset`: send rewards and messages through it."""

    @abc.abstractmethod
    def bind(self, actors: Sequence[ActorSpec]) -> dict[str, ActorClass]:
        """Give each actor of the spec its class, or raise :class:`~cogym.errors.BindingError`."""

    @abc.abstractmethod
    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """Start an episode; return the observations of the actors that act first, and infos."""

    @abc.abstractmethod
    def step(self, actions: dict[str, Any]) -> StepResult:
        """Apply the actions of the actors that acted; see :data:`StepResult`."""

    def single_actor(
        self,
    ) -> tuple[str, Callable[[Any], tuple[Any, float, bool, bool, dict]]] | None:
        """Optional fast path: ``(actor name, step)`` when exactly one actor acts and none watches.

        ``step(action)`` then returns Gymnasium's ``(observation, reward, terminated,
        truncated, info)`` for that actor, and the trial skips the per-tick dicts.
        """
        return None

    def render(self) -> Any:
        """A frame (an RGB array) of the current state, or ``None``."""
        return None

    def on_message(self, message: Message) -> None:
        """Called with each message addressed to the environment, one tick after it was sent."""

    def close(self) -> None:
        """Release resources."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
