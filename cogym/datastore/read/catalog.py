"""The reading side's view of a datastore directory: which files hold which trials.

A scan lists the published shards and the journals, reads each one's index (shards are
immutable, so their index is read once per process; journals are read incrementally), drops
files that a newer shard supersedes (a compaction, a deletion, or a journal whose shard is
published), and keeps the first copy of each trial id. A file that cannot be read is reported
in :attr:`Catalog.problems` and does not hide the others.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gymnasium import spaces

from cogym.datastore.format import layout
from cogym.datastore.format.journal import JournalReader
from cogym.datastore.format.layout import check_segments
from cogym.datastore.format.record import TrialRecord
from cogym.datastore.format.shard import HDF5Tree, open_shard
from cogym.datastore.format.tree import MemoryTree, Tree
from cogym.datastore.read.query import TrialSummary
from cogym.datastore.write.builder import ShardBuilder, build_groups
from cogym.datastore.write.plain import PlainTrials, is_plain
from cogym.datastore.write.writer import MARKER, read_marker
from cogym.errors import CorruptFileError, DatastoreFormatError, NotADatastoreError

__all__ = ["Catalog", "Problem", "Source"]

SHARD = ".h5"
JOURNAL = ".journal"
WHOLE_FILE_TRIALS = 16
"""Reading more trials than this from a shard loads the whole file first."""


def load(tree: HDF5Tree) -> MemoryTree:
    """Every array and attribute of a shard, in memory."""
    memory = MemoryTree()

    def visit(path: str) -> None:
        attrs = tree.attrs(path)
        if attrs and path:
            memory.set_attrs(
                path, **{k: v for k, v in attrs.items() if k not in ("strings", "escaped")}
            )
        for name in tree.children(path):
            child = f"{path}/{name}" if path else name
            if tree.is_array(child):
                memory.put(child, tree.read(child))
            else:
                visit(child)

    visit("")
    memory.set_attrs("", **tree.attrs(""))
    return memory


@dataclass(frozen=True)
class Problem:
    """A file of the datastore that could not be read, and why."""

    path: Path
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass
class Source:
    """One file holding trials: a published shard or a journal."""

    path: Path
    kind: str
    summaries: list[TrialSummary]
    supersedes: tuple[str, ...] = ()
    signature: tuple[int, ...] = ()
    groups: list[MemoryTree] = field(default_factory=list, repr=False)
    """For journals: the groups of trials read so far."""
    _tree: MemoryTree | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.path.name

    @contextlib.contextmanager
    def open(self) -> Iterator[Tree]:
        """The file's arrays (a journal's are laid out in memory, like a shard's)."""
        if self.kind == "journal":
            if self._tree is None:
                builder = ShardBuilder()
                for group in self.groups:
                    builder.add_tree(group)
                self._tree = builder.tree()
            yield self._tree
            return
        try:
            tree = open_shard(self.path)
        except FileNotFoundError:
            raise CorruptFileError(
                self.path,
                "the file was removed while being read (a compaction or deletion ran); read again",
            ) from None
        with tree:
            yield tree

    def extract(
        self, positions: Sequence[int], cache: dict[str, spaces.Space]
    ) -> list[TrialRecord]:
        """The records of the trials at ``positions``."""
        with self.open() as opened:
            # for many trials, one read per column beats one per trial and column
            whole = self.kind == "shard" and len(positions) > WHOLE_FILE_TRIALS
            tree = load(opened) if whole else opened
            return list(layout.extract(tree, positions, cache))


