"""Messages from the page are parsed strictly; anything malformed is refused saying why."""

from __future__ import annotations

import json

import pytest

from cogym.errors import PageMessageError
from cogym.web.protocol import (
    PageAction,
    PageFeedback,
    PageRelease,
    pack_frame,
    parse_page_message,
    unpack_frame,
)


def test_the_three_messages_parse() -> None:
    act = parse_page_message(
        '{"type": "act", "action": 1, "key": "ArrowRight", "held": true, "tick": 4, "time": 17.5}'
    )
    assert act == PageAction(action=1, key="ArrowRight", held=True, tick=4, time=17.5)
    assert parse_page_message('{"type": "release", "key": null}') == PageRelease(key=None)
    feedback = parse_page_message(
        '{"type": "feedback", "to": "player", "value": -1, "confidence": 0.5, "tick": 3}'
    )
    assert feedback == PageFeedback(to="player", value=-1.0, confidence=0.5, tick=3)


@pytest.mark.parametrize(
    ('raw', 'says'),
    [
        (b'{"type": "release"}', "binary message"),
        ("not json", "not valid JSON"),
        ('{"type": "act", "action": NaN, "tick": 0}', "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"type": "jump"}', "unknown message type 'jump'"),
        ('{"type": "act", "action": 1}', "missing ['tick']"),
        ('{"type": "act", "action": 1, "tick": 0, "force": 3}', "unknown ['force']"),
        ('{"type": "act", "action": 1, "tick": -1}', "'tick' must be a tick number"),
        ('{"type": "act", "action": 1, "tick": true}', "'tick' must be a tick number"),
        ('{"type": "act", "action": 1, "tick": 0, "held": "yes"}', "'held' must be true or false"),
        ('{"type": "act", "action": 1, "tick": 0, "key": 5}', "'key' must be a key name"),
        ('{"type": "feedback", "to": "p", "value": 2, "confidence": 1, "tick": 0}', "out of range"),
        (
            '{"type": "feedback", "to": "p", "value": 1, "confidence": 1.5, "tick": 0}',
            "confidence 1.5 is out of range",
        ),
        (
            '{"type": "feedback", "to": "", "value": 1, "confidence": 1, "tick": 0}',
            "must name an actor",
        ),
        (
            '{"type": "feedback", "to": "p", "value": "1", "confidence": 1, "tick": 0}',
            "finite number",
        ),
    ],
)
def test_malformed_messages_are_refused(raw: str | bytes, says: str) -> None:
    with pytest.raises(PageMessageError) as caught:
        parse_page_message(raw)
    assert says in str(caught.value)


def test_oversized_messages_are_refused_before_parsing() -> None:
    raw = json.dumps({"type": "act", "action": [0.0] * 2000, "tick": 0})
    with pytest.raises(
        PageMessageError, match=r"message of \d+ bytes refused: the limit is 4096 bytes"
    ):
        parse_page_message(raw)
    assert parse_page_message(raw, max_bytes=len(raw)).action == [0.0] * 2000


def test_frames_carry_their_header() -> None:
    data = pack_frame({"type": "tick", "tick": 3}, b"\xff\xd8jpeg")
    assert unpack_frame(data) == ({"type": "tick", "tick": 3}, b"\xff\xd8jpeg")
