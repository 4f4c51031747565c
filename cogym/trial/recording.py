"""What a trial hands out: its ticks to a recorder, and calls to its actors' optional hooks.

:class:`TrialRecorder` is what every recorder implements (see :mod:`cogym.datalog`);
:class:`SoloRecorder` is the optional shortcut a recorder may add for one-actor trials;
:func:`tick_recorder` makes the function the tick loop hands each tick to,
:func:`recorded_end` hands the recorder the trial's end, and :class:`TickNotes` holds what
participants noted about the tick being played. An actor needs
only ``act`` (:class:`cogym.actors.Actor`); :class:`Resettable`, :class:`RewardReceiver`,
:class:`MessageReceiver`, :class:`TickObserver`, :class:`EndReceiver` and :class:`Closable` are
the hooks it may add, each called when present.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from cogym.errors import MessageError
from cogym.trial.values import Message, Reward, Sample, TrialResult, TrialState

if TYPE_CHECKING:
    from cogym.trial.context import TrialContext

__all__ = [
    "Closable",
    "EndReceiver",
    "MessageReceiver",
    "Resettable",
    "RewardReceiver",
    "SoloRecorder",
    "TickObserver",
    "TrialRecorder",
    "recorded_end",
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
class TickObserver(Protocol):
    """An actor shown each tick once the environment has stepped: the ``observations`` the
    actors acted on, their ``actions`` and the environment's ``rewards``; a reward it sends
    then (``context.send_reward``) counts on this same tick. A trial of one actor alone has no
    such actor, and pays nothing for the hook."""

    def observe_tick(
        self,
        tick: int,
        observations: Mapping[str, Any],
        actions: Mapping[str, Any],
        rewards: Mapping[str, float],
    ) -> None: ...


@runtime_checkable
class EndReceiver(Protocol):
    """An actor told each trial it plays is over, as the trial finishes: ``observation`` is its
    last one (what the environment showed it at the end, or at a stop) where the trial ended or
    was terminated, ``None`` where it failed or left the actor none."""

    def on_end(self, observation: Any | None) -> None: ...


@runtime_checkable
class Closable(Protocol):
    """An actor that holds resources, released when its cast is closed."""

    def close(self) -> None: ...


class TickNotes:
    """What participants noted about the tick being played (``context.annotate``), by name."""

    __slots__ = ("notes",)

    def __init__(self) -> None:
        self.notes: dict[str, Any] = {}

    def add(self, where: str, name: str, note: Any) -> None:
        """Note ``note`` for ``name``, or raise :class:`MessageError` if it is not JSON
        (``where``: the trial and tick, for the message)."""
        try:
            json.dumps(note)
        except (TypeError, ValueError) as exc:
            raise MessageError(
                f"{where}: {name!r} annotated the tick with a note that is not "
                f"JSON-serialisable ({exc})"
            ) from None
        self.notes[name] = note

    def take(self) -> dict[str, Any] | None:
        """The notes of the tick that ends (``None`` if there are none); the next starts empty."""
        notes = self.notes
        if not notes:
            return None
        self.notes = {}
        return notes


Record = Callable[..., None]
"""``record(tick, observations, actions, rewards, terminated, truncated, rewards_sent,
messages, env_rewards, frame)``: hand one tick to the recorder and the kept samples."""


def tick_recorder(
    recorder: TrialRecorder | None,
    samples: list[Sample] | None,
    notes: TickNotes,
    solo: str | None = None,
) -> tuple[Record | None, Record | None]:
    """What hands each tick to ``recorder`` and to ``samples`` (``None``: neither is there),
    and, in a trial that actor ``solo`` plays alone, the shortcut for its plain ticks.

    The shortcut is a :class:`SoloRecorder`'s ``append_solo``, called as ``(solo, tick,
    observation, action, reward, env_reward, terminated, truncated)`` for a tick with no frame,
    reward or message sent and no note; it is there only when the trial keeps no samples.
    """
    if recorder is None and samples is None:
        return None, None
    append = recorder.append if recorder is not None else None
    keep = samples.append if samples is not None else None

    def record(
        tick: int,
        obs: Mapping[str, Any],
        actions: Mapping[str, Any],
        rewards: Mapping[str, float],
        terminated: Mapping[str, bool],
        truncated: Mapping[str, bool],
        sent: tuple[Reward, ...],
        messages: tuple[Message, ...],
        env_rewards: Mapping[str, float],
        frame: Any,
    ) -> None:
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
            notes.take(),
        )
        if append is not None:
            append(sample)
        if keep is not None:
            keep(sample)

    if solo is None or samples is not None or not hasattr(recorder, "append_solo"):
        return record, None
    shortcut: SoloRecorder = recorder  # type: ignore[assignment]
    return record, shortcut.append_solo


def recorded_end(
    recorder: TrialRecorder, result: TrialResult, final_observations: Mapping[str, Any]
) -> TrialResult:
    """Hand the trial's end to ``recorder``; the result as recorded. A trial the recorder could
    not record whole ends ``failed``, with the reason."""
    try:
        recorded = recorder.finish(result, final_observations)
    except Exception as exc:  # noqa: BLE001  (the trial's result says it, see below)
        reason = f"trial {result.trial_id} could not be recorded: {exc}"
        error = reason if result.error is None else f"{result.error}\n{reason}"
        return replace(result, state=TrialState.FAILED, error=error)
    return result if recorded is None else recorded
