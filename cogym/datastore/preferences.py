"""Preferences: a person's (or a scripted judge's) answer to "which of these two clips is better?".

A :class:`Segment` is ticks ``first..last`` (inclusive) of one actor in one recorded trial; a
:class:`Query` puts two segments side by side; a :class:`Preference` is the answer given to a
query, by whom and when. ``HDF5Datastore.add_preference`` stores one, ``preferences()`` reads them
back in the order they were given.

Files: each writing process appends to its own ``<stem>.preferences`` file in the datastore
directory (so concurrent writers never share a file). The first line is a JSON header (format,
version); each further line is one preference as JSON with the CRC-32 of its text, written with
one ``write`` and fsynced before ``add_preference`` returns, so an answer survives a ``kill -9``
of its process right after. A last line cut short by a crash (no newline, or a checksum that
does not match) is not read; the lines before it are. A datastore that holds preferences has
format version 2 in its marker (older cogym versions refuse it rather than drop the answers);
datastores of version 1 are read as before and have no preferences.
"""

from __future__ import annotations

import json
import math
import os
import threading
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from cogym.errors import DatastoreFormatError, InputError

__all__ = [
    "ANSWERS",
    "PREFERENCES_FORMAT",
    "PREFERENCES_SUFFIX",
    "PREFERENCES_VERSION",
    "Answer",
    "Preference",
    "PreferenceWriter",
    "Query",
    "Segment",
    "check_segment",
    "read_preferences",
]

Answer = Literal["left", "right", "equal", "unknown"]
"""Which segment is better: ``left``, ``right``, ``equal`` (equally good), ``unknown`` (can't
tell)."""
ANSWERS: tuple[str, ...] = get_args(Answer)

PREFERENCES_FORMAT = "cogym.preferences"
PREFERENCES_VERSION = 1
PREFERENCES_SUFFIX = ".preferences"
MAX_TEXT = 1000
"""The longest query id or judge name stored."""


@dataclass(frozen=True)
class Segment:
    """A clip: ticks ``first..last`` (inclusive) of ``actor`` in recorded trial ``trial_id``.

    >>> Segment("3f2a", "player", 0, 49).ticks
    50
    """

    trial_id: str
    actor: str
    first: int
    last: int

    @property
    def ticks(self) -> int:
        return self.last - self.first + 1

    def to_dict(self) -> dict[str, Any]:
        return {"trial_id": self.trial_id, "actor": self.actor, "first": self.first,
                "last": self.last}  # fmt: skip

    @classmethod
    def from_dict(cls, data: Any, where: str = "segment") -> Segment:
        if not isinstance(data, dict):
            raise InputError(f"{where} must be a mapping, got {type(data).__name__}")
        missing = [k for k in ("trial_id", "actor", "first", "last") if k not in data]
        if missing:
            raise InputError(f"{where} lacks {', '.join(missing)}")
        return cls(data["trial_id"], data["actor"], data["first"], data["last"])


@dataclass(frozen=True)
class Query:
    """Two segments to compare, under an id unique to the question asked."""

    query_id: str
    left: Segment
    right: Segment

    def to_dict(self) -> dict[str, Any]:
        return {"query_id": self.query_id, "left": self.left.to_dict(),
                "right": self.right.to_dict()}  # fmt: skip


@dataclass(frozen=True)
class Preference:
    """The answer to a query: ``answer`` is one of :data:`ANSWERS`; ``judge`` says who answered
    (``person``, ``person:<name>``, ``oracle``, ``oracle(noise=0.1)``); ``answered_at`` is in
    unix seconds."""

    query: Query
    answer: Answer
    judge: str
    answered_at: float

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query.to_dict(), "answer": self.answer, "judge": self.judge,
                "answered_at": self.answered_at}  # fmt: skip

    @classmethod
    def from_dict(cls, data: Any) -> Preference:
        """A preference from its JSON form, checked field by field (the shape only; whether its
        segments are in recorded trials is checked by ``HDF5Datastore.add_preference``)."""
        if not isinstance(data, dict):
            raise InputError(f"a preference must be a mapping, got {type(data).__name__}")
        query = data.get("query")
        if not isinstance(query, dict):
            raise InputError(
                "preference field 'query' must be a mapping with query_id, left, right"
            )
        pref = cls(
            Query(
                query.get("query_id"),  # type: ignore[arg-type]
                Segment.from_dict(query.get("left"), "query.left"),
                Segment.from_dict(query.get("right"), "query.right"),
            ),
            data.get("answer"),  # type: ignore[arg-type]
            data.get("judge"),  # type: ignore[arg-type]
            data.get("answered_at"),  # type: ignore[arg-type]
        )
        check_shape(pref)
        return pref


