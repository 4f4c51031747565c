"""One human actor's page: its URL and token, the person's input, what goes out to the page.

A channel is shared by two threads: the web server's (which hands it what the page sends,
already checked) and the trial's (the actor, which waits on it for the person's input). Every
field below is guarded by :attr:`HumanChannel.condition`.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gymnasium import spaces

from cogym.errors import PageMessageError
from cogym.web.actions import decode_action
from cogym.web.connection import ChannelHost, PageConnection
from cogym.web.protocol import PageAction, PageFeedback, PageMessage, PageRelease

__all__ = ["HumanChannel", "Press"]

MAX_QUEUED_PRESSES = 8
MAX_QUEUED_FEEDBACK = 64


@dataclass(frozen=True)
class Press:
    """An action the person chose, checked against the action space."""

    action: Any
    """The action as the environment takes it."""
    raw: Any
    """The action as the page sent it (JSON)."""
    key: str | None
    held: bool
    seen_tick: int
    key_time: float | None
    """Wall-clock seconds of the key event on the page, if the page said."""


class HumanChannel:
    """The link between one actor and its page. Built by :meth:`WebServer.open_channel`.

    ``url`` is what the person opens; it carries the channel's secret token, which every page,
    asset and socket request must present.
    """

    def __init__(
        self,
        server: ChannelHost,
        channel_id: str,
        actor: str,
        action_space: spaces.Space | None,
    ) -> None:
        self.server = server
        self.id = channel_id
        self.actor = actor
        self.action_space = action_space
        self.token = secrets.token_urlsafe(24)
        self.condition = threading.Condition()
        self.presses: deque[Press] = deque(maxlen=MAX_QUEUED_PRESSES)
        self.held: Press | None = None
        self.feedback: deque[PageFeedback] = deque(maxlen=MAX_QUEUED_FEEDBACK)
        self.feedback_to: tuple[str, ...] = ()
        self.connections = 0
        """How many times a page has connected (so the actor notices a reconnection)."""
        self.closed = False
        self._connection: PageConnection | None = None
        self._hello: dict[str, Any] = {}
        self._trial_status: dict[str, Any] | None = None
        self._last_frame: bytes | str | None = None

    @property
    def url(self) -> str:
        """The page's address, token included."""
        return f"{self.server.base_url}/play/{self.id}?token={self.token}"

    @property
    def connected(self) -> bool:
        return self._connection is not None

    def __repr__(self) -> str:
        state = "connected" if self.connected else "waiting for a page"
        return f"HumanChannel({self.actor!r}, {self.server.base_url}/play/{self.id}, {state})"

    # -- the server's side ---------------------------------------------------------------------

    def attach(self, connection: PageConnection) -> PageConnection | None:
        """A page connected; it replaces the previous one (returned, to be closed)."""
        with self.condition:
            previous = self._connection
            self._connection = connection
            self.connections += 1
            self.held = None
            replay = [json.dumps(self._hello)]
            if self._trial_status is not None:
                replay.append(json.dumps(self._trial_status))
            last_frame = self._last_frame
            self.condition.notify_all()
        for text in replay:
            connection.offer_text(text)
        if last_frame is not None:
            connection.offer_frame(last_frame)
        return previous

    def detach(self, connection: PageConnection) -> None:
        """A page went away (closed tab, dropped connection)."""
        with self.condition:
            if self._connection is connection:
                self._connection = None
                self.held = None
                self.condition.notify_all()

    def receive(self, message: PageMessage) -> None:
        """Take a parsed message from the page; raise :class:`PageMessageError` to refuse it."""
        if isinstance(message, PageAction):
            if self.action_space is None:
                raise PageMessageError(
                    f"actor {self.actor!r} watches and does not act; it can only send feedback"
                )
            action = decode_action(self.action_space, message.action)
            press = Press(
                action,
                message.action,
                message.key,
                message.held,
                message.tick,
                None if message.time is None else message.time / 1000.0,
            )
            with self.condition:
                self.presses.append(press)
                if press.held:
                    self.held = press
                self.condition.notify_all()
        elif isinstance(message, PageRelease):
            with self.condition:
                if self.held is not None and (message.key is None or self.held.key == message.key):
                    self.held = None
                self.condition.notify_all()
        else:
            if message.to not in self.feedback_to:
                allowed = ", ".join(repr(n) for n in self.feedback_to) or "nobody"
                raise PageMessageError(
                    f"actor {self.actor!r} may send feedback to {allowed}, not to {message.to!r}"
                )
            with self.condition:
                self.feedback.append(message)
                self.condition.notify_all()

    # -- the actor's side ----------------------------------------------------------------------

    def take_press(self, accept: Callable[[Press], bool]) -> Press | None:
        """Pop the oldest queued press that ``accept`` keeps, dropping those it refuses.

        Call with :attr:`condition` held.
        """
        while self.presses:
            press = self.presses.popleft()
            if accept(press):
                return press
        return None

    def take_feedback(self) -> list[PageFeedback]:
        with self.condition:
            taken = list(self.feedback)
            self.feedback.clear()
        return taken

    def clear_input(self) -> None:
        """Forget queued presses and feedback (a new trial starts)."""
        with self.condition:
            self.presses.clear()
            self.feedback.clear()

    def set_hello(self, hello: dict[str, Any]) -> None:
        """What a page learns first on every connection (actor, spaces, keys); sent now too."""
        with self.condition:
            self._hello = hello
            self.feedback_to = tuple(hello.get("feedback_to", ()))
            connection = self._connection
        if connection is not None:
            connection.offer_text(json.dumps(hello))

    def send(self, payload: dict[str, Any]) -> None:
        """Send a JSON message to the page (kept for a reconnecting page if it is a status)."""
        text = json.dumps(payload)
        kind = payload.get("type")
        with self.condition:
            if kind == "trial":
                self._trial_status = payload
            elif kind == "tick":
                self._last_frame = text
            connection = self._connection
        if connection is None:
            return
        if kind == "tick":
            connection.offer_frame(text)  # coalesced like frames
        else:
            connection.offer_text(text)

    def send_frame(self, data: bytes) -> None:
        """Send a binary frame message; a slow page only ever gets the newest frame."""
        with self.condition:
            self._last_frame = data
            connection = self._connection
        if connection is not None:
            connection.offer_frame(data)

    def wait(self, timeout: float) -> None:
        """Wait for the page (call with :attr:`condition` held), at most ``timeout`` seconds."""
        self.condition.wait(max(0.0, min(timeout, 0.25)))

    def wait_connected(self, timeout: float | None) -> bool:
        """Wait until a page is connected; ``False`` if ``timeout`` seconds passed first."""
        end = None if timeout is None else time.monotonic() + timeout
        with self.condition:
            while self._connection is None and not self.closed:
                left = 0.25 if end is None else end - time.monotonic()
                if left <= 0:
                    return False
                self.condition.wait(min(left, 0.25))
            return self._connection is not None

    def close(self) -> None:
        """The actor is done: tell the page and refuse further connections."""
        with self.condition:
            self.closed = True
            connection = self._connection
            self._connection = None
            self.condition.notify_all()
        if connection is not None:
            connection.offer_text(json.dumps({"type": "closed"}))
            connection.close()
        self.server.close_channel(self)
