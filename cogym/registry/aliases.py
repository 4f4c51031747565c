"""Aliases (``champion``, ``production``...) as an append-only log per alias.

Each change of an alias is one JSON file, ``<model>/aliases/<alias>/<n>.json``, created
exclusively with the next free ``n``: two processes moving the same alias at once both succeed,
one after the other, and the log keeps both. The alias points where its highest entry says;
the whole log is its history. An entry with ``"version": null`` removes the alias.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import socket
from dataclasses import dataclass

from cogym.errors import InputError, RegistryFormatError
from cogym.registry.meta import FORMAT_VERSION
from cogym.registry.names import check_name
from cogym.registry.storage import Storage

__all__ = ["AliasChange", "AliasLog"]

ALIASES_DIR = "aliases"
ENTRY_LIMIT = 64 << 10
"""The largest alias log entry read (64 KiB; cogym writes a few hundred bytes)."""


@dataclass(frozen=True)
class AliasChange:
    """One change of an alias: what it pointed at before, what after, when and by whom."""

    model: str
    alias: str
    version: int | None
    """The version the alias points at from now on; ``None`` if the change removed it."""
    previous: int | None
    time: dt.datetime
    user: str = ""
    host: str = ""
    sequence: int = 0

    def __repr__(self) -> str:
        before = "-" if self.previous is None else self.previous
        after = "removed" if self.version is None else self.version
        return (
            f"AliasChange({self.model}@{self.alias}: {before} -> {after}, "
            f"{self.time:%Y-%m-%d %H:%M:%S}, {self.user}@{self.host})"
        )


class AliasLog:
    """The aliases of one model, read from and appended to its alias logs."""

    def __init__(self, storage: Storage, model: str) -> None:
        self.storage = storage
        self.model = model

    def _dir(self, alias: str | None = None) -> str:
        base = f"{self.model}/{ALIASES_DIR}"
        return f"{base}/{alias}" if alias else base

    def names(self) -> list[str]:
        """Every alias that was ever set (some may be removed since)."""
        return sorted(n for n in self.storage.list(self._dir()) if _is_name(n))

    def _sequences(self, alias: str) -> list[int]:
        found = []
        for entry in self.storage.list(self._dir(alias)):
            stem, dot, ext = entry.partition(".")
            if dot and ext == "json" and stem.isascii() and stem.isdigit() and len(stem) <= 18:
                found.append(int(stem))
        return sorted(found)

    def _read(self, alias: str, sequence: int) -> AliasChange:
        path = f"{self._dir(alias)}/{sequence}.json"
        where = self.storage.location(path)
        try:
            data = self.storage.read(path, ENTRY_LIMIT)
            if len(data) > ENTRY_LIMIT:
                raise RegistryFormatError(
                    f"alias log entry {where} is larger than {ENTRY_LIMIT:,} bytes; it was not "
                    "written by cogym: remove it and set the alias again"
                )
            raw = json.loads(data)
            if raw["format_version"] > FORMAT_VERSION:
                raise RegistryFormatError(
                    f"{where} has format version {raw['format_version']}, newer than this cogym "
                    f"reads ({FORMAT_VERSION}); upgrade cogym to read this registry"
                )
            return AliasChange(
                model=self.model,
                alias=alias,
                version=_version(raw, "version", where),
                previous=_version(raw, "previous", where),
                time=dt.datetime.fromisoformat(raw["time"]),
                user=raw.get("user", ""),
                host=raw.get("host", ""),
                sequence=sequence,
            )
        except (UnicodeDecodeError, KeyError, TypeError, ValueError, RecursionError) as exc:
            detail = f"{type(exc).__name__}: {str(exc)[:200]}"
            raise RegistryFormatError(f"alias log entry {where} is malformed: {detail}") from None

    def last_change(self, alias: str) -> AliasChange | None:
        """The alias's newest change, or ``None`` if it was never set."""
        sequences = self._sequences(alias)
        return self._read(alias, sequences[-1]) if sequences else None

    def current(self) -> dict[str, int]:
        """Alias -> version, for the aliases that point somewhere now."""
        found = {}
        for alias in self.names():
            change = self.last_change(alias)
            if change is not None and change.version is not None:
                found[alias] = change.version
        return found

    def history(self, alias: str | None = None) -> list[AliasChange]:
        """Every change of ``alias`` (of every alias if ``None``), oldest first."""
        aliases = [alias] if alias is not None else self.names()
        changes = [self._read(a, s) for a in aliases for s in self._sequences(a)]
        return sorted(changes, key=lambda c: (c.time, c.alias, c.sequence))

    def record(self, alias: str, version: int | None) -> AliasChange:
        """Append a change pointing ``alias`` at ``version`` (``None`` removes it)."""
        sequences = self._sequences(alias)
        sequence = sequences[-1] + 1 if sequences else 1
        while True:
            previous = self._read(alias, sequence - 1).version if sequence > 1 else None
            change = AliasChange(
                model=self.model,
                alias=alias,
                version=version,
                previous=previous,
                time=dt.datetime.now(dt.UTC),
                user=_user(),
                host=socket.gethostname(),
                sequence=sequence,
            )
            entry = {
                "format_version": FORMAT_VERSION,
                "alias": alias,
                "version": version,
                "previous": previous,
                "time": change.time.isoformat(),
                "user": change.user,
                "host": change.host,
                "pid": os.getpid(),
            }
            path = f"{self._dir(alias)}/{sequence}.json"
            if self.storage.create(path, json.dumps(entry, indent=2).encode()):
                return change
            sequence += 1


def _version(raw: dict, key: str, where: str) -> int | None:
    """An entry's version (or previous version): ``None`` or a whole number from 1."""
    value = raw[key]
    if value is None or (type(value) is int and 1 <= value < 2**63):
        return value
    raise RegistryFormatError(
        f"alias log entry {where} has {key} {str(value)[:40]!r}, which is not a version number "
        "(a whole number from 1, or null); it was edited by hand: remove the entry and set the "
        "alias again with registry.alias(...)"
    )


def _is_name(entry: str) -> bool:
    try:
        check_name(entry, "alias")
    except InputError:
        return False
    return True


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "")