class Catalog:
    """Scans a datastore directory and caches what it read (one per :class:`HDF5Datastore`)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.sources: list[Source] = []
        self.problems: list[Problem] = []
        self.by_id: dict[str, tuple[Source, int]] = {}
        self.superseded: set[str] = set()
        self.space_cache: dict[str, spaces.Space] = {}
        self._shards: dict[str, Source] = {}
        self._journals: dict[str, tuple[JournalReader, Source]] = {}
        self._held: tuple[tuple[int, int], ...] | None = None
        """Which sources, of how many trials each, :attr:`by_id` indexes."""
        self.generation = 0
        """Counts the changes of :attr:`by_id` (the trials added or removed) seen by scans."""
        self._ordered: tuple[int, list[TrialSummary]] | None = None

    def check_root(self) -> None:
        root = self.root
        if not root.exists():
            raise NotADatastoreError(
                f"no datastore at {root}: the directory does not exist. Record trials into it "
                f"with `cogym run SPEC --datastore {root}` or "
                "Orchestrator(datastore=HDF5Datastore(...))"
            )
        if not root.is_dir():
            raise NotADatastoreError(f"{root} is a file, not a datastore directory")
        if not (root / MARKER).exists():
            raise NotADatastoreError(
                f"{root} is not a cogym datastore: it has no {MARKER}. Point --datastore at the "
                "directory that trials were recorded into"
            )
        read_marker(root)

    def look(self) -> Hashable | None:
        """The names in the directory and each journal's size: what changes when a trial is
        committed (``None`` when it cannot be told, so that the caller scans)."""
        try:
            names = os.listdir(self.root)
            sizes = []
            for name in names:
                if name.endswith(JOURNAL):
                    try:
                        sizes.append((name, os.stat(self.root / name).st_size))
                    except FileNotFoundError:
                        sizes.append((name, -1))  # retired meanwhile; the names change next look
            return frozenset(names), tuple(sorted(sizes))
        except OSError:
            return None

    def scan(self) -> None:
        """Bring the view up to date with the directory."""
        self.check_root()
        for _attempt in range(5):
            try:
                self._scan()
                return
            except FileNotFoundError:
                continue  # a file went away between listing and reading: list again
        self._scan()

    def _scan(self) -> None:
        names = os.listdir(self.root)
        problems: list[Problem] = []
        names = [n for n in names if not n.endswith((SHARD, JOURNAL)) or self._regular(n, problems)]
        shard_names = sorted(n for n in names if n.endswith(SHARD))
        journal_names = sorted(n for n in names if n.endswith(JOURNAL))
        shards: list[Source] = []
        for name in shard_names:
            source = self._shard(name, problems)
            if source is not None:
                shards.append(source)
        published = {n[: -len(SHARD)] for n in shard_names}
        journals: list[Source] = []
        for name in journal_names:
            if name[: -len(JOURNAL)] in published:
                continue  # its shard is out: the journal is about to be deleted
            source = self._journal(name, problems)
            if source is not None:
                journals.append(source)
        superseded = {n for s in shards for n in s.supersedes}
        self.superseded = superseded
        sources = [s for s in shards + journals if s.name not in superseded]
        held = tuple((id(s), len(s.summaries)) for s in sources)
        if held != self._held:
            # something changed: index the trials again (unchanged, a scan keeps the index)
            by_id: dict[str, tuple[Source, int]] = {}
            for source in sources:
                for position, summary in enumerate(source.summaries):
                    by_id.setdefault(summary.trial_id, (source, position))
            self.by_id = by_id
            self._held = held
            self.generation += 1
        self.sources = sources
        self.problems = problems
        self._shards = {k: v for k, v in self._shards.items() if k in shard_names}
        self._journals = {k: v for k, v in self._journals.items() if k in journal_names}

    def ordered(self) -> list[TrialSummary]:
        """Every trial's summary, oldest first (then by id); kept until the trials change.
        The list is shared: copy it before changing it."""
        if self._ordered is None or self._ordered[0] != self.generation:
            found = [source.summaries[p] for source, p in self.by_id.values()]
            found.sort(key=lambda s: (s.started, s.trial_id))
            self._ordered = (self.generation, found)
        return self._ordered[1]

    def _regular(self, name: str, problems: list[Problem]) -> bool:
        """Whether the entry named as a shard or journal is a regular file (checked before
        opening it: a FIFO would block the reader); if not, it is reported."""
        path = self.root / name
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            if not path.is_symlink():
                raise  # removed since the listing: the scan lists again
            problems.append(Problem(path, f"{path}: a symbolic link to a missing file"))
            return False
        except OSError as exc:
            problems.append(Problem(path, f"{path}: cannot be read ({exc.strerror})"))
            return False
        if stat.S_ISREG(mode):
            return True
        kind = (
            "a directory" if stat.S_ISDIR(mode) else "not a regular file (a FIFO, socket or device)"
        )
        problems.append(Problem(path, f"{path}: {kind}, named as a datastore file; it is skipped"))
        return False

    def _shard(self, name: str, problems: list[Problem]) -> Source | None:
        path = self.root / name
        stat = path.stat()
        signature = (stat.st_size, stat.st_mtime_ns, stat.st_ino)
        cached = self._shards.get(name)
        if cached is not None and cached.signature == signature:
            return cached
        try:
            with open_shard(path) as tree:
                source = self._read_shard_index(tree, path)
        except (CorruptFileError, DatastoreFormatError) as exc:
            problems.append(Problem(path, str(exc)))
            return None
        source.signature = signature
        self._shards[name] = source
        return source

    @staticmethod
    def _read_shard_index(tree: HDF5Tree, path: Path) -> Source:
        try:
            attrs = tree.attrs("")
            supersedes = tuple(json.loads(attrs.get("supersedes", "[]")))
            summaries = _summaries(tree, path.name)
            check_segments(tree, len(summaries))
        except (KeyError, ValueError, TypeError, IndexError) as exc:
            raise CorruptFileError(path, f"its index cannot be read: {exc!r}") from None
        return Source(path, "shard", summaries, supersedes)

    def _journal(self, name: str, problems: list[Problem]) -> Source | None:
        path = self.root / name
        entry = self._journals.get(name)
        if entry is None:
            reader = JournalReader(path)
            source = Source(path, "journal", [])
            entry = self._journals[name] = (reader, source)
        reader, source = entry
        size = path.stat().st_size
        if size != reader.offset:
            try:
                groups = reader.read()
            except DatastoreFormatError as exc:
                problems.append(Problem(path, str(exc)))
                return None
            if any(is_plain(group) for group in groups):
                try:
                    groups = [
                        build_groups(PlainTrials.from_tree(g) if is_plain(g) else g for g in groups)
                    ]
                except (KeyError, ValueError, TypeError) as exc:
                    problems.append(
                        Problem(path, f"{path}: a journal record is malformed: {exc!r}")
                    )
                    return source
            for group in groups:
                try:
                    summaries = _summaries(group, name)
                    check_segments(group, len(summaries))
                except (KeyError, ValueError, TypeError, IndexError) as exc:
                    reader.damaged = f"a record passes its checksum but is malformed: {exc!r}"
                    break
                source.groups.append(group)
                source.summaries += summaries
                source._tree = None
        if reader.damaged:
            problems.append(
                Problem(
                    path,
                    f"{path}: the journal is damaged after its first "
                    f"{len(source.summaries)} trials ({reader.damaged}); those trials are read, "
                    "the rest is lost",
                )
            )
        return source


def _summaries(tree: Tree, location: str) -> list[TrialSummary]:
    index = tree.read("index")
    trial_spec = tree.read("trial_spec")
    specs = tree.read("specs")
    # one decode of the whole index: a call per trial costs a third more
    entries = json.loads("[" + ",".join(index) + "]") if len(index) else []
    return [
        TrialSummary.of(entry, specs[spec], location)
        for entry, spec in zip(entries, trial_spec.tolist(), strict=True)
    ]
