"""Where a registry's files live: a local directory, or any fsspec filesystem given by URL.

The registry needs five operations from its storage, and the guarantees below are what make
concurrent writers safe:

- ``create(path, data)`` makes a file *only if it does not exist*, with all of its content at
  once, and says whether it did. Version numbers and alias changes are allocated with it.
- ``write(path, data)`` makes or replaces a file so that readers see the old content or the
  new, never a part.
- ``read``, ``list``, ``exists``, ``remove``.

Paths are ``/``-separated and relative to the root; one with an empty, ``.`` or ``..`` part is
refused, and on a local disk so is one that a symlink leads out of the root
(:class:`~cogym.errors.RegistryPathError`): nothing outside the root is read or written.

How each kind of filesystem keeps those guarantees:

=====================  ==============================================  =========================
filesystem             ``create`` (exclusive)                          ``write`` (all or nothing)
=====================  ==============================================  =========================
local disk (default,   temporary file, fsync, ``os.link`` onto the     temporary file, fsync,
``file://``)           name: atomic, fails if the name exists; NFS     ``os.replace``, fsync of
                       included                                        the directory
AWS S3 (s3fs)          ``PUT`` with ``If-None-Match: *``               a single ``PUT``
Google Cloud Storage   upload with ``ifGenerationMatch=0``             a single upload
(gcsfs)
``memory://``          atomic within one process (the store is         a single assignment
                       per process)
other fsspec backends  what the backend does for                       what the backend does
                       ``pipe_file(mode="create")``; fsspec's default
                       checks then writes, which is **not** atomic:
                       give each model a single writer there
=====================  ==============================================  =========================
"""

from __future__ import annotations

import errno
import os
import secrets
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from cogym.errors import RegistryError, RegistryPathError
from cogym.urls import open_url

__all__ = ["FsspecStorage", "LocalStorage", "Storage", "local_root", "open_storage"]


class Storage(ABC):
    """Files under one root, addressed by ``/``-separated paths relative to it."""

    url: str
    """The root, as the user gave it (used in messages)."""

    @abstractmethod
    def read(self, path: str, limit: int | None = None) -> bytes:
        """The file's bytes; :class:`FileNotFoundError` if there is none.

        With ``limit``, at most ``limit + 1`` bytes are read, so that a caller can tell a file
        larger than it accepts without reading all of it.
        """

    @abstractmethod
    def write(self, path: str, data: bytes) -> None:
        """Make or replace the file, all or nothing, creating parent directories."""

    @abstractmethod
    def create(self, path: str, data: bytes) -> bool:
        """Make the file with ``data`` if no file has that name; ``False`` if one has."""

    @abstractmethod
    def list(self, path: str) -> list[str]:
        """Names of the entries directly under ``path`` (empty if it does not exist)."""

    @abstractmethod
    def exists(self, path: str) -> bool:
        """Whether a file is at ``path``."""

    @abstractmethod
    def remove(self, path: str) -> None:
        """Remove a file if it is there."""

    def sync(self, path: str) -> None:
        """Make the entries of directory ``path`` durable (a no-op where writes already are)."""

    def location(self, path: str) -> str:
        """Where ``path`` is, for messages: a local path or a URL."""
        return f"{self.url.rstrip('/')}/{path}"

    def _relative(self, path: str) -> str:
        """``path`` if it is a plain relative path under the root, else a RegistryPathError."""
        parts = path.split("/") if path else []
        if path.startswith("/") or any(p in ("", ".", "..") or "\\" in p for p in parts):
            raise RegistryPathError(
                f"{path!r} is not a path inside the registry at {self.url}: it has an absolute, "
                "empty, '.' or '..' part; registry paths are built from checked names only"
            )
        return path


