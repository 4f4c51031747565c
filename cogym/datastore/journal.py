"""Journals: each writing process appends the trials that end to its own journal file.

A journal makes ended trials safe from a crash of their process at once, for the price of one
``writev`` (the kernel holds the bytes even if the process is killed the next instant), while
the process gathers many trials before it writes them into an HDF5 shard. Once the shard is
published the journal is deleted; readers read journals too, so a trial is visible as soon as
it is journaled.

File: a 16-byte header (magic, format version), then records. A record is one committed group
of trials laid out as a shard is (:mod:`cogym.datastore.layout`): a 20-byte prefix (magic
``CGJR``, header length, body length, CRC-32 of header and body), a JSON header (array names,
dtypes and shapes, the string columns, the attributes) and the raw bytes of the arrays. A
record cut short (its process was killed while writing it) or failing its checksum ends the
readable part of the journal.

The writer holds an exclusive ``flock`` on its journal while it lives, which is how maintenance
tells a journal whose process died from one still being written.
"""

from __future__ import annotations

import fcntl
import json
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cogym.datastore.tree import MemoryTree
from cogym.errors import DatastoreError, DatastoreFormatError

__all__ = ["JOURNAL_VERSION", "JournalReader", "JournalWriter", "is_live"]

JOURNAL_MAGIC = b"CGYMJRNL"
JOURNAL_VERSION = 1
_FILE_HEADER = struct.Struct("<8sII")
_RECORD = struct.Struct("<4sIQI")
_RECORD_MAGIC = b"CGJR"


def _encode(tree: MemoryTree) -> tuple[bytes, list[Any]]:
    """A laid-out group of trials as a JSON header (names, dtypes, shapes, strings, attributes)
    and the raw bytes of its arrays."""
    arrays: list[list[Any]] = []
    strings: dict[str, list[str]] = {}
    buffers: list[Any] = []
    for path, array in tree.walk():
        if array.dtype == object:
            strings[path] = [str(v) for v in array]
            continue
        array = np.ascontiguousarray(array)
        arrays.append([path, array.dtype.str, list(array.shape)])
        if array.nbytes:
            buffers.append(memoryview(array).cast("B"))
    attrs = {path: values for path, values in tree.attributes.items() if values}
    header = json.dumps({"arrays": arrays, "strings": strings, "attrs": attrs})
    return header.encode("utf-8"), buffers


class JournalWriter:
    """Appends records to a new journal file, which it locks for as long as it is open."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records = 0
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.write(self.fd, _FILE_HEADER.pack(JOURNAL_MAGIC, JOURNAL_VERSION, 0))
        except OSError:
            os.close(self.fd)
            raise
        self.size = _FILE_HEADER.size

    def append(self, tree: MemoryTree) -> None:
        """Append one group of trials (one record: it is read whole or not at all)."""
        header, buffers = _encode(tree)
        crc = zlib.crc32(header)
        body = 0
        for buffer in buffers:
            crc = zlib.crc32(buffer, crc)
            body += buffer.nbytes
        parts = [_RECORD.pack(_RECORD_MAGIC, len(header), body, crc), header, *buffers]
        total = _RECORD.size + len(header) + body
        try:
            _write_all(self.fd, parts)
        except OSError as exc:
            os.ftruncate(self.fd, self.size)
            raise DatastoreError(f"cannot journal trials to {self.path}: {exc.strerror}") from exc
        self.size += total
        self.records += 1

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
    damaged: str | None = None
    """Why reading stopped before the end of the file, if the rest is not just being written."""

    def read(self) -> list[MemoryTree]:
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

    def _decode(self, chunk: memoryview, header_size: int) -> MemoryTree:
        header = json.loads(bytes(chunk[:header_size]))
        body = chunk[header_size:]
        tree = MemoryTree()
        offset = 0
        for path, dtype, shape in header["arrays"]:
            dt = np.dtype(dtype)
            count = int(np.prod(shape, dtype=np.int64))
            tree.put(path, np.frombuffer(body, dtype=dt, count=count, offset=offset).reshape(shape))
            offset += count * dt.itemsize
        for path, values in header["strings"].items():
            array = np.empty(len(values), dtype=object)
            array[:] = values
            tree.put(path, array)
        for path, values in header["attrs"].items():
            tree.set_attrs(path, **values)
        return tree
