"""The plain value types of a trial: states, rewards, messages, samples, summaries, roles.

Everything here is data with no behaviour beyond a property or two, and imports nothing else
of cogym (but :class:`~cogym.spec.TrialSpec`, for typing), so that :mod:`cogym.environment`,
:mod:`cogym.actors` and the recorders can name these types without an import cycle.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from gymnasium import spaces

if TYPE_CHECKING:
    from cogym.spec import TrialSpec

__all__ = [
    "BROADCAST",
    "ENVIRONMENT",
    "ActorClass",
    "Message",
    "Reward",
    "Sample",
    "TrialInfo",
    "TrialResult",
    "TrialState",
]

ENVIRONMENT = "env"
"""Sender and receiver name of the environment in rewards and messages."""
BROADCAST = "*"
"""Receiver name that addresses every actor."""


@dataclass(frozen=True)
class ActorClass:
    """A role in a trial: a name, what it observes and how it acts.

    ``action_space`` is ``None`` for observers, whose ``act`` result is ignored.
    """

    name: str
    observation_space: spaces.Space
    action_space: spaces.Space | None

    def __repr__(self) -> str:
        return (
            f"ActorClass({self.name!r}, observation_space={self.observation_space}, "
            f"action_space={self.action_space})"
        )


class TrialState(str, enum.Enum):  # noqa: UP042  (StrEnum would change format() of states)
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
