"""Deleting trials and compacting files, without ever leaving a trial half-gone.

Published shards are never modified. Deleting trials from a shard, or merging several files
into one, writes a new shard that names the files it *supersedes* and publishes it with an
atomic rename; only then are the old files removed. A reader that sees both skips the
superseded ones, so at every instant each trial is in exactly one readable place, and a crash
at any point leaves a datastore that reads correctly (the next compaction removes leftovers).

Writers keep recording meanwhile; a journal still being written (its process holds its lock)
is left alone. Deletions and compactions take a lock on the datastore against each other.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from cogym.datastore.format.journal import is_live
from cogym.datastore.format.shard import HDF5Tree, write_shard
from cogym.datastore.read.catalog import JOURNAL, SHARD, Catalog, Source, load
from cogym.datastore.write.builder import ShardBuilder
from cogym.datastore.write.writer import new_stem
from cogym.errors import DatastoreError

__all__ = [
    "CompactReport",
    "Maintained",
    "Scanned",
    "ShardStorage",
    "add_trials",
    "compact",
    "delete",
    "merge",
    "merge_groups",
    "rewrite",
    "write_superseding",
]

LOCK = ".maintenance.lock"
S = TypeVar("S", bound=Source)


class Maintained(Protocol):
    """What deleting and compacting need of a datastore: an
    :class:`~cogym.datastore.HDF5Datastore` is one."""

    @property
    def path(self) -> Path: ...

    @property
    def compression(self) -> str: ...

    def catalog(self) -> Catalog: ...


class Scanned(Protocol):
    """A datastore's view of its files, as a directory's or a URL's catalog gives it."""

    sources: list[Source]
    by_id: dict[str, tuple[Source, int]]

    def scan(self) -> None: ...


@dataclass(frozen=True)
class CompactReport:
    """What a compaction did."""

    files_before: int
    files_after: int
    trials: int
    merged: tuple[str, ...]
    written: tuple[str, ...]
    removed_leftovers: tuple[str, ...]

    @classmethod
    def after(
        cls,
        catalog: Scanned,
        files_before: int,
        merged: Sequence[str],
        written: Sequence[str],
        removed_leftovers: Sequence[str],
    ) -> CompactReport:
        """The report of a compaction that has just run on ``catalog`` (scanned again here)."""
        catalog.scan()
        return cls(
            files_before=files_before,
            files_after=len(catalog.sources),
            trials=len(catalog.by_id),
            merged=tuple(merged),
            written=tuple(written),
            removed_leftovers=tuple(removed_leftovers),
        )

    def __str__(self) -> str:
        return (
            f"{self.files_before} files -> {self.files_after} files ({self.trials} trials); merged "
            f"{len(self.merged)} into {len(self.written)}, "
            f"removed {len(self.removed_leftovers)} leftover file(s)"
        )


