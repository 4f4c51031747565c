"""Journals: each writing process appends the trials that end to its own journal file.

A journal makes ended trials safe from a crash of their process at once, for the price of one
``writev`` (the kernel holds the bytes even if the process is killed the next instant), while
the process gathers many trials before it writes them into an HDF5 shard. Once the shard is
published the journal is deleted; readers read journals too, so a trial is visible as soon as
it is journaled.

File: a 16-byte header (magic, format version), then records. A record is one committed group of
trials as a tree of arrays: plain one-actor trials as :mod:`cogym.datastore.write.plain`
describes (its ``plain`` group says so), any others laid out as a shard is
(:mod:`cogym.datastore.format.layout`). It is a 20-byte prefix (magic ``CGJR``, header length,
body length, CRC-32 of header and body), a JSON header (array names, dtypes and shapes; the
names of the string columns with the UTF-8 length of each string; the attributes), then the raw
bytes of the arrays and the strings, in the header's order. A record cut short (its process was
killed while writing it) or failing its checksum ends the readable part of the journal.

The writer holds an exclusive ``flock`` on its journal while it lives, which is how maintenance
tells a journal whose process died from one still being written.
"""

from __future__ import annotations

import fcntl
import functools
import json
import math
import os
import struct
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cogym.datastore.format.tree import MemoryTree
from cogym.errors import DatastoreError, DatastoreFormatError

__all__ = [
    "JOURNAL_VERSION",
    "JournalReader",
    "JournalWriter",
    "Record",
    "encode",
    "encode_tree",
    "header_template",
    "is_live",
    "record",
]

JOURNAL_MAGIC = b"CGYMJRNL"
JOURNAL_VERSION = 1
_FILE_HEADER = struct.Struct("<8sII")
_RECORD = struct.Struct("<4sIQI")
_RECORD_MAGIC = b"CGJR"


Record = tuple[bytes, list[Any]]
"""An encoded group of trials: its JSON header, and the bytes of its arrays and strings."""


def record(
    arrays: Sequence[tuple[str, str, tuple[int, ...], Any]],
    strings: Mapping[str, Sequence[str]],
    attrs_json: str,
) -> Record:
    """Encode a group: ``arrays`` as ``(path, dtype.str, shape, raw data)`` (any object with
    the buffer protocol), ``strings`` as columns of ``str``, the attributes already as JSON.

    The header is put together from cached pieces: a trial is journaled as it ends, and JSON
    encoding the same names and dtypes again would cost more than the rest.
    """
    entries: list[str] = []
    buffers: list[Any] = []
    for path, dtype, shape, data in arrays:
        entries.append(_array_entry(path, dtype, shape[1:]) % (shape[0] if shape else ""))
        if type(data) is bytes:
            if data:
                buffers.append(data)
            continue
        view = memoryview(data)
        if view.nbytes:  # a column of no rows (or rows of no values) has no bytes
            buffers.append(view.cast("B"))
    lengths: list[str] = []
    for path, values in strings.items():
        encoded = [v.encode("utf-8") for v in values]
        lengths.append(f"{_json_string(path)}: [{', '.join([str(len(e)) for e in encoded])}]")
        buffers.append(b"".join(encoded))
    return _header(entries, lengths, attrs_json).encode("utf-8"), buffers


def header_template(
    arrays: Sequence[tuple[str, str, tuple[int, ...]]], strings: Sequence[str], attrs_json: str
) -> str:
    """The header of every record with these arrays ``(path, dtype.str, row shape)`` and
    string columns of one string each, as a %-format: the number of rows of each array, then
    the UTF-8 length of each string, fill it in that order. The body is then the bytes of the
    arrays, then those of the strings."""
    entries = [_array_entry(path, dtype, row_shape) % "%d" for path, dtype, row_shape in arrays]
    lengths = [f"{_json_string(path).replace('%', '%%')}: [%d]" for path in strings]
    return _header(entries, lengths, attrs_json.replace("%", "%%"))


def _header(entries: list[str], lengths: list[str], attrs_json: str) -> str:
    return (
        f'{{"arrays": [{", ".join(entries)}], "strings": {{{", ".join(lengths)}}}, '
        f'"attrs": {attrs_json}}}'
    )


def encode(
    items: Iterable[tuple[str, np.ndarray]],
    attrs_json: str,
    strings: Mapping[str, Sequence[str]] | None = None,
) -> Record:
    """Encode a group given as named arrays (object arrays are text) and string columns."""
    arrays = []
    text = dict(strings or {})
    for path, array in items:
        if array.dtype == object:
            text[path] = [str(v) for v in array]
            continue
        contiguous = array if array.flags.c_contiguous else np.ascontiguousarray(array)
        arrays.append((path, contiguous.dtype.str, contiguous.shape, contiguous))
    return record(arrays, text, attrs_json)


