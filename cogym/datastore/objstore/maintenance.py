"""Deleting trials and compacting shards of a datastore at a URL.

As in a directory (:mod:`cogym.datastore.maintenance`), committed shards are never modified: a
deletion or a merge writes a new shard locally, publishes it with a commit record that names
the shards it *supersedes*, and only then retires those (commit record first, then data).
Readers skip superseded shards and keep the first copy of a trial id, so at every instant each
trial is read once. A deletion or compaction holds the store's maintenance lock (a lock object
created with ``mode="create"``) against the others; one whose holder died expires.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path

from cogym.datastore.format.shard import write_shard
from cogym.datastore.maintenance import CompactReport, add_trials, merge_groups
from cogym.datastore.objstore.catalog import RemoteCatalog, RemoteSource
from cogym.datastore.objstore.store import ObjectStore
from cogym.datastore.read.catalog import SHARD
from cogym.datastore.write.builder import ShardBuilder
from cogym.datastore.write.writer import new_stem

__all__ = ["LEFTOVER_SECONDS", "compact_remote", "delete_remote"]

LEFTOVER_SECONDS = 3600.0
"""A shard object without a commit record this old is a leftover of a killed writer (whose
spool publishes it again) and is removed by a compaction."""


def _publish(
    store: ObjectStore, builder: ShardBuilder, supersedes: Sequence[str], compression: str
) -> str:
    with tempfile.TemporaryDirectory(prefix="cogym-compact-") as folder:
        path = Path(folder) / f"{new_stem()}{SHARD}"
        attrs = {"supersedes": json.dumps(list(supersedes))}
        write_shard(builder.tree(), path, compression=compression, attrs=attrs)
        store.publish(path, supersedes)
        return path.name


def delete_remote(
    store: ObjectStore, catalog: RemoteCatalog, trial_ids: Sequence[str], compression: str
) -> int:
    """Delete the trials ``trial_ids`` (full ids); return how many were deleted."""
    doomed = set(trial_ids)
    with store.lock():
        catalog.scan()
        affected = [s for s in catalog.sources if any(t.trial_id in doomed for t in s.summaries)]
        deleted = {t.trial_id for s in affected for t in s.summaries if t.trial_id in doomed}
        for source in affected:
            keep = [i for i, t in enumerate(source.summaries) if t.trial_id not in doomed]
            if keep:
                builder = ShardBuilder()
                add_trials(builder, source, keep)
                _publish(store, builder, [source.name], compression)
            store.remove(source.name)
        catalog.scan()
        return len(deleted)


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
        merged: list[str] = []
        written: list[str] = []
        for group in merge_groups(candidates, target_bytes):
            if len(group) < 2:
                continue
            builder = ShardBuilder()
            for source in group:
                keep = [i for i, t in enumerate(source.summaries) if t.trial_id not in builder.ids]
                add_trials(builder, source, keep)
            names = [s.name for s in group]
            written.append(_publish(store, builder, names, compression))
            for name in names:
                store.remove(name)
            merged += names
        catalog.scan()
        return CompactReport(
            files_before=before,
            files_after=len(catalog.sources),
            trials=len(catalog.by_id),
            merged=tuple(merged),
            written=tuple(written),
            removed_leftovers=tuple(leftovers + stale),
        )
