"""A writing process's local spool for a datastore at a URL, and publishing from it.

A process recording to a URL records exactly as into a datastore directory, into a local
*spool* (by default ``~/.cache/cogym/spool/<hash of the URL>``, or under ``$COGYM_SPOOL``): ended
trials are journaled there (so a crash loses what it loses locally, see
:mod:`cogym.datastore.write.writer`), and each shard it writes there is then published to the
URL (:meth:`~cogym.datastore.objstore.store.ObjectStore.publish`) and removed from the spool.

:func:`publish_spool` publishes whatever a spool still holds: shards whose upload failed or
was interrupted, and the journals of processes that died (their trials are written into a
shard first). It runs when a process starts recording to the URL, and at every
:meth:`~cogym.datastore.HDF5Datastore.flush`; publishing a shard is idempotent, and a shard
being published by its own process (which holds a lock on it) is left to that process.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

from cogym.datastore.format.journal import is_live
from cogym.datastore.format.shard import write_shard
from cogym.datastore.maintenance import add_trials
from cogym.datastore.objstore.store import ObjectStore
from cogym.datastore.read.catalog import SHARD, Catalog
from cogym.datastore.write.builder import ShardBuilder
from cogym.datastore.write.writer import ensure_datastore
from cogym.errors import DatastoreError

__all__ = [
    "UnpublishedShardWarning",
    "default_cache",
    "default_spool",
    "publish_or_keep",
    "publish_shard",
    "publish_spool",
]


class UnpublishedShardWarning(UserWarning):
    """A shard written while trials were recorded could not be published to its URL (the store
    was unreachable); it stays in the spool, and the next flush or close publishes it (or
    raises)."""


def _base() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cogym"


def default_spool(url: str) -> Path:
    """Where this machine's processes spool what they record to ``url``."""
    base = os.environ.get("COGYM_SPOOL")
    folder = Path(base) if base else _base() / "spool"
    return folder / hashlib.sha256(url.rstrip("/").encode()).hexdigest()[:16]


def default_cache() -> Path:
    """Where shards downloaded from URLs are kept, named by their SHA-256."""
    base = os.environ.get("COGYM_CACHE")
    return Path(base) if base else _base() / "shards"


@contextlib.contextmanager
def _locked(path: Path, blocking: bool) -> Iterator[bool]:
    """An exclusive ``flock`` on the lock file ``path`` (whether it was taken)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def publish_shard(store: ObjectStore, path: Path) -> bool:
    """Publish the spooled shard ``path`` and remove it from the spool; ``False`` if another
    process is publishing it or already has. The publisher holds a lock on
    ``.<name>.lock`` beside it (HDF5 locks the shard file itself while reading it)."""
    lock = path.with_name(f".{path.name}.lock")
    with _locked(lock, blocking=False) as mine:
        if not mine:
            return False
        if not path.exists():
            lock.unlink(missing_ok=True)
            return False
        store.publish(path)
        path.unlink()
        lock.unlink(missing_ok=True)
        return True


def publish_or_keep(store: ObjectStore, path: Path) -> None:
    """Publish a shard a writer has just written; if the store cannot take it, warn and keep it
    in the spool (a trial's end is no place to fail: its trials are safe in the shard)."""
    try:
        publish_shard(store, path)
    except DatastoreError as exc:
        warnings.warn(str(exc), UnpublishedShardWarning, stacklevel=2)


def publish_spool(store: ObjectStore, spool: Path, compression: str) -> list[str]:
    """Publish the shards left in ``spool`` and the journals of its dead processes; return
    the names of the shards published."""
    if not (spool / "cogym-datastore.json").exists():
        return []
    ensure_datastore(spool)
    with _locked(spool / ".publish.lock", blocking=True):
        catalog = Catalog(spool)
        catalog.scan()
        for source in catalog.sources:
            shard = source.path.with_suffix(SHARD)
            if source.kind != "journal" or is_live(source.path) or shard.exists():
                continue
            builder = ShardBuilder()
            add_trials(builder, source, range(len(source.summaries)))
            if len(builder):
                attrs = {"supersedes": json.dumps([source.name])}
                write_shard(builder.tree(), shard, compression=compression, attrs=attrs)
            source.path.unlink(missing_ok=True)
        published = []
        for name in sorted(os.listdir(spool)):
            if name.endswith(SHARD) and publish_shard(store, spool / name):
                published.append(name)
        return published