def _text(value: Any, field: str) -> None:
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT:
        raise InputError(
            f"preference field {field!r} must be a non-empty string of at most {MAX_TEXT} "
            f"characters, got {value!r:.80}"
        )


def _tick(value: Any, field: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InputError(
            f"preference field {field!r} must be a tick (an integer >= 0), got {value!r}"
        )


def check_shape(pref: Any) -> None:
    """Raise :class:`InputError` naming the first field of ``pref`` that is not well formed."""
    if not isinstance(pref, Preference):
        raise InputError(f"expected a Preference, got {type(pref).__name__}")
    if not isinstance(pref.query, Query):
        raise InputError(f"preference field 'query' must be a Query, got {pref.query!r:.80}")
    _text(pref.query.query_id, "query.query_id")
    for side in ("left", "right"):
        segment = getattr(pref.query, side)
        if not isinstance(segment, Segment):
            raise InputError(f"preference field 'query.{side}' must be a Segment, got {segment!r}")
        _text(segment.trial_id, f"query.{side}.trial_id")
        _text(segment.actor, f"query.{side}.actor")
        _tick(segment.first, f"query.{side}.first")
        _tick(segment.last, f"query.{side}.last")
        if segment.last < segment.first:
            raise InputError(
                f"preference field 'query.{side}': last tick {segment.last} is before first tick "
                f"{segment.first}"
            )
    if pref.answer not in ANSWERS:
        raise InputError(
            f"preference field 'answer' must be one of {', '.join(ANSWERS)}, "
            f"got {pref.answer!r:.80}"
        )
    _text(pref.judge, "judge")
    at = pref.answered_at
    if not isinstance(at, (int, float)) or isinstance(at, bool) or not math.isfinite(at):
        raise InputError(f"preference field 'answered_at' must be unix seconds, got {at!r:.80}")


def _line(pref: Preference) -> bytes:
    body = json.dumps(pref.to_dict(), separators=(",", ":"), sort_keys=True)
    crc = zlib.crc32(body.encode("utf-8"))
    return (json.dumps({"crc": crc, "preference": json.loads(body)}, separators=(",", ":"),
                       sort_keys=True) + "\n").encode("utf-8")  # fmt: skip


class PreferenceWriter:
    """Appends this process's preferences to its own file, fsynced line by line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.pid = os.getpid()
        self._lock = threading.Lock()
        self._fd: int | None = None

    def write(self, pref: Preference) -> None:
        line = _line(pref)
        with self._lock:
            if self._fd is None:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
                header = {"format": PREFERENCES_FORMAT, "version": PREFERENCES_VERSION}
                os.write(fd, (json.dumps(header) + "\n").encode("utf-8"))
                self._fd = fd
                _fsync_dir(self.path.parent)
            os.write(self._fd, line)
            os.fsync(self._fd)

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_file(path: Path) -> tuple[list[Preference], str | None]:
    """The preferences of one file, and what is wrong with its tail (``None``: nothing)."""
    data = path.read_bytes()
    lines = data.split(b"\n")
    complete, tail = lines[:-1], lines[-1]
    if not complete:
        return [], None if not tail else "its header is cut short"
    try:
        header = json.loads(complete[0])
    except ValueError:
        raise DatastoreFormatError(path, "not a cogym preferences file (bad header)") from None
    if not isinstance(header, dict) or header.get("format") != PREFERENCES_FORMAT:
        raise DatastoreFormatError(path, "not a cogym preferences file")
    version = header.get("version")
    if not isinstance(version, int) or version > PREFERENCES_VERSION:
        raise DatastoreFormatError(
            path,
            f"written in preferences format version {version!r}, and this cogym reads versions up "
            f"to {PREFERENCES_VERSION}; upgrade cogym to read it",
        )
    out: list[Preference] = []
    for number, raw in enumerate(complete[1:], start=2):
        try:
            entry = json.loads(raw)
            body = json.dumps(entry["preference"], separators=(",", ":"), sort_keys=True)
            if zlib.crc32(body.encode("utf-8")) != entry["crc"]:
                return out, f"line {number} fails its checksum"
            out.append(Preference.from_dict(entry["preference"]))
        except (ValueError, KeyError, TypeError, InputError) as exc:
            return out, f"line {number} is malformed ({exc})"
    return out, None  # a last line without its newline was cut short: never acknowledged


def preference_files(root: Path) -> list[Path]:
    try:
        names = os.listdir(root)
    except FileNotFoundError:
        return []
    return sorted(root / n for n in names if n.endswith(PREFERENCES_SUFFIX))


def read_preferences(root: Path) -> tuple[list[Preference], list[tuple[Path, str]]]:
    """Every preference in the directory, in answer order, and the files with problems."""
    found: list[tuple[float, str, int, Preference]] = []
    problems: list[tuple[Path, str]] = []
    for path in preference_files(root):
        try:
            prefs, problem = read_file(path)
        except FileNotFoundError:
            continue
        except (OSError, DatastoreFormatError) as exc:
            problems.append((path, str(exc)))
            continue
        if problem:
            problems.append((path, f"{path}: {problem}; the preferences before it are read"))
        found += [(p.answered_at, path.name, i, p) for i, p in enumerate(prefs)]
    found.sort(key=lambda item: item[:3])
    return [item[3] for item in found], problems


def select(
    prefs: Iterable[Preference], trial_ids: Iterable[str] | None, actor: str | None
) -> Iterator[Preference]:
    """The preferences both of whose segments are in ``trial_ids`` and of ``actor``."""
    ids = None if trial_ids is None else set(trial_ids)
    for pref in prefs:
        sides = (pref.query.left, pref.query.right)
        if ids is not None and not all(s.trial_id in ids for s in sides):
            continue
        if actor is not None and not all(s.actor == actor for s in sides):
            continue
        yield pref


def check_segment(datastore: Any, segment: Segment, where: str) -> None:
    """Refuse a segment whose trial, actor or ticks are not in ``datastore`` (an
    :class:`~cogym.datastore.HDF5Datastore`), naming the field ``where``."""
    key = (segment.trial_id, segment.actor)
    span = datastore.tick_spans.get(key)
    if span is None:
        if segment.trial_id not in datastore:
            raise InputError(
                f"preference field {where}.trial_id: no trial {segment.trial_id!r} in "
                f"datastore {datastore.url} (give the full id of a recorded trial)"
            )
        stored = datastore.trial(segment.trial_id)
        actors = sorted(stored.actor_classes)
        if segment.actor not in actors:
            raise InputError(
                f"preference field {where}.actor: trial {segment.trial_id} has no actor "
                f"{segment.actor!r}; its actors: {', '.join(actors)}"
            )
        ticks = stored.arrays(segment.actor)["tick"]
        if not len(ticks):
            raise InputError(
                f"preference field {where}: actor {segment.actor!r} has no recorded ticks in "
                f"trial {segment.trial_id}"
            )
        span = datastore.tick_spans[key] = (int(ticks.min()), int(ticks.max()))
    if segment.first < span[0] or segment.last > span[1]:
        raise InputError(
            f"preference field {where}: ticks {segment.first}..{segment.last} are outside "
            f"ticks {span[0]}..{span[1]} that actor {segment.actor!r} was recorded at in "
            f"trial {segment.trial_id}"
        )
