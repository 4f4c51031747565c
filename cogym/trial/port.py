"""The port through which a trial's participants reach it: :class:`Port`.

Each participant's :class:`~cogym.trial.context.TrialContext` talks to its trial through the
trial's port: send a reward or a message, note something about the tick, ask for a frame, ask
the trial to stop.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from cogym.trial.mailbox import Mailbox
from cogym.trial.values import ActorClass, TrialState

__all__ = ["Port"]


class Port:
    """The calls a trial's participants make through their :class:`TrialContext`: the
    :class:`~cogym.trial.context.TrialPort` of one :class:`~cogym.trial.Trial`, which it reads and
    changes directly (the trial's ledger, mailbox, notes and stop request)."""

    __slots__ = ("_trial", "spec", "trial_id")

    def __init__(self, trial: Any) -> None:
        """``trial``: the :class:`~cogym.trial.Trial` (not imported here: it imports this)."""
        self._trial = trial
        self.trial_id = trial.trial_id
        self.spec = trial.spec

    @property
    def tick(self) -> int:
        return self._trial.tick

    @property
    def actors(self) -> tuple[str, ...]:
        return self._trial.cast.names

    @property
    def actor_classes(self) -> Mapping[str, ActorClass]:
        return MappingProxyType(self._trial.cast.actor_classes)

    def drop_env_share(self, sender: str, receiver: str) -> None:
        trial = self._trial
        trial._ledger.drop_env_share(receiver, sender)
        trial._holds = True

    def send_reward(
        self, sender: str, receiver: str, value: float, confidence: float, tick: int | None
    ) -> None:
        trial = self._trial
        trial._ledger.send(trial.tick, sender, receiver, value, confidence, tick)
        trial._holds = True

    def send_message(self, sender: str, receiver: str, payload: Any) -> None:
        trial = self._trial
        if trial._mailbox is None:
            trial._mailbox = Mailbox(trial.trial_id, trial.cast.names)
        trial._mailbox.send(trial.tick, sender, receiver, payload)
        trial._holds = True

    def annotate(self, name: str, note: Any) -> None:
        trial = self._trial
        trial._notes.add(f"trial {trial.trial_id}, tick {trial.tick}", name, note)

    def render(self) -> Any:
        return self._trial.environment.render()

    def request_stop(self, reason: str) -> None:
        trial = self._trial
        if not trial.done and trial._stop is None:
            trial._stop = (TrialState.TERMINATED, reason)
            trial._holds = True
