"""Journals: each writing process appends every trial that ends to its own journal file.

A journal makes an ended trial safe from a crash of its process at once, for the price of one
``writev`` (the kernel holds the bytes even if the process is killed the next instant), while
the process gathers many trials before it writes them into an HDF5 shard. Once the shard is
published the journal is deleted; readers read journals too, so a trial is visible as soon as
it ends.

File: a 16-byte header (magic, format version), then records. A record is a 20-byte prefix
(magic ``CGJR``, header length, body length, CRC-32 of header and body), a JSON header, and the
raw bytes of the record's arrays. A record cut short (its process was killed while writing it)
or failing its checksum ends the readable part of the journal.

The writer holds an exclusive ``flock`` on its journal while it lives, which is how maintenance
tells a journal whose process died from one still being written.
"""

from __future__ import annotations

import fcntl
import json
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

from cogym.datastore import spaces as leafs
from cogym.datastore.record import ActorRecord, ActorSchema, TrialRecord
from cogym.errors import DatastoreError, DatastoreFormatError
from cogym.spaces import space_from_dict

__all__ = ["JOURNAL_VERSION", "JournalReader", "JournalWriter", "is_live"]

JOURNAL_MAGIC = b"CGYMJRNL"
JOURNAL_VERSION = 1
_FILE_HEADER = struct.Struct("<8sII")
_RECORD = struct.Struct("<4sIQI")
_RECORD_MAGIC = b"CGJR"


_SAME_TICKS = 1
"""Flag: the actor's reward ticks equal its row ticks (not stored twice)."""
_SAME_ENV = 2
"""Flag: the environment's rewards equal the aggregated rewards (not stored twice)."""


def _leaf_names(
    space: spaces.Space | None,
) -> list[tuple[tuple[str, ...], np.dtype, tuple[int, ...], bool]]:
    if space is None:
        return []
    return [(leaf.path, leaf.dtype, leaf.shape, leaf.is_text) for leaf in leafs.leaves(space)]


def _encode(
    record: TrialRecord, defs: dict[str, int], new_defs: dict[int, str]
) -> tuple[bytes, list[Any]]:
    """The record's header (JSON) and body buffers; array shapes follow from the schemas."""

    def ref(text: str) -> int:
        number = defs.get(text)
        if number is None:
            number = defs[text] = len(defs)
            new_defs[number] = text
        return number

    buffers: list[Any] = []
    text: dict[str, list[str]] = {}

    def add(columns: dict[tuple[str, ...], np.ndarray], name: str) -> None:
        for path, array in columns.items():
            if array.dtype == object:
                text[f"{name}/{'/'.join(path)}"] = [str(v) for v in array]
            else:
                buffers.append(memoryview(np.ascontiguousarray(array)).cast("B"))

    actors = []
    for i, actor in enumerate(record.actors):
        flags = 0
        buffers.append(memoryview(actor.ticks).cast("B"))
        add(actor.observations, f"{i}/observations")
        if actor.actions is not None:
            add(actor.actions, f"{i}/actions")
        if actor.reward_ticks is actor.ticks or np.array_equal(actor.reward_ticks, actor.ticks):
            flags |= _SAME_TICKS
        else:
            buffers.append(memoryview(actor.reward_ticks).cast("B"))
        buffers.append(memoryview(actor.rewards).cast("B"))
        if actor.env_rewards is actor.rewards:
            flags |= _SAME_ENV
        else:
            buffers.append(memoryview(actor.env_rewards).cast("B"))
        final = actor.final_observation
        if final is not None:
            add(final, f"{i}/final_observations")
        actors.append(
            [
                ref(actor.schema.key),
                actor.ended_tick,
                actor.ended_how,
                actor.rows,
                len(actor.rewards),
                flags,
                final is not None,
            ]
        )
    header: dict[str, Any] = {"spec": ref(record.spec_json), "actors": actors}
    if record.frames is not None and record.frame_ticks is not None:
        frames = np.ascontiguousarray(record.frames)
        header["frames"] = [frames.dtype.str, list(frames.shape)]
        buffers.append(memoryview(record.frame_ticks).cast("B"))
        buffers.append(memoryview(frames).cast("B"))
    if text:
        header["text"] = text
    if record.rewards_sent:
        header["rewards_sent"] = record.rewards_sent
    if record.messages:
        header["messages"] = record.messages
    if record.annotations:
        header["annotations"] = record.annotations
    if new_defs:
        header["defs"] = new_defs
    encoded = '{"summary": ' + record.summary_json + ", " + json.dumps(header)[1:]
    return encoded.encode("utf-8"), buffers