class LocalStorage(Storage):
    """A directory on a local (or network-mounted) disk."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser()
        self.url = str(root)

    def _path(self, path: str) -> Path:
        full = self.root / self._relative(path)
        root = os.path.realpath(self.root)
        real = os.path.realpath(full)
        if real != root and not real.startswith(root.rstrip(os.sep) + os.sep):
            raise RegistryPathError(
                f"{full} leads outside the registry at {self.url} (a symlink on the way points "
                f"to {real}); cogym reads and writes only inside a registry's root: replace the "
                "symlink by a copy of what it points to, or open the registry where that is"
            )
        return full

    def location(self, path: str) -> str:
        return str(self.root / path)

    def read(self, path: str, limit: int | None = None) -> bytes:
        with open(self._path(path), "rb") as stream:
            return stream.read() if limit is None else stream.read(limit + 1)

    def write(self, path: str, data: bytes) -> None:
        target = self._path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._temporary(target, data)
        try:
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        _fsync_directory(target.parent)

    def create(self, path: str, data: bytes) -> bool:
        target = self._path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._temporary(target, data)
        try:
            os.link(temporary, target)
        except FileExistsError:
            return False
        except OSError as exc:
            if exc.errno in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS):
                raise RegistryError(
                    f"the registry at {self.url} is on a filesystem without hard links "
                    f"({exc.strerror}), which cogym needs to allocate version numbers safely; "
                    "put the registry on a local disk, NFS, or an object store URL"
                ) from exc
            raise
        finally:
            temporary.unlink(missing_ok=True)
        _fsync_directory(target.parent)
        return True

    @staticmethod
    def _temporary(target: Path, data: bytes) -> Path:
        temporary = target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp"
        with open(temporary, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        return temporary

    def list(self, path: str) -> list[str]:
        try:
            return os.listdir(self._path(path))
        except (FileNotFoundError, NotADirectoryError):
            return []

    def exists(self, path: str) -> bool:
        return self._path(path).is_file()

    def remove(self, path: str) -> None:
        self._path(path).unlink(missing_ok=True)

    def sync(self, path: str) -> None:
        _fsync_directory(self._path(path))

    def __repr__(self) -> str:
        return f"LocalStorage({self.url!r})"


def _fsync_directory(path: Path) -> None:
    """Make a directory's entries durable (POSIX; Windows has no directory handles to sync)."""
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FsspecStorage(Storage):
    """Any fsspec filesystem: ``s3://bucket/models``, ``gs://...``, ``memory://models``..."""

    def __init__(self, url: str, storage_options: dict[str, Any] | None = None) -> None:
        self.url = url
        self.storage_options = dict(storage_options or {})
        self.fs, self.root, _protocol = open_url(
            url, self.storage_options, "registry", RegistryError
        )

    def _path(self, path: str) -> str:
        return f"{self.root}/{self._relative(path)}" if path else self.root

    def read(self, path: str, limit: int | None = None) -> bytes:
        if limit is None:
            return self.fs.cat_file(self._path(path))
        return self.fs.cat_file(self._path(path), start=0, end=limit + 1)

    def write(self, path: str, data: bytes) -> None:
        self.fs.pipe_file(self._path(path), data)

    def create(self, path: str, data: bytes) -> bool:
        try:
            self.fs.pipe_file(self._path(path), data, mode="create")
        except FileExistsError:
            return False
        return True

    def list(self, path: str) -> list[str]:
        full = self._path(path)
        self.fs.invalidate_cache(full)
        try:
            entries = self.fs.ls(full, detail=False)
        except (FileNotFoundError, NotADirectoryError):
            return []
        prefix = full.rstrip("/") + "/"
        return [e[len(prefix) :].rstrip("/") for e in entries if e.startswith(prefix)]

    def exists(self, path: str) -> bool:
        full = self._path(path)
        self.fs.invalidate_cache(full)
        return bool(self.fs.isfile(full))

    def remove(self, path: str) -> None:
        try:
            self.fs.rm_file(self._path(path))
        except FileNotFoundError:
            pass

    def __repr__(self) -> str:
        return f"FsspecStorage({self.url!r})"


def open_storage(
    root: str | os.PathLike[str], storage_options: dict[str, Any] | None = None
) -> Storage:
    """A local directory for paths and ``file://`` URLs, fsspec for other URLs."""
    if isinstance(root, os.PathLike):
        root = os.fspath(root)
    if not isinstance(root, str) or not root:
        raise RegistryError(f"a registry root must be a path or a URL, got {root!r}")
    local = local_root(root)
    if local == "":
        raise RegistryError(f"{root!r} has no path: write file:///absolute/path/to/registry")
    if local is not None and local != root:
        return LocalStorage(local)
    if "://" in root:
        return FsspecStorage(root, storage_options)
    if storage_options:
        raise RegistryError(
            f"storage_options are for fsspec URLs (s3://..., gs://...); {root!r} is a local path"
        )
    return LocalStorage(root)


def local_root(root: str) -> str | None:
    """The local path that ``root`` names (a ``file://`` URL is its path, percent-decoded as in
    ``Path.as_uri()``), or ``None`` for other URLs."""
    if root.lower().startswith("file://"):
        return unquote(urlsplit(root).path)
    return None if "://" in root else root
