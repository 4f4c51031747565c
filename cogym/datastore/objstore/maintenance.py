"""Deleting trials and compacting shards of a datastore at a URL.

As in a directory (:mod:`cogym.datastore.maintenance`), committed shards are never modified: a
deletion or a merge writes a new shard locally, publishes it with a commit record that names
the shards it *supersedes*, and only then retires those (commit record first, then data).
Readers skip superseded shards and keep the first copy of a trial id, so at every instant each
trial is read once. A deletion or compaction holds the store's maintenance lock (a lock object
created with ``mode="create"``) against the others; one whose holder died expires.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cogym.datastore.maintenance import CompactReport, merge, rewrite, write_superseding
from cogym.datastore.objstore.catalog import RemoteCatalog, RemoteSource
from cogym.datastore.objstore.store import ObjectStore
from cogym.datastore.read.catalog import Source
from cogym.datastore.write.builder import ShardBuilder

__all__ = ["LEFTOVER_SECONDS", "compact_remote", "delete_remote"]

LEFTOVER_SECONDS = 3600.0
"""A shard object without a commit record this old is a leftover of a killed writer (whose
spool publishes it again) and is removed by a compaction."""


@dataclass(frozen=True)
class _Remote:
    """The :class:`~cogym.datastore.maintenance.ShardStorage` of a URL: a shard written in a
    temporary directory, then uploaded and committed; retired commit record first."""

    store: ObjectStore
    compression: str

    def publish(self, builder: ShardBuilder, supersedes: Sequence[str]) -> str:
        with tempfile.TemporaryDirectory(prefix="cogym-compact-") as folder:
            path = write_superseding(builder, Path(folder), supersedes, self.compression)
            self.store.publish(path, supersedes)
            return path.name

    def remove(self, sources: Sequence[Source]) -> None:
        for source in sources:
            self.store.remove(source.name)


def delete_remote(
    store: ObjectStore, catalog: RemoteCatalog, trial_ids: Sequence[str], compression: str
) -> int:
    """Delete the trials ``trial_ids`` (full ids); return how many were deleted."""
    doomed = set(trial_ids)
    with store.lock():
        catalog.scan()
        affected = [s for s in catalog.sources if any(t.trial_id in doomed for t in s.summaries)]
        deleted = rewrite(_Remote(store, compression), affected, doomed)
        catalog.scan()
        return deleted


def compact_remote(
    store: ObjectStore, catalog: RemoteCatalog, target_bytes: int, compression: str
) -> CompactReport:
    """Merge committed shards smaller than half of ``target_bytes`` into shards of about
    ``target_bytes``; retire superseded shards and remove uncommitted leftovers."""
    with store.lock():
        catalog.scan()
        before = len(catalog.sources)
        leftovers = [n for n in catalog.superseded if n in set(store.commit_names())]
        for name in leftovers:
            store.remove(name)
        stale = store.uncommitted(LEFTOVER_SECONDS)
        for name in stale:
            store.remove_data(name)
        candidates = [
            (s, s.commit.size)
            for s in catalog.sources
            if isinstance(s, RemoteSource) and s.commit is not None
            and s.commit.size < target_bytes // 2
        ]  # fmt: skip
        merged, written = merge(_Remote(store, compression), candidates, target_bytes)
        return CompactReport.after(catalog, before, merged, written, leftovers + stale)