class JournalWriter:
    """Appends records to a new journal file, which it locks for as long as it is open."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._defs: dict[str, int] = {}
        self.records = 0
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.write(self.fd, _FILE_HEADER.pack(JOURNAL_MAGIC, JOURNAL_VERSION, 0))
        except OSError:
            os.close(self.fd)
            raise
        self.size = _FILE_HEADER.size

    def append(self, records: list[TrialRecord]) -> None:
        """Append records (as few ``writev`` calls as the system's vector limit allows)."""
        parts: list[Any] = []
        defs_before = dict(self._defs)
        total = 0
        for record in records:
            new_defs: dict[int, str] = {}
            header, buffers = _encode(record, self._defs, new_defs)
            crc = zlib.crc32(header)
            body = 0
            for buffer in buffers:
                crc = zlib.crc32(buffer, crc)
                body += buffer.nbytes
            parts += [_RECORD.pack(_RECORD_MAGIC, len(header), body, crc), header, *buffers]
            total += _RECORD.size + len(header) + body
        try:
            _write_all(self.fd, parts)
        except OSError as exc:
            self._defs = defs_before
            os.ftruncate(self.fd, self.size)
            raise DatastoreError(
                f"cannot journal {len(records)} trial(s) to {self.path}: {exc.strerror}"
            ) from exc
        self.size += total
        self.records += len(records)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


_IOV_MAX = 512


def _write_all(fd: int, parts: list[Any]) -> None:
    for start in range(0, len(parts), _IOV_MAX):
        chunk = parts[start : start + _IOV_MAX]
        size = sum(len(p) if isinstance(p, bytes) else p.nbytes for p in chunk)
        written = os.writev(fd, chunk)
        if written < size:  # a short write: send the rest
            rest = b"".join(bytes(p) for p in chunk)[written:]
            while rest:
                rest = rest[os.write(fd, rest) :]


def is_live(path: Path) -> bool:
    """Whether the process that writes journal ``path`` is still running (it holds the lock)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


@dataclass
class JournalReader:
    """Reads a journal incrementally: each :meth:`read` returns the records added since the last."""

    path: Path
    offset: int = 0
    defs: dict[int, str] = field(default_factory=dict)
    schemas: dict[int, ActorSchema] = field(default_factory=dict)
    damaged: str | None = None
    """Why reading stopped before the end of the file, if the rest is not just being written."""

    def read(self) -> list[TrialRecord]:
        with open(self.path, "rb") as f:
            if self.offset == 0:
                head = f.read(_FILE_HEADER.size)
                if len(head) < _FILE_HEADER.size:
                    return []
                magic, version, _ = _FILE_HEADER.unpack(head)
                if magic != JOURNAL_MAGIC:
                    raise DatastoreFormatError(self.path, "not a cogym datastore journal")
                if version > JOURNAL_VERSION:
                    raise DatastoreFormatError(
                        self.path,
                        f"written in journal format version {version}, and this cogym reads "
                        f"versions up to {JOURNAL_VERSION}; upgrade cogym to read it",
                    )
                self.offset = _FILE_HEADER.size
            f.seek(self.offset)
            data = f.read()
        records = []
        position = 0
        while position + _RECORD.size <= len(data):
            magic, header_size, body_size, crc = _RECORD.unpack_from(data, position)
            end = position + _RECORD.size + header_size + body_size
            if magic != _RECORD_MAGIC:
                self.damaged = f"no record where one should start at byte {self.offset + position}"
                break
            if end > len(data):
                break  # being written, or cut short when its process died: not a trial yet
            chunk = memoryview(data)[position + _RECORD.size : end]
            if zlib.crc32(chunk) != crc:
                self.damaged = f"the record at byte {self.offset + position} fails its checksum"
                break
            records.append(self._decode(chunk, header_size))
            position = end
        self.offset += position
        return records

    def _decode(self, chunk: memoryview, header_size: int) -> TrialRecord:
        header = json.loads(bytes(chunk[:header_size]))
        for number, text in header.get("defs", {}).items():
            self.defs[int(number)] = text
        body = chunk[header_size:]
        text = header.get("text", {})
        offset = 0

        def take(dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
            nonlocal offset
            count = int(np.prod(shape, dtype=np.int64))
            array = np.frombuffer(body, dtype=dtype, count=count, offset=offset).reshape(shape)
            offset += count * dtype.itemsize
            return array

        def columns(
            space: spaces.Space | None, rows: int, name: str
        ) -> dict[tuple[str, ...], np.ndarray]:
            out = {}
            for path, dtype, shape, is_text in _leaf_names(space):
                if is_text:
                    array = np.empty(rows, dtype=object)
                    array[:] = text[f"{name}/{'/'.join(path)}"]
                    out[path] = array
                else:
                    out[path] = take(dtype, (rows, *shape))
            return out

        actors = []
        int64, float64 = np.dtype(np.int64), np.dtype(np.float64)
        for i, (ref, ended_tick, ended_how, rows, reward_rows, flags, has_final) in enumerate(
            header["actors"]
        ):
            schema = self._schema(ref)
            ticks = take(int64, (rows,))
            observations = columns(schema.observation_space, rows, f"{i}/observations")
            actions = (
                columns(schema.action_space, rows, f"{i}/actions")
                if schema.action_space is not None
                else None
            )
            reward_ticks = ticks if flags & _SAME_TICKS else take(int64, (reward_rows,))
            rewards = take(float64, (reward_rows,))
            env_rewards = rewards if flags & _SAME_ENV else take(float64, (reward_rows,))
            final = (
                columns(schema.observation_space, 1, f"{i}/final_observations")
                if has_final
                else None
            )
            actors.append(
                ActorRecord(
                    schema,
                    ticks,
                    observations,
                    actions,
                    reward_ticks,
                    rewards,
                    env_rewards,
                    final,
                    ended_tick,
                    ended_how,
                )
            )
        record = TrialRecord(
            header["summary"],
            self.defs[header["spec"]],
            actors,
            rewards_sent=[tuple(r) for r in header.get("rewards_sent", ())],
            messages=[tuple(m) for m in header.get("messages", ())],
            annotations=[tuple(a) for a in header.get("annotations", ())],
            summary_json=json.dumps(header["summary"]),
        )
        if "frames" in header:
            dtype, shape = header["frames"]
            record.frame_ticks = take(int64, (shape[0],))
            record.frames = take(np.dtype(dtype), tuple(shape))
        return record

    def _schema(self, number: int) -> ActorSchema:
        schema = self.schemas.get(number)
        if schema is None:
            key = self.defs[number]
            name, actor_class, observation_space, action_space = json.loads(key)
            schema = self.schemas[number] = ActorSchema(
                name,
                actor_class,
                space_from_dict(observation_space),
                None if action_space is None else space_from_dict(action_space),
                key,
            )
        return schema
