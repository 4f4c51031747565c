"""The messages between the preference page and the server (:mod:`cogym.web.prefer`).

Page -> server, JSON text of at most ``max_bytes`` (4 KiB by default):

- ``{"type": "answer", "query_id": Q, "answer": A, "key": K}``: the person's answer ``A``
  (``left``, ``right``, ``equal`` or ``unknown``: can't tell) to the query ``Q`` on the page,
  given with key ``K`` (``null`` for a button).

Server -> page, JSON text:

- ``hello``: the judge's name, the keys, how many queries were asked and answered;
- ``query``: the query to answer (``query_id``, ``number``, and per side ``left`` / ``right``
  its segment: ``trial_id``, ``actor``, ``first``, ``last``, ``frames``), followed by its
  clips' frames as binary messages (4-byte big-endian header length, the JSON header
  ``{"type": "clip", "query_id", "side", "index", "mime"}``, then the JPEG bytes);
- ``saved``: an answer is in the datastore (``query_id``, ``answer``, ``answered``,
  ``asked``);
- ``error``: a message was refused (nothing was stored);
- ``waiting``: every query asked so far is answered, more may come;
- ``replaced``, ``closed``: another tab took over, the session is over.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cogym.errors import PageMessageError

__all__ = ["ANSWERS", "KEYS", "MAX_ANSWER_BYTES", "PageAnswer", "parse_answer"]

ANSWERS = ("left", "right", "equal", "unknown")
KEYS = {
    "left": ["ArrowLeft"],
    "right": ["ArrowRight"],
    "equal": ["ArrowDown", "="],
    "unknown": [" "],
}
"""The keys of each answer on the page (``KeyboardEvent.key`` names)."""
MAX_ANSWER_BYTES = 4096
MAX_QUERY_ID = 200

_REQUIRED = {"type", "query_id", "answer"}
_OPTIONAL = {"key"}


@dataclass(frozen=True)
class PageAnswer:
    """The person answered query ``query_id`` with ``answer``."""

    query_id: str
    answer: str
    key: str | None = None


def parse_answer(raw: str | bytes, max_bytes: int = MAX_ANSWER_BYTES) -> PageAnswer:
    """Parse and check one message from the preference page; raise :class:`PageMessageError`
    naming what is wrong if it is not a well-formed answer."""
    if isinstance(raw, bytes):
        raise PageMessageError("the page sent a binary message; answers are JSON text")
    size = len(raw.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise PageMessageError(f"message of {size} bytes refused: the limit is {max_bytes} bytes")
    try:
        data: Any = json.loads(raw)
    except ValueError as exc:
        raise PageMessageError(f"the message is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise PageMessageError(f"a message must be a JSON object, got {type(data).__name__}")
    if data.get("type") != "answer":
        raise PageMessageError(f"unknown message type {data.get('type')!r}; expected 'answer'")
    missing = _REQUIRED - data.keys()
    unknown = data.keys() - _REQUIRED - _OPTIONAL
    if missing or unknown:
        parts = [f"missing {sorted(missing)}"] if missing else []
        parts += [f"unknown {sorted(unknown)}"] if unknown else []
        raise PageMessageError(f"'answer' message: {'; '.join(parts)}")
    query_id = data["query_id"]
    if not isinstance(query_id, str) or not query_id or len(query_id) > MAX_QUERY_ID:
        raise PageMessageError(
            f"'query_id' must be the id of the query shown (a string), got {_short(query_id)}"
        )
    answer = data["answer"]
    if not isinstance(answer, str) or answer not in ANSWERS:
        raise PageMessageError(
            f"'answer' must be one of {', '.join(ANSWERS)}, got {_short(answer)}"
        )
    key = data.get("key")
    if key is not None and (not isinstance(key, str) or len(key) > 32):
        raise PageMessageError(
            f"'key' must be a key name (a short string) or null, got {_short(key)}"
        )
    return PageAnswer(query_id, answer, key)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
