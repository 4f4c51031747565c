"""Copying a datastore's shards between a directory and a URL (either way, or URL to URL).

``sync(source, target)`` copies every shard that readers of ``source`` see and ``target`` does
not hold yet, one shard at a time, each published in ``target`` the way its writers publish
(an atomic rename in a directory; upload, then commit record, at a URL). So an interrupted sync
leaves ``target`` readable, and running it again copies only what is missing: it is resumable.
Every copy is checked: a shard downloaded from a URL against the SHA-256 in its commit record,
a shard written into a directory by reading it back, one uploaded by its size (its commit
record carries the SHA-256, which every later download checks). A shard ``target`` already holds
under the same name with another checksum is an error, not overwritten.

What a shard supersedes (after a compaction or deletion in ``source``) is carried over (a
shard names them in its ``supersedes`` attribute and its commit record alike), so ``target``
shows the same trials as ``source``. Trials still in journals of ``source`` (their
writers have not published them yet) are not copied; the report counts them. Preferences are
not copied.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cogym.datastore.format.shard import fsync_directory, fsync_file
from cogym.datastore.location import local_directory
from cogym.datastore.objstore.store import Commit, ObjectStore, file_digest
from cogym.datastore.read.catalog import Catalog
from cogym.datastore.write.writer import ensure_datastore
from cogym.errors import DatastoreError

__all__ = ["SyncReport", "sync"]


@dataclass(frozen=True)
class SyncReport:
    """What a sync did."""

    copied: tuple[str, ...]
    skipped: int
    bytes: int
    journal_trials: int
    """Trials of the source still in journals, not copied."""

    def __str__(self) -> str:
        text = (
            f"copied {len(self.copied)} shard(s) ({self.bytes / 1e6:.1f} MB), "
            f"{self.skipped} already there"
        )
        if self.journal_trials:
            text += (
                f"; {self.journal_trials} trial(s) still in journals of the source were not "
                "copied (flush their writers, or compact the source if they died, then sync again)"
            )
        return text


@dataclass(frozen=True)
class _Shard:
    name: str
    supersedes: tuple[str, ...]
    sha256: str | None
    """Known without reading the data (from a commit record), or None."""


class _Directory:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.where = str(root)

    def shards(self) -> tuple[list[_Shard], int]:
        catalog = Catalog(self.root)
        catalog.scan()
        found, journal = [], 0
        for source in catalog.sources:
            if source.kind == "journal":
                journal += len(source.summaries)
            else:
                found.append(_Shard(source.name, source.supersedes, None))
        return found, journal

    def held(self) -> dict[str, Callable[[], str]]:
        if not self.root.is_dir():
            return {}
        return {
            n: (lambda n=n: file_digest(self.root / n)[0])
            for n in os.listdir(self.root)
            if n.endswith(".h5")
        }

    def fetch(self, shard: _Shard, scratch: Path) -> tuple[Path, str]:
        path = self.root / shard.name
        return path, file_digest(path)[0]

    def put(self, shard: _Shard, path: Path, sha256: str) -> None:
        ensure_datastore(self.root)
        target = self.root / shard.name
        tmp = self.root / f"{shard.name}.{secrets.token_hex(4)}.tmp"
        try:
            shutil.copyfile(path, tmp)
            fsync_file(tmp)
            if file_digest(tmp)[0] != sha256:
                raise DatastoreError(
                    f"the copy of {shard.name} in {self.where} does not read back as written "
                    "(its SHA-256 differs); nothing was replaced: sync again"
                )
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        fsync_directory(self.root)


class _Bucket:
    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self.where = store.url
        self._commits: dict[str, Commit] = {}

    def _read(self) -> dict[str, Commit]:
        names = self.store.commit_names()
        out = {}
        for name, data in self.store.read_commits(names).items():
            if isinstance(data, Exception):
                if isinstance(data, FileNotFoundError):
                    continue
                raise DatastoreError(f"cannot read the commit record of {name} at {self.where}")
            out[name] = Commit.from_json(data, self.store.location("commits", name))
        return out

    def shards(self) -> tuple[list[_Shard], int]:
        self.store.require()
        self._commits = commits = self._read()
        superseded = {n for c in commits.values() for n in c.supersedes}
        visible = [c for name, c in sorted(commits.items()) if name not in superseded]
        return [_Shard(c.name, c.supersedes, c.sha256) for c in visible], 0

    def held(self) -> dict[str, Callable[[], str]]:
        if self.store.read_marker() is None:
            return {}
        return {name: (lambda c=c: c.sha256) for name, c in self._read().items()}

    def fetch(self, shard: _Shard, scratch: Path) -> tuple[Path, str]:
        commit = self._commits[shard.name]
        return self.store.download(commit, scratch / shard.name), commit.sha256

    def put(self, shard: _Shard, path: Path, sha256: str) -> None:
        self.store.ensure()
        if path.name != shard.name:
            raise DatastoreError(f"internal: {path} should be named {shard.name}")
        commit = self.store.publish(path, shard.supersedes)
        if commit.sha256 != sha256:
            raise DatastoreError(
                f"shard {shard.name} changed while it was copied to {self.where}; sync again"
            )


def _end(where: str | os.PathLike[str], storage_options: dict | None) -> _Directory | _Bucket:
    local = local_directory(where)
    if local is None:
        return _Bucket(ObjectStore(os.fspath(where), storage_options))
    return _Directory(local)


def sync(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    storage_options: dict | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> SyncReport:
    """Copy the shards of datastore ``source`` that ``target`` lacks; see the module docstring.

    Each of ``source`` and ``target`` is a directory or an fsspec URL (``storage_options`` go to
    fsspec for both). ``progress(name, size)`` is called after each shard is copied.
    """
    src, dst = _end(source, storage_options), _end(target, storage_options)
    shards, journal_trials = src.shards()
    held = dst.held()
    copied: list[str] = []
    skipped = 0
    size = 0
    with tempfile.TemporaryDirectory(prefix="cogym-sync-") as folder:
        for shard in shards:
            if shard.name in held:
                theirs = held[shard.name]()
                ours = shard.sha256 or file_digest(Path(src.where) / shard.name)[0]
                if theirs != ours:
                    raise DatastoreError(
                        f"{dst.where} already holds a shard named {shard.name} with another "
                        f"checksum than the one in {src.where}; it is left as it is. Sync into "
                        "another target, or remove that shard from it"
                    )
                skipped += 1
                continue
            path, sha256 = src.fetch(shard, Path(folder))
            dst.put(shard, path, sha256)
            copied.append(shard.name)
            size += path.stat().st_size
            if progress is not None:
                progress(shard.name, path.stat().st_size)
            if isinstance(src, _Bucket):
                path.unlink(missing_ok=True)
    return SyncReport(tuple(copied), skipped, size, journal_trials)
