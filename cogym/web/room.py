"""The human actors of one trial in this process: one tick clock and one frame per tick.

When several people play in one trial, their actors' ``act`` run one after the other inside
the tick loop; the room makes the tick theirs together. The first of them to act on a tick
fixes the tick's window (when input may decide it, and the deadline) and renders the frame
once for every page, so nobody sees the tick later because someone else acted first.

Pacing: a tick's window opens one period after the previous tick's opened (right away if the
trial fell more than a period behind), so a trial never runs faster than its rate. Within the
window the person's press decides the tick at once (the environment steps right away and the
next frame goes out); a key held down decides it as the window opens; at the window's end the
actor's ``on_timeout`` policy (or, in teacher mode, the agent) decides it.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cogym.web.frames import FORMATS, encode_frame

if TYPE_CHECKING:
    from cogym.web.actor import HumanActor

__all__ = ["TrialRoom", "Window", "join_room"]


@dataclass(frozen=True)
class Window:
    """When the person's input may decide tick ``tick``: from ``opens`` until ``closes``
    (``time.monotonic`` seconds; ``closes`` is infinite when the actor waits for the person)."""

    tick: int
    opens: float
    closes: float
    due: float
    """When the tick is due by the rate (``closes`` unless the actor waits for the person)."""


class TrialRoom:
    """The human actors of trial ``trial_id`` in this process (see the module docstring)."""

    def __init__(self, trial_id: str) -> None:
        self.trial_id = trial_id
        self.members: list[HumanActor] = []
        self._lock = threading.Lock()
        self._tick: int | None = None
        self._opens = 0.0
        self._renders = True

    @property
    def period(self) -> float:
        """Seconds per tick: that of the fastest member (0 when nobody paces the trial)."""
        periods = [m.period for m in self.members if m.period > 0]
        return min(periods) if periods else 0.0

    def begin(
        self, tick: int, caller: HumanActor, turn: dict[str, Any] | None
    ) -> tuple[Window, bool]:
        """The window of ``tick`` for ``caller``, and whether the caller's ``turn`` (its
        observation and action mask) went out with the tick: the first caller of a tick sends
        the tick and its frame to every page, its own turn included.

        Before the trial's first tick, waits until every member's page is open.
        """
        if self._tick is None:
            for member in list(self.members):
                member.wait_for_page()
        stamp = time.time()
        now = time.monotonic()
        with self._lock:
            fresh = tick != self._tick
            first = self._tick is None
            if fresh:
                if first:
                    delay = max((m.start_delay for m in self.members), default=0.0)
                else:
                    scheduled = self._opens + self.period
                    self._opens = scheduled if now - scheduled < self.period else now
                self._tick = tick
        if fresh:
            opens_in = delay if first else self._opens - now
            self._publish(tick, caller, turn, stamp, opens_in)
            if first:
                # the first frame may take long to render (a window system starting up)
                with self._lock:
                    self._opens = time.monotonic() + delay
        return self._window(tick, self._opens, caller), fresh

    def reopen(self, tick: int, caller: HumanActor) -> Window:
        """A new window for the current tick after a pause (the start delay counts again)."""
        with self._lock:
            self._opens = time.monotonic() + caller.start_delay
            opens = self._opens
        return self._window(tick, opens, caller)

    @staticmethod
    def _window(tick: int, opens: float, caller: HumanActor) -> Window:
        due = opens + max(caller.period, 0.0)
        waits = caller.waits_for_person or (tick == 0 and caller.waits_for_first_key)
        closes = math.inf if waits else due
        return Window(tick, opens, closes, due)

    def _publish(
        self,
        tick: int,
        caller: HumanActor,
        turn: dict[str, Any] | None,
        stamp: float,
        opens_in: float,
    ) -> None:
        image: bytes | None = None
        text: str | None = None
        fmt = caller.config.frame_format
        if self._renders:
            frame = caller.render()
            if isinstance(frame, str):
                text = frame
            elif frame is not None:
                image = encode_frame(frame, fmt, caller.config.frame_quality)
            if frame is None or (image is None and text is None):
                self._renders = False
        header: dict[str, Any] = {
            "type": "tick",
            "tick": tick,
            "stamp": stamp * 1000.0,
            "opens_in": max(0.0, opens_in),
        }
        if image is not None:
            header["mime"] = FORMATS[fmt]
        if text is not None:
            header["text"] = text
        for member in list(self.members):
            member.show_tick(header, image, turn if member is caller else None)


_rooms: dict[str, TrialRoom] = {}
_rooms_lock = threading.Lock()


def join_room(trial_id: str, actor: HumanActor, previous: TrialRoom | None) -> TrialRoom:
    """Leave ``previous`` (forgotten once empty) and join the room of ``trial_id``."""
    with _rooms_lock:
        if previous is not None:
            if actor in previous.members:
                previous.members.remove(actor)
            if not previous.members and _rooms.get(previous.trial_id) is previous:
                del _rooms[previous.trial_id]
        room = _rooms.get(trial_id)
        if room is None:
            room = _rooms[trial_id] = TrialRoom(trial_id)
        room.members.append(actor)
        return room


def leave_room(room: TrialRoom, actor: HumanActor) -> None:
    with _rooms_lock:
        if actor in room.members:
            room.members.remove(actor)
        if not room.members and _rooms.get(room.trial_id) is room:
            del _rooms[room.trial_id]
