"""The messages between a human actor's page and the server.

Page -> server, JSON text, at most ``max_bytes`` (4 KiB by default):

- ``{"type": "act", "action": A, "key": K, "held": H, "tick": T, "time": MS}``: the person
  chose action ``A`` (JSON, see :mod:`cogym.web.actions`) with key ``K`` (or a button, ``K``
  null) while seeing tick ``T``; ``H`` true while the key or button stays down; ``MS`` is the
  wall-clock time of the key event in milliseconds (for the latency figures).
- ``{"type": "release", "key": K}``: the key or button that was held is up.
- ``{"type": "feedback", "to": NAME, "value": V, "confidence": C, "tick": T}``: a reward from
  the person to actor ``NAME`` for tick ``T``, ``V`` in [-1, 1], ``C`` in [0, 1].

Server -> page: JSON text (``hello``, ``trial``, ``tick``, ``error``, ``paused``, ``replaced``,
``closed``), and binary frames: a 4-byte big-endian header length, the JSON header of a
``tick`` message, then the image bytes (JPEG or PNG).
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from typing import Any

from cogym.errors import PageMessageError

__all__ = [
    "MAX_MESSAGE_BYTES",
    "PageAction",
    "PageFeedback",
    "PageMessage",
    "PageRelease",
    "pack_frame",
    "parse_page_message",
    "unpack_frame",
]

MAX_MESSAGE_BYTES = 4096
FEEDBACK_LIMIT = 1.0


@dataclass(frozen=True)
class PageAction:
    """The person chose an action (still as JSON; the channel decodes it against the space)."""

    action: Any
    key: str | None
    held: bool
    tick: int
    time: float | None = None


@dataclass(frozen=True)
class PageRelease:
    """The held key or button is up."""

    key: str | None


@dataclass(frozen=True)
class PageFeedback:
    """A reward from the person to another actor (or itself) for a tick they saw."""

    to: str
    value: float
    confidence: float
    tick: int


PageMessage = PageAction | PageRelease | PageFeedback

_FIELDS = {
    "act": ({"type", "action", "tick"}, {"key", "held", "time"}),
    "release": ({"type"}, {"key"}),
    "feedback": ({"type", "to", "value", "confidence", "tick"}, set()),
}


def parse_page_message(raw: str | bytes, max_bytes: int = MAX_MESSAGE_BYTES) -> PageMessage:
    """Parse and check one message from the page; raise :class:`PageMessageError` if malformed."""
    if isinstance(raw, bytes):
        raise PageMessageError("the page sent a binary message; messages are JSON text")
    size = len(raw.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise PageMessageError(f"message of {size} bytes refused: the limit is {max_bytes} bytes")
    try:
        data = json.loads(raw, parse_constant=_no_constant)
    except ValueError as exc:
        raise PageMessageError(f"the message is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise PageMessageError(f"a message must be a JSON object, got {type(data).__name__}")
    kind = data.get("type")
    if kind not in _FIELDS:
        raise PageMessageError(
            f"unknown message type {kind!r}; expected one of {sorted(_FIELDS)}"
        )
    required, optional = _FIELDS[kind]
    missing = required - data.keys()
    unknown = data.keys() - required - optional
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"missing {sorted(missing)}")
        if unknown:
            parts.append(f"unknown {sorted(unknown)}")
        raise PageMessageError(f"{kind!r} message: {'; '.join(parts)}")
    if kind == "act":
        return PageAction(
            action=data["action"],
            key=_key(data.get("key")),
            held=_bool(data.get("held", False), "held"),
            tick=_tick(data["tick"]),
            time=_time(data.get("time")),
        )
    if kind == "release":
        return PageRelease(key=_key(data.get("key")))
    value = _finite(data["value"], "value")
    if abs(value) > FEEDBACK_LIMIT:
        raise PageMessageError(
            f"feedback value {value} is out of range: "
            f"use a value in [-{FEEDBACK_LIMIT}, {FEEDBACK_LIMIT}]"
        )
    confidence = _finite(data["confidence"], "confidence")
    if not 0.0 <= confidence <= 1.0:
        raise PageMessageError(f"feedback confidence {confidence} is out of range: use [0, 1]")
    to = data["to"]
    if not isinstance(to, str) or not to:
        raise PageMessageError(f"feedback 'to' must name an actor, got {to!r}")
    return PageFeedback(to=to, value=value, confidence=confidence, tick=_tick(data["tick"]))


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _key(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 32:
        raise PageMessageError(f"'key' must be a key name (a short string) or null, got {value!r}")
    return value


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise PageMessageError(f"{name!r} must be true or false, got {value!r}")
    return value


def _tick(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise PageMessageError(f"'tick' must be a tick number (an integer >= 0), got {value!r}")
    return value


def _finite(value: Any, name: str) -> float:
    if type(value) not in (int, float) or not math.isfinite(value):
        raise PageMessageError(f"{name!r} must be a finite number, got {value!r}")
    return float(value)


def _time(value: Any) -> float | None:
    if value is None:
        return None
    return _finite(value, "time")


# -- frames --------------------------------------------------------------------------------


def pack_frame(header: dict[str, Any], image: bytes) -> bytes:
    """One binary message: header length (4 bytes, big-endian), JSON header, image bytes."""
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    return struct.pack(">I", len(head)) + head + image


def unpack_frame(data: bytes) -> tuple[dict[str, Any], bytes]:
    """The header and image of a binary frame message (what the page does, for tests)."""
    (length,) = struct.unpack(">I", data[:4])
    return json.loads(data[4 : 4 + length]), data[4 + length :]
