"""The index entry of an ended trial, as JSON, written by hand: it is made for every trial."""

from __future__ import annotations

import json
import math
from typing import Protocol

from cogym.datastore.format.record import Schemas
from cogym.trial import TrialInfo, TrialResult

__all__ = ["Ended", "summary_of"]


class Ended(Protocol):
    """What an index entry is made from: a trial's start and its result."""

    info: TrialInfo
    result: TrialResult | None


def _json_number(value: float | None) -> str:
    if value is None:
        return "null"
    if type(value) is int:
        return str(value)
    value = float(value)
    return repr(value) if math.isfinite(value) else json.dumps(value)


def _json_string(value: str | None) -> str:
    if value is None:
        return "null"
    if value.isascii() and value.isalnum():
        return f'"{value}"'
    return json.dumps(value)


def summary_of(buffer: Ended, schemas: Schemas, actors: dict[str, str], frames: bool) -> str:
    """The trial's index entry as JSON (written by hand: it is made for every trial, and the
    fields that trials of one cast share come from a cache)."""
    result = buffer.result
    assert result is not None
    implementations = result.implementations or buffer.info.implementations
    returns = ", ".join(f"{_json_string(k)}: {_json_number(v)}" for k, v in result.returns.items())
    return (
        f'{{"id": {_json_string(result.trial_id)}, "state": "{result.state._value_}", '
        f'"seed": {_json_number(result.seed)}, "ticks": {int(result.ticks)}, '
        f'"started": {_json_number(result.started)}, "ended": {_json_number(result.ended)}, '
        f'"error": {_json_string(result.error)}, "index": {_json_number(result.index)}, '
        f'"returns": {{{returns}}}, '
        f"{schemas.summary_tail(buffer.info.spec, implementations, actors, frames)}}}"
    )
