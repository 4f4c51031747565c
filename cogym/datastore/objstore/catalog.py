"""The reading side of a datastore at a URL: which committed shards hold which trials.

A scan lists ``commits/`` and reads each new commit record once (they never change), so
listing and filtering trials reads no shard. A shard's data is read in one of two ways:

- a few trials (``cogym trials show``, :meth:`~cogym.datastore.HDF5Datastore.trial`): in place,
  through a file that fetches only the byte ranges HDF5 asks for
  (:data:`~cogym.datastore.objstore.store.BLOCK_BYTES` at a time);
- many trials or whole columns (``arrays``, ``iter_batches``, a compaction): the shard is
  downloaded once into the local cache, named by its SHA-256 and checked against it, and read
  from there by every later reader on this machine.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from gymnasium import spaces

from cogym.datastore.format import layout
from cogym.datastore.format.record import TrialRecord
from cogym.datastore.format.shard import open_shard
from cogym.datastore.format.tree import Tree
from cogym.datastore.objstore.store import Commit, ObjectStore
from cogym.datastore.read.catalog import WHOLE_FILE_TRIALS, Problem, Source, load
from cogym.datastore.read.query import TrialSummary
from cogym.errors import CorruptFileError, DatastoreFormatError

__all__ = ["RemoteCatalog", "RemoteSource"]


@dataclass
class RemoteSource(Source):
    """A committed shard at a URL."""

    store: ObjectStore | None = None
    commit: Commit | None = None
    cache: Path | None = None

    def cached(self) -> Path:
        """The shard in the local cache, downloaded (and checked) if it is not there yet."""
        assert self.store is not None and self.commit is not None and self.cache is not None
        target = self.cache / f"{self.commit.sha256}.h5"
        if not target.exists():
            try:
                self.store.download(self.commit, target)
            except FileNotFoundError:
                raise CorruptFileError(
                    self.store.location("shards", self.name),
                    "the shard was removed while being read (a compaction or deletion ran); "
                    "read again",
                ) from None
        return target

    @contextlib.contextmanager
    def open(self) -> Iterator[Tree]:
        """The shard's arrays, from the local cache."""
        with open_shard(self.cached()) as tree:
            yield tree

    @contextlib.contextmanager
    def open_in_place(self) -> Iterator[Tree]:
        """The shard's arrays, read by ranges from the store (or from the cache if it is
        there already)."""
        assert self.store is not None and self.commit is not None and self.cache is not None
        if (self.cache / f"{self.commit.sha256}.h5").exists():
            with self.open() as tree:
                yield tree
            return
        where = Path(self.store.location("shards", self.name))
        try:
            stream = self.store.open_data(self.name)
        except FileNotFoundError:
            raise CorruptFileError(
                where, "the shard was removed while being read (a compaction ran); read again"
            ) from None
        with open_shard(where, stream) as tree:
            yield tree

    def extract(
        self, positions: Sequence[int], cache: dict[str, spaces.Space]
    ) -> list[TrialRecord]:
        if len(positions) > WHOLE_FILE_TRIALS:
            with self.open() as opened:
                return list(layout.extract(load(opened), positions, cache))
        with self.open_in_place() as opened:
            return list(layout.extract(opened, positions, cache))


class RemoteCatalog:
    """Scans a datastore at a URL and caches what it read (one per
    :class:`~cogym.datastore.HDF5Datastore`); the same view as
    :class:`~cogym.datastore.read.catalog.Catalog` gives of a directory."""

    def __init__(self, store: ObjectStore, cache: Path) -> None:
        self.store = store
        self.cache = cache
        self.root = Path(store.url)
        self.sources: list[Source] = []
        self.problems: list[Problem] = []
        self.by_id: dict[str, tuple[Source, int]] = {}
        self.superseded: set[str] = set()
        self.space_cache: dict[str, spaces.Space] = {}
        self._commits: dict[str, RemoteSource] = {}
        self._checked = False
        self.generation = 0
        """Counts the scans that found the commits changed (as ``Catalog.generation``)."""
        self._names: tuple[str, ...] | None = None

    def check_root(self) -> None:
        if not self._checked:
            self.store.require()
            self._checked = True

    def look(self) -> Hashable:
        """What changes when a shard is committed or retired: the names of the commits."""
        return tuple(self.store.commit_names())

    def scan(self) -> None:
        """Bring the view up to date with the store."""
        self.check_root()
        names = self.store.commit_names()
        problems: list[Problem] = []
        fresh = [n for n in names if n not in self._commits]
        for name, data in self.store.read_commits(fresh).items():
            where = self.store.location("commits", name)
            if isinstance(data, FileNotFoundError):
                continue  # retired since the listing
            if isinstance(data, Exception):
                problems.append(Problem(Path(where), f"{where}: cannot be read ({data})"))
                continue
            try:
                self._commits[name] = self._source(Commit.from_json(data, where), where)
            except (DatastoreFormatError, CorruptFileError) as exc:
                problems.append(Problem(Path(where), str(exc)))
        listed = set(names)
        self._commits = {k: v for k, v in self._commits.items() if k in listed}
        shards = [self._commits[n] for n in names if n in self._commits]
        superseded = {n for s in shards for n in s.supersedes}
        sources: list[Source] = [s for s in shards if s.name not in superseded]
        by_id: dict[str, tuple[Source, int]] = {}
        for source in sources:
            for position, summary in enumerate(source.summaries):
                by_id.setdefault(summary.trial_id, (source, position))
        self.superseded = superseded
        self.sources = sources
        self.by_id = by_id
        self.problems = problems
        if tuple(names) != self._names:
            self._names = tuple(names)
            self.generation += 1

    def ordered(self) -> list[TrialSummary]:
        """Every trial's summary, oldest first (then by id), as of the last scan."""
        found = [source.summaries[p] for source, p in self.by_id.values()]
        found.sort(key=lambda s: (s.started, s.trial_id))
        return found

    def _source(self, commit: Commit, where: str) -> RemoteSource:
        try:
            summaries = [
                TrialSummary.of(json.loads(text), commit.specs[spec], commit.name)
                for text, spec in zip(commit.index, commit.trial_spec, strict=True)
            ]
        except (KeyError, ValueError, TypeError, IndexError) as exc:
            raise CorruptFileError(where, f"its index cannot be read: {exc!r}") from None
        return RemoteSource(
            Path(commit.name),
            "shard",
            summaries,
            commit.supersedes,
            store=self.store,
            commit=commit,
            cache=self.cache,
        )
