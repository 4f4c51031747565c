"""The actor protocol and the built-in actor implementations.

An actor is any object with ``act(observation) -> action``. It may also define
``reset(context)`` (called at each trial start with a :class:`~cogym.trial.TrialContext`),
``on_reward(reward)``, ``on_message(message)`` and ``close()``, the protocols
:class:`Resettable`, :class:`RewardReceiver`, :class:`MessageReceiver` and :class:`Closable`
(defined in :mod:`cogym.trial.recording`)::

    >>> class AlwaysLeft:
    ...     def act(self, observation):
    ...         return 0

Such a class is named in a spec as ``python:<module>:AlwaysLeft``.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, runtime_checkable

from gymnasium import spaces

from cogym.seeding import seed_space
from cogym.trial.recording import Closable, MessageReceiver, Resettable, RewardReceiver

if TYPE_CHECKING:
    from cogym.trial.context import TrialContext

__all__ = [
    "EXTERNAL",
    "Actor",
    "Closable",
    "MessageReceiver",
    "RandomActor",
    "Resettable",
    "RewardReceiver",
]

ObsT = TypeVar("ObsT", contravariant=True)
ActT = TypeVar("ActT", covariant=True)

EXTERNAL = "external"
"""Implementation name of actors driven from outside, through the PettingZoo and Gym adapters."""


@runtime_checkable
class Actor(Protocol[ObsT, ActT]):
    """What decides an actor's actions. Only :meth:`act` is required."""

    def act(self, observation: ObsT) -> ActT: ...


class RandomActor(Generic[ActT]):
    """Samples uniformly from its action space, seeded by the trial.

    Honours an ``action_mask`` entry in dict observations, as PettingZoo's classic games give.

    >>> actor = RandomActor(spaces.Discrete(3))
    >>> actor.act(None) in range(3)
    True
    """

    def __init__(self, action_space: spaces.Space) -> None:
        # a copy: environments often share one space object between agents
        self.action_space = copy.deepcopy(action_space)

    def reset(self, context: TrialContext) -> None:
        if context.seed is not None:
            seed_space(self.action_space, context.seed)

    def act(self, observation: Any) -> Any:
        if type(observation) is dict and "action_mask" in observation:
            return self.action_space.sample(mask=observation["action_mask"])
        return self.action_space.sample()

    def __repr__(self) -> str:
        return f"RandomActor({self.action_space})"
