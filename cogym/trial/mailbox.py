"""The messages of a trial: sent during one tick, delivered at the start of the next.

A message goes to one actor, to the environment (``"env"``) or to every participant but its
sender (``"*"``); its payload must be JSON-serialisable, so that it can be recorded.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from cogym.errors import ActorFailure, EnvironmentFailure, MessageError
from cogym.trial.values import BROADCAST, ENVIRONMENT, Message

__all__ = ["Mailbox"]


class Mailbox:
    """The messages of one trial: :attr:`outgoing` during a tick, :attr:`inbox` until the
    next tick delivers them."""

    __slots__ = ("_actors", "_trial_id", "inbox", "outgoing")

    def __init__(self, trial_id: str, actors: tuple[str, ...]) -> None:
        self._trial_id = trial_id
        self._actors = actors
        self.outgoing: list[Message] = []
        """Messages sent during the tick being played."""
        self.inbox: list[Message] = []
        """Messages sent on the last tick, to deliver at the start of this one."""

    def send(self, now: int, sender: str, receiver: str, payload: Any) -> None:
        """Queue a message sent on tick ``now``, or raise :class:`MessageError` saying what is
        wrong with it."""
        where = f"trial {self._trial_id}, tick {now}: {sender!r} sending a message"
        if receiver not in (BROADCAST, ENVIRONMENT) and receiver not in self._actors:
            raise MessageError(
                f"{where}: no actor named {receiver!r} (actors: {sorted(self._actors)}, "
                f"or {ENVIRONMENT!r}, or {BROADCAST!r})"
            )
        try:
            json.dumps(payload)
        except (TypeError, ValueError) as exc:
            raise MessageError(f"{where}: the payload is not JSON-serialisable ({exc})") from None
        self.outgoing.append(Message(now, sender, receiver, payload))

    def post(self) -> tuple[Message, ...]:
        """End the tick: the messages sent during it move to the inbox; returns them."""
        messages = tuple(self.outgoing)
        self.outgoing.clear()
        self.inbox.extend(messages)
        return messages

    def deliver(self, now: int, handlers: Mapping[str, Callable[[Message], None]]) -> None:
        """Hand the inbox to the ``on_message`` hooks of its receivers, on tick ``now``; a
        receiver that raises fails the trial (an :class:`ActorFailure` or, for the
        environment, an :class:`EnvironmentFailure`)."""
        inbox = self.inbox[:]
        self.inbox.clear()
        for message in inbox:
            receivers = list(handlers) if message.receiver == BROADCAST else [message.receiver]
            for receiver in receivers:
                if receiver == message.sender:
                    continue
                handler = handlers.get(receiver)
                if handler is None:
                    continue
                try:
                    handler(message)
                except Exception as exc:
                    failure = EnvironmentFailure if receiver == ENVIRONMENT else ActorFailure
                    raise failure(
                        f"trial {self._trial_id}, tick {now}: {receiver!r} raised "
                        f"while receiving a message: {exc!r}"
                    ) from exc
