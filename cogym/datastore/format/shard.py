"""Shard files: a laid-out tree written to HDF5 and published atomically; reading one back.

A shard is written under a temporary name, flushed to disk (fsync) and renamed into place, so
a reader never sees a half-written shard, and a process killed while writing leaves only a
``.tmp`` file that readers ignore. Published shards are never modified again.

Compression is chosen per column (see :func:`filters`); string columns (the index, specs,
text observations, message payloads) are stored as UTF-8 lines in compressed ``uint8`` arrays,
with attributes ``strings`` (how many) and ``escaped`` (each line is a JSON string, because
some value held a line break).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Self

import h5py
import numpy as np

from cogym.datastore.format.tree import MemoryTree
from cogym.errors import CorruptFileError, DatastoreFormatError

__all__ = ["SHARD_FORMAT", "SHARD_VERSION", "HDF5Tree", "filters", "open_shard", "write_shard"]

SHARD_FORMAT = "cogym.datastore.shard"
SHARD_VERSION = 1
CHUNK_BYTES = 1 << 18
"""Target size of a chunk before compression (256 KiB)."""
SMALL = 1 << 12
"""Arrays smaller than this are stored contiguous and uncompressed: filters would not pay."""
COMPRESSION_CHOICES = ("auto", "gzip", "lzf", "none")
CHECKSUMS = True
"""Whether shards carry a Fletcher-32 checksum on every chunk of every column (HDF5 checks it
on each read, so a damaged shard is refused by name, never misread; its metadata carries
checksums of its own). ``bench/datastore.py`` turns it off to measure what they cost."""


def filters(array: np.ndarray, compression: str = "auto") -> dict[str, Any]:
    """h5py dataset options for ``array``.

    Every non-empty column is chunked (a small one as one chunk) and checksummed
    (:data:`CHECKSUMS`). ``auto`` (the default) picks per dtype, from ``bench/datastore.py``'s
    measurements:
    floats get h5py's LZF filter after the byte shuffle (gzip saves ~7% more on float
    observations but writes 3x slower, and float columns barely compress anyway); other
    multi-byte dtypes (ticks, discrete actions) get gzip level 1 after the shuffle (they shrink
    to a fraction of a byte per row, and gzip reads them faster than LZF); one-byte dtypes
    (images, binary vectors) get gzip level 4 (41% smaller than level 1 on image observations,
    and faster to read). ``gzip`` is level 4 with the shuffle for every dtype, ``lzf`` is LZF
    for every dtype, ``none`` stores raw bytes.
    """
    if array.size == 0:
        return {}
    checksum = {"fletcher32": True} if CHECKSUMS else {}
    if compression == "none" or array.nbytes < SMALL:
        return {"chunks": array.shape, **checksum} if checksum and array.ndim else {}
    row_bytes = max(1, array.nbytes // max(1, len(array)))
    rows = max(1, min(len(array), CHUNK_BYTES // row_bytes))
    options: dict[str, Any] = {"chunks": (rows, *array.shape[1:]), **checksum}
    wide = array.dtype.itemsize > 1
    if compression == "auto":
        if array.dtype.kind == "f":
            options["compression"] = "lzf"
        else:
            options["compression"] = "gzip"
            options["compression_opts"] = 1 if wide else 4
    elif compression == "lzf":
        options["compression"] = "lzf"
    else:
        options["compression"] = "gzip"
        options["compression_opts"] = 4
    if wide:
        options["shuffle"] = True
    return options


def _encode_strings(values: np.ndarray) -> tuple[np.ndarray, bool]:
    """UTF-8 lines; each string JSON-escaped only if one of them holds a line break."""
    strings = [str(v) for v in values]
    escaped = any("\n" in v for v in strings)
    if escaped:
        strings = [json.dumps(v, ensure_ascii=False) for v in strings]
    return np.frombuffer("\n".join(strings).encode("utf-8"), dtype=np.uint8), escaped


def _decode_strings(data: np.ndarray, count: int, escaped: bool) -> np.ndarray:
    out = np.empty(count, dtype=object)
    if count:
        lines = data.tobytes().decode("utf-8").split("\n")
        out[:] = [json.loads(line) for line in lines] if escaped else lines
    return out


def write_shard(
    tree: MemoryTree, path: Path, *, compression: str = "auto", attrs: dict[str, Any] | None = None
) -> int:
    """Write ``tree`` to ``path`` atomically (temporary file, fsync, rename); return its size."""
    tmp = path.with_name(path.name + ".tmp")
    with h5py.File(tmp, "w", libver=("v110", "latest")) as f:
        f.attrs["format"] = _attribute(SHARD_FORMAT)
        f.attrs["version"] = SHARD_VERSION
        f.attrs["created"] = time.time()
        for key, value in (attrs or {}).items():
            f.attrs[key] = _attribute(value)
        for name, array in tree.walk():
            if array.dtype == object:
                data, escaped = _encode_strings(array)
                text = "lzf" if compression == "auto" else compression  # JSON: fast and 4x smaller
                dataset = f.create_dataset(name, data=data, **filters(data, text))
                dataset.attrs["strings"] = len(array)
                dataset.attrs["escaped"] = escaped
            else:
                f.create_dataset(name, data=array, **filters(array, compression))
        for name, values in tree.attributes.items():
            if not values:
                continue
            node = f[name] if name else f
            for key, value in values.items():
                node.attrs[key] = _attribute(value)
    fsync_file(tmp)
    os.replace(tmp, path)
    fsync_directory(path.parent)
    return path.stat().st_size


def _attribute(value: Any) -> Any:
    """Text as fixed-length UTF-8 bytes: kept in the object header, which HDF5 checksums
    (h5py would put a ``str`` in the global heap, which has no checksum)."""
    return np.bytes_(value.encode("utf-8")) if isinstance(value, str) else value


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_directory(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a directory; the rename is still atomic
    finally:
        os.close(fd)


class HDF5Tree:
    """A published shard, open for reading (see :class:`cogym.datastore.format.tree.Tree`)."""

    def __init__(self, file: h5py.File, path: Path, stream: IO[bytes] | None = None) -> None:
        self.file = file
        self.path = path
        self.stream = stream

    def has(self, path: str) -> bool:
        with self._reading(path):
            return path in self.file

    def is_array(self, path: str) -> bool:
        with self._reading(path):
            return isinstance(self.file.get(path), h5py.Dataset)

    def children(self, path: str) -> list[str]:
        with self._reading(path):
            node = self.file[path] if path else self.file
            return list(node.keys())

    def attrs(self, path: str) -> dict[str, Any]:
        with self._reading(path):
            node = self.file[path] if path else self.file
            return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in node.attrs.items()}

    def read(self, path: str, selection: slice | None = None) -> np.ndarray:
        with self._reading(path):
            dataset = self.file[path]
            count = dataset.attrs.get("strings")
            if count is not None:
                escaped = bool(dataset.attrs.get("escaped", True))
                values = _decode_strings(dataset[()], int(count), escaped)
                return values if selection is None else values[selection]
            return dataset[()] if selection is None else dataset[selection]

    def rows(self, path: str) -> int:
        with self._reading(path):
            dataset = self.file[path]
            count = dataset.attrs.get("strings")
            return int(count) if count is not None else len(dataset)

    @contextlib.contextmanager
    def _reading(self, path: str) -> Iterator[None]:
        """HDF5's errors on a damaged file (a checksum that fails, an object that cannot be
        opened) as a :class:`CorruptFileError` naming the file and what was being read."""
        try:
            yield
        except (
            OSError,
            KeyError,
            ValueError,
            TypeError,
            RuntimeError,
            json.JSONDecodeError,
            UnicodeDecodeError,
        ) as exc:
            raise CorruptFileError(self.path, f"reading {path!r}: {exc}") from None

    def close(self) -> None:
        self.file.close()
        if self.stream is not None:
            self.stream.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_shard(path: Path, stream: IO[bytes] | None = None) -> HDF5Tree:
    """Open a published shard, checking that it is one and that its version is readable.

    With ``stream`` (a seekable binary file, such as one of fsspec's, which fetches the ranges
    HDF5 asks for), the shard is read from it and ``path`` only names it in messages; the tree
    closes the stream."""
    try:
        file = h5py.File(path if stream is None else stream, "r")
    except FileNotFoundError:
        raise
    except OSError as exc:
        if stream is not None:
            stream.close()
        raise CorruptFileError(path, f"not a readable HDF5 file: {exc}") from None
    try:
        fmt = file.attrs.get("format")
        version = file.attrs.get("version")
    except (OSError, KeyError) as exc:
        _close(file, stream)
        raise CorruptFileError(path, f"its attributes cannot be read: {exc}") from None
    if isinstance(fmt, bytes):
        fmt = fmt.decode()
    if fmt != SHARD_FORMAT or version is None:
        _close(file, stream)
        raise DatastoreFormatError(
            path,
            f"not a cogym datastore shard (format attribute {fmt!r}, expected {SHARD_FORMAT!r})",
        )
    if not isinstance(version, (int, np.integer)) or isinstance(version, bool):
        _close(file, stream)
        raise CorruptFileError(path, f"its version attribute is {version!r}, not an integer")
    if int(version) > SHARD_VERSION:
        _close(file, stream)
        raise DatastoreFormatError(
            path,
            f"written in shard format version {int(version)}, and this cogym reads versions up "
            f"to {SHARD_VERSION}; upgrade cogym to read it",
        )
    return HDF5Tree(file, path, stream)


def _close(file: h5py.File, stream: IO[bytes] | None) -> None:
    file.close()
    if stream is not None:
        stream.close()
