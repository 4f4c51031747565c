"""The protocols a trial calls out through: its recorder, and its actors' optional hooks.

:class:`TrialRecorder` is what every recorder implements (see :mod:`cogym.datalog`);
:class:`SoloRecorder` is the optional shortcut a recorder may add for one-actor trials. An
actor needs only ``act`` (:class:`cogym.actors.Actor`); :class:`Resettable`,
:class:`RewardReceiver`, :class:`MessageReceiver` and :class:`Closable` are the hooks it may
add, each called when present.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from cogym.trial.values import Message, Reward, Sample, TrialResult

if TYPE_CHECKING:
    from cogym.trial.context import TrialContext

__all__ = [
    "Closable",
    "MessageReceiver",
    "Resettable",
    "RewardReceiver",
    "SoloRecorder",
    "TrialRecorder",
]


class TrialRecorder(Protocol):
    """Receives a trial's ticks; see :mod:`cogym.datalog`.

    A recorder that is also a :class:`SoloRecorder` gets the plain ticks of one-actor trials
    through ``append_solo`` instead of :meth:`append`.
    """

    def append(self, sample: Sample) -> None: ...

    def revise_reward(self, actor: str, tick: int, value: float) -> None: ...

    def finish(
        self, result: TrialResult, final_observations: Mapping[str, Any]
    ) -> TrialResult | None:
        """Take the trial's end; return its result as recorded if recording changed it (a
        trial that could not be recorded whole is ``failed``, with the reason), else ``None``."""


@runtime_checkable
class SoloRecorder(Protocol):
    """The optional shortcut of a recorder for a trial of one actor.

    On the ticks where nothing else happened (no reward or message sent, no frame, no note)
    such a trial calls ``append_solo`` instead of :meth:`TrialRecorder.append`, which spares
    it building a :class:`Sample`; ``truncated`` is false whenever ``terminated`` is true.
    """

    def append_solo(
        self,
        name: str,
        tick: int,
        observation: Any,
        action: Any,
        reward: float,
        env_reward: float,
        terminated: bool,
        truncated: bool,
    ) -> None: ...


@runtime_checkable
class Resettable(Protocol):
    """An actor told of each trial it plays, before its first tick."""

    def reset(self, context: TrialContext) -> None: ...


@runtime_checkable
class RewardReceiver(Protocol):
    """An actor handed each reward it receives, on the tick it is sent."""

    def on_reward(self, reward: Reward) -> None: ...


@runtime_checkable
class MessageReceiver(Protocol):
    """An actor (or environment) handed each message addressed to it, one tick after sending."""

    def on_message(self, message: Message) -> None: ...


@runtime_checkable
class Closable(Protocol):
    """An actor that holds resources, released when its cast is closed."""

    def close(self) -> None: ...