@contextlib.contextmanager
def _maintenance_lock(root: Path) -> Iterator[None]:
    fd = os.open(root / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatastoreError(
                f"another deletion or compaction is running on {root}; wait for it to finish"
            ) from None
        yield
    finally:
        os.close(fd)


class ShardStorage(Protocol):
    """Where deleting and compacting put the shards they write, and how they retire the files
    those supersede: a datastore directory here, a URL in :mod:`cogym.datastore.objstore`."""

    def publish(self, builder: ShardBuilder, supersedes: Sequence[str]) -> str:
        """Write the builder's trials as a new shard superseding the files named
        ``supersedes``, make it visible to readers; return its name."""
        ...

    def remove(self, sources: Sequence[Source]) -> None:
        """Retire files whose trials are now in a published shard (or deleted)."""
        ...


def write_superseding(
    builder: ShardBuilder, folder: Path, supersedes: Sequence[str], compression: str
) -> Path:
    """Write the builder's trials as a new shard in ``folder`` that names the files it
    supersedes (published atomically, see :func:`~cogym.datastore.format.shard.write_shard`)."""
    path = folder / f"{new_stem()}{SHARD}"
    attrs = {"supersedes": json.dumps(list(supersedes))}
    write_shard(builder.tree(), path, compression=compression, attrs=attrs)
    return path


@dataclass(frozen=True)
class _Directory:
    """The :class:`ShardStorage` of a datastore directory: shards renamed into place."""

    root: Path
    compression: str

    def publish(self, builder: ShardBuilder, supersedes: Sequence[str]) -> str:
        return write_superseding(builder, self.root, supersedes, self.compression).name

    def remove(self, sources: Sequence[Source]) -> None:
        _remove([s.path for s in sources])


def _remove(paths: Sequence[Path]) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _size(source: Source) -> int | None:
    """The size of ``source``'s file, or None if it is gone (its writer retired the journal)."""
    try:
        return source.path.stat().st_size
    except FileNotFoundError:
        return None


def _still_written(journal: Source) -> bool:
    """Whether a journal belongs to its writer, not to a compaction: its writer is running, or
    has just published the journal's trials as ``<stem>.h5`` and is about to remove it (the
    writer lets go of the journal only after that shard is in place)."""
    return is_live(journal.path) or journal.path.with_suffix(SHARD).exists()


def add_trials(builder: ShardBuilder, source: Source, keep: Sequence[int]) -> None:
    """Add the trials of ``source`` at positions ``keep`` (the whole file is read once)."""
    with source.open() as opened:
        tree = load(opened) if isinstance(opened, HDF5Tree) else opened
        builder.add_tree(tree, keep, [source.summaries[i].trial_id for i in keep])


def delete(datastore: Maintained, trial_ids: Sequence[str]) -> int:
    """Delete the trials ``trial_ids`` (full ids); return how many were deleted."""
    doomed = set(trial_ids)
    root = datastore.path
    with _maintenance_lock(root):
        catalog = datastore.catalog()
        affected = [s for s in catalog.sources if any(t.trial_id in doomed for t in s.summaries)]
        for source in affected:
            if source.kind == "journal" and is_live(source.path):
                ids = sorted(t.trial_id for t in source.summaries if t.trial_id in doomed)
                raise DatastoreError(
                    f"trial(s) {', '.join(ids)} are still in the journal of a running process "
                    f"({source.name}); delete them once it has closed its datastore (or flushed)"
                )
        deleted = rewrite(_Directory(root, datastore.compression), affected, doomed)
        catalog.scan()
        return deleted


def rewrite(storage: ShardStorage, affected: Sequence[Source], doomed: set[str]) -> int:
    """Replace each of ``affected`` by a shard of its trials not in ``doomed`` (by none if it
    keeps none); return how many trials were dropped."""
    deleted = {t.trial_id for s in affected for t in s.summaries if t.trial_id in doomed}
    for source in affected:
        keep = [i for i, t in enumerate(source.summaries) if t.trial_id not in doomed]
        if keep:
            builder = ShardBuilder()
            add_trials(builder, source, keep)
            storage.publish(builder, [source.name])
        storage.remove([source])
    return len(deleted)


def merge_groups(candidates: Sequence[tuple[S, int]], target_bytes: int) -> list[list[S]]:
    """The files to merge, in order, cut into groups of at most about ``target_bytes``."""
    groups: list[list[S]] = []
    size = 0
    for source, source_size in candidates:
        if not groups or size + source_size > target_bytes:
            groups.append([])
            size = 0
        groups[-1].append(source)
        size += source_size
    return groups


def merge(
    storage: ShardStorage, candidates: Sequence[tuple[S, int]], target_bytes: int
) -> tuple[list[str], list[str]]:
    """Merge ``candidates`` (files with their sizes, in order) into shards of about
    ``target_bytes``, each trial once, and retire the merged files; return the names merged
    and the names written. A group of one shard is left as it is."""
    merged: list[str] = []
    written: list[str] = []
    for group in merge_groups(candidates, target_bytes):
        if len(group) < 2 and all(s.kind == "shard" for s in group):
            continue
        builder = ShardBuilder()
        for source in group:
            keep = [i for i, t in enumerate(source.summaries) if t.trial_id not in builder.ids]
            add_trials(builder, source, keep)
        names = [s.name for s in group]
        if len(builder):
            written.append(storage.publish(builder, names))
        storage.remove(group)
        merged += names
    return merged, written


def compact(datastore: Maintained, target_bytes: int = 128 << 20) -> CompactReport:
    """Merge shards smaller than half of ``target_bytes``, and journals of processes that died,
    into shards of about ``target_bytes``; remove leftovers of interrupted writes."""
    root = datastore.path
    with _maintenance_lock(root):
        catalog = datastore.catalog()
        before = len(catalog.sources)
        leftovers = _leftovers(catalog)
        _remove(leftovers)
        candidates: list[tuple[Source, int]] = []
        for source in catalog.sources:
            source_size = _size(source)
            if source_size is None or (source.kind == "journal" and _still_written(source)):
                continue
            if source.kind == "journal" or source_size < target_bytes // 2:
                candidates.append((source, source_size))
        storage = _Directory(root, datastore.compression)
        merged, written = merge(storage, candidates, target_bytes)
        return CompactReport.after(catalog, before, merged, written, [p.name for p in leftovers])


def _leftovers(catalog: Catalog) -> list[Path]:
    """Files no reader uses: superseded ones, journals whose shard is out, abandoned ``.tmp``."""
    root = catalog.root
    names = os.listdir(root)
    published = {n[: -len(SHARD)] for n in names if n.endswith(SHARD)}
    out = []
    for name in names:
        if (
            name in catalog.superseded
            or name.endswith(JOURNAL)
            and name[: -len(JOURNAL)] in published
        ):
            out.append(root / name)
        elif name.endswith(".tmp") and not name.startswith("."):
            stem = name.split(".")[0]
            if not is_live(root / f"{stem}{JOURNAL}"):
                out.append(root / name)
    return out
