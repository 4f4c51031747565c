"""Waiting for the person within a tick: for their action until the deadline, or through the
tick (an observer), and pausing while their page is away.

Both waits hold the channel's condition while they look at it, so nothing the page sends
between a look and a wait is missed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from cogym.web.channel import HumanChannel, Press
from cogym.web.room import Window

__all__ = ["Outcome", "wait_for_action", "wait_through"]

PageGone = Callable[[float], bool]
"""``page_gone(seconds away) -> bool``: called while the page is away; True ends the wait."""
Reopen = Callable[[], Window]
"""Called when the page is back after a pause: the tick's new window."""
Accept = Callable[[Press], "str | None"]
"""``accept(press)``: None keeps the press; a message refuses it (shown on the page; an empty
message drops it silently)."""


@dataclass(frozen=True)
class Outcome:
    """How a tick's wait ended: with the person's ``press``, or without one for ``reason``
    (``timeout``, ``disconnected`` or ``closed``)."""

    press: Press | None
    held: bool = False
    """The press is a key or button still down from before."""
    reason: str | None = None
    late_ms: int | None = None
    """How long after the tick's due time the person acted, when the trial waited for them."""


def wait_for_action(
    channel: HumanChannel,
    window: Window,
    accept: Accept,
    page_gone: PageGone,
    reopen: Reopen,
    *,
    held_acts: bool = True,
) -> Outcome:
    """Wait for the person's action on ``window``'s tick (see :class:`Outcome`); a key or
    button held down acts on every tick it is down when ``held_acts``."""
    paused_at: float | None = None
    refused: list[str] = []

    def keep(press: Press) -> bool:
        verdict = accept(press)
        if verdict:
            refused.append(verdict)
        return verdict is None

    while True:
        back = False
        with channel.condition:
            now = time.monotonic()
            if channel.closed:
                return Outcome(None, reason="closed")
            if not channel.connected:
                paused_at = now if paused_at is None else paused_at
                if page_gone(now - paused_at):
                    return Outcome(None, reason="disconnected")
                channel.wait(1.0)
                continue
            if paused_at is not None:
                paused_at, back = None, True
            elif now >= window.opens:
                press = channel.take_press(keep)
                if press is not None:
                    late = now - window.due
                    waited = window.closes == float("inf") and window.due > window.opens
                    return Outcome(
                        press, late_ms=round(late * 1000.0) if waited and late > 0 else None
                    )
                held = channel.held if held_acts else None
                if held is not None and keep(held):
                    return Outcome(held, held=True)
                if now >= window.closes:
                    return Outcome(None, reason="timeout")
                if not refused:
                    channel.wait(window.closes - now)
            else:
                channel.wait(window.opens - now)
        for text in refused:
            channel.send({"type": "error", "message": text})
        refused.clear()
        if back:
            window = reopen()


def wait_through(
    channel: HumanChannel,
    window: Window,
    between: Callable[[], None],
    page_gone: PageGone,
    reopen: Reopen,
) -> None:
    """Wait until ``window`` closes, calling ``between()`` (outside the lock) whenever woken."""
    paused_at: float | None = None
    while True:
        between()
        back = False
        with channel.condition:
            now = time.monotonic()
            if channel.closed:
                return
            if not channel.connected:
                paused_at = now if paused_at is None else paused_at
                if page_gone(now - paused_at):
                    return
                channel.wait(1.0)
                continue
            if paused_at is not None:
                paused_at, back = None, True
            elif now >= window.closes:
                break
            elif not channel.feedback:
                channel.wait(window.closes - now)
        if back:
            window = reopen()
    between()