def encode_tree(tree: MemoryTree) -> Record:
    """Encode a group laid out as a shard is."""
    attrs = {path: values for path, values in tree.attributes.items() if values}
    return encode(tree.walk(), json.dumps(attrs))


@functools.lru_cache(maxsize=4096)
def _json_string(text: str) -> str:
    return json.dumps(text)


@functools.lru_cache(maxsize=4096)
def _array_entry(path: str, dtype: str, row_shape: tuple[int, ...] | None) -> str:
    """``[path, dtype, [%s, *row_shape]]`` as JSON, with ``%s`` left for the number of rows."""
    shape = ["%s", *map(str, row_shape)]
    name = _json_string(path).replace("%", "%%")
    return f"[{name}, {_json_string(dtype)}, [{', '.join(shape)}]]"


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

    def append(self, records: Sequence[Record]) -> None:
        """Append encoded groups of trials (each is read whole or not at all)."""
        parts: list[Any] = []
        total = 0
        for header, buffers in records:
            crc = zlib.crc32(header)
            body = 0
            for buffer in buffers:
                crc = zlib.crc32(buffer, crc)
                body += len(buffer)
            parts += [_RECORD.pack(_RECORD_MAGIC, len(header), body, crc), header, *buffers]
            total += _RECORD.size + len(header) + body
        try:
            _write_all(self.fd, parts)
        except OSError as exc:
            os.ftruncate(self.fd, self.size)
            raise DatastoreError(f"cannot journal trials to {self.path}: {exc.strerror}") from exc
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
        size = sum(len(p) for p in chunk)  # bytes, and memoryviews cast to bytes
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
    """Reads a journal incrementally: each :meth:`read` returns the records added since the last,
    as trees (see :func:`cogym.datastore.write.plain.is_plain` for the two kinds)."""

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
                # being written, or cut short when its process died (a trial in flight); but
                # when its writer is dead and the bytes say otherwise, its length is damaged
                self.damaged = self._overrun(data, position, crc)
                break
            chunk = memoryview(data)[position + _RECORD.size : end]
            if zlib.crc32(chunk) != crc:
                self.damaged = f"the record at byte {self.offset + position} fails its checksum"
                break
            try:
                records.append(self._decode(chunk, header_size))
            except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
                self.damaged = (
                    f"the record at byte {self.offset + position} passes its checksum but is "
                    f"not what a cogym journal holds ({exc!r})"
                )
                break
            position = end
        self.offset += position
        return records

    def _overrun(self, data: bytes, position: int, crc: int) -> str | None:
        """Why a record that runs past the end of the file is damaged, if it is: its bytes up
        to the end pass its checksum, or whole records follow it (its writer being dead)."""
        if is_live(self.path):
            return None
        where = f"the record at byte {self.offset + position}"
        start = position + _RECORD.size
        if zlib.crc32(memoryview(data)[start:]) == crc:
            return f"{where} is whole but its length field is damaged"
        found = data.find(_RECORD_MAGIC, start)
        while found >= 0 and found + _RECORD.size <= len(data):
            _, header_size, body_size, next_crc = _RECORD.unpack_from(data, found)
            end = found + _RECORD.size + header_size + body_size
            if end <= len(data):
                body = memoryview(data)[found + _RECORD.size : end]
                if zlib.crc32(body) == next_crc:
                    return (
                        f"{where} claims more bytes than the file holds, and a whole record "
                        f"follows it at byte {self.offset + found}: its length field is damaged"
                    )
            found = data.find(_RECORD_MAGIC, found + 1)
        return None

    def _decode(self, chunk: memoryview, header_size: int) -> MemoryTree:
        header = json.loads(bytes(chunk[:header_size]))
        body = chunk[header_size:]
        tree = MemoryTree()
        offset = 0
        for path, dtype, shape in header["arrays"]:
            dt = np.dtype(dtype)
            count = math.prod(shape)
            tree.put(path, np.frombuffer(body, dtype=dt, count=count, offset=offset).reshape(shape))
            offset += count * dt.itemsize
        for path, lengths in header["strings"].items():
            values = []
            for length in lengths:
                values.append(str(body[offset : offset + length], "utf-8"))
                offset += length
            array = np.empty(len(values), dtype=object)
            array[:] = values
            tree.put(path, array)
        for path, values in header["attrs"].items():
            tree.set_attrs(path, **values)
        return tree
