"""The writing side of a datastore in one process: journal each ended trial, publish shards.

Every process that records owns its files, named by a *stem* unique to it
(``<time>-<host>-<pid>-<random>``), so processes never write the same file and need no lock:

1. A trial's ticks collect in memory while it runs
   (:class:`~cogym.datastore.write.recorder.TrialBuffer`).
2. Ended trials are *committed*: appended to the process's journal ``<stem>.journal``
   (``writev``; from then on a crash of the process cannot lose them). A plain one-actor trial
   goes as its raw columns (:func:`~cogym.datastore.write.plain.solo_trial`, a few tens of
   microseconds), which are joined with others' into groups later (:data:`SETTLE_TRIALS`).
   With ``commit_seconds=0``, the default, every trial is committed as it ends. Above 0, a
   trial that lasted at least ``commit_seconds`` is still committed as it ends; shorter ones
   are grouped, and committed at the first trial start, trial end or tick (checked every
   :data:`~cogym.datastore.write.recorder.POLL_TICKS` ticks) at least ``commit_seconds`` after the
   oldest of them ended. :meth:`flush` and :meth:`close` commit too.
3. When the committed trials reach ``shard_bytes``, or ``shard_seconds`` after the first of
   them was committed, or on :meth:`flush` / :meth:`close`, they are written into the shard
   ``<stem>.h5`` (temporary file, fsync, atomic rename) and the journal is deleted. The next
   trials go to a new stem. With a ``publisher`` (a datastore at a URL, whose directory here is
   the process's spool), the shard is then handed to it, which publishes it elsewhere.

What a crash loses: a SIGKILL (or any death of the process) loses the trials still running;
with ``commit_seconds`` above 0, also the short trials not yet committed: those that ended
less than ``commit_seconds`` before it, or after the last check (a trial start or end, or
every ``POLL_TICKS`` ticks of a running trial; a process idle since its last trial ended
checks nothing until :meth:`flush`). A power failure or kernel crash can also lose what was
journaled since the last shard was published, since journals are not fsynced: call
:meth:`flush` where that matters.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shlex
import socket
import time
import warnings
from collections.abc import Callable
from pathlib import Path

from cogym.datastore.format.journal import JournalWriter, Record, encode_tree
from cogym.datastore.format.record import Schemas, TrialRecord
from cogym.datastore.format.shard import write_shard
from cogym.datastore.format.tree import MemoryTree
from cogym.datastore.write.builder import ShardBuilder, build_groups
from cogym.datastore.write.plain import PlainTrials, SoloTrial, plain_forms
from cogym.datastore.write.recorder import TrialBuffer, unrecordable
from cogym.errors import DatastoreError, DatastoreFormatError, NotADatastoreError
from cogym.trial import TrialInfo

__all__ = [
    "DATASTORE_FORMAT",
    "DATASTORE_VERSION",
    "MARKER",
    "ProcessWriter",
    "require_version",
    "UnrecordedTrialWarning",
    "ensure_datastore",
    "new_stem",
]

MARKER = "cogym-datastore.json"
DATASTORE_FORMAT = "cogym.datastore"
DATASTORE_VERSION = 2
"""The newest datastore format this cogym reads. Version 1 holds trials; version 2 also
preferences (:mod:`cogym.datastore.preferences`). A new datastore is written as version 1 and
becomes version 2 when its first preference is stored."""
BASE_VERSION = 1

SETTLE_TRIALS = 1024
"""Trials journaled one by one are joined into groups once this many are pending (and when a
shard is written)."""

_HOST = re.sub(r"[^A-Za-z0-9]+", "-", socket.gethostname())[:24].strip("-") or "host"


class UnrecordedTrialWarning(UserWarning):
    """Trials whose commit was grouped (``commit_seconds`` above 0) could not be recorded whole
    once their results were out: they are indexed as ``failed``, with the reason."""


def new_stem() -> str:
    """A file stem unique to this process and moment; stems sort by creation time."""
    return f"{time.time_ns() // 1000:013x}-{_HOST}-{os.getpid()}-{secrets.token_hex(3)}"


def read_marker(root: Path) -> dict:
    path = root / MARKER
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        if not isinstance(exc, ValueError):  # unreadable, not damaged
            raise DatastoreFormatError(path, f"cannot read the datastore marker: {exc}") from None
        fresh = json.dumps({"format": DATASTORE_FORMAT, "version": BASE_VERSION})
        raise DatastoreFormatError(
            path,
            f"the datastore marker is damaged ({exc}); the trials beside it are not affected. "
            f"Write it again: echo '{fresh}' > {shlex.quote(str(path))} (version 2 if the "
            "datastore holds preferences)",
        ) from None
    if not isinstance(data, dict) or data.get("format") != DATASTORE_FORMAT:
        raise DatastoreFormatError(
            path, f"not a cogym datastore marker (expected format {DATASTORE_FORMAT!r})"
        )
    version = data.get("version")
    if not isinstance(version, int) or version > DATASTORE_VERSION:
        raise DatastoreFormatError(
            path,
            f"the datastore has format version {version!r}, and this cogym reads versions up to "
            f"{DATASTORE_VERSION}; upgrade cogym to use it",
        )
    return data


def ensure_datastore(root: Path) -> None:
    """Create the datastore directory and its marker if they are missing; check them if not."""
    if root.exists() and not root.is_dir():
        raise NotADatastoreError(
            f"{root} is a file, not a datastore directory; choose another path"
        )
    root.mkdir(parents=True, exist_ok=True)
    marker = root / MARKER
    if not marker.exists():
        others = [p.name for p in root.iterdir() if not p.name.startswith(f".{MARKER}.")]
        if others:
            raise NotADatastoreError(
                f"{root} is not a cogym datastore (it has no {MARKER}) and holds other files "
                f"({', '.join(sorted(others)[:3])}{', ...' if len(others) > 3 else ''}); record "
                "into a new or empty directory"
            )
        tmp = root / f".{MARKER}.{os.getpid()}.{secrets.token_hex(3)}.tmp"
        tmp.write_text(
            json.dumps(
                {"format": DATASTORE_FORMAT, "version": BASE_VERSION, "created": time.time()}
            ),
            encoding="utf-8",
        )
        try:
            with contextlib.suppress(FileExistsError):  # another process created it first
                os.link(tmp, marker)
        finally:
            tmp.unlink()
    read_marker(root)


def require_version(root: Path, version: int) -> None:
    """Raise the datastore's marker to format ``version`` (at most :data:`DATASTORE_VERSION`)
    if it is lower; the marker is replaced atomically."""
    data = read_marker(root)
    if data["version"] >= version:
        return
    data = {**data, "version": version}
    tmp = root / f".{MARKER}.{os.getpid()}.{secrets.token_hex(3)}.tmp"
    with open(tmp, "w", encoding="utf-8") as file:
        file.write(json.dumps(data))
        file.flush()
        os.fsync(file.fileno())
    os.replace(tmp, root / MARKER)
    fd = os.open(root, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ProcessWriter:
    """Writes the trials of one process; see the module docstring."""

    def __init__(
        self,
        root: Path,
        *,
        compression: str,
        shard_bytes: int,
        shard_seconds: float,
        commit_seconds: float,
        publisher: Callable[[Path], object] | None = None,
    ) -> None:
        ensure_datastore(root)
        self.publisher = publisher
        self.root = root
        self.pid = os.getpid()
        self.compression = compression
        self.shard_bytes = shard_bytes
        self.shard_seconds = shard_seconds
        self.commit_seconds = commit_seconds
        self.schemas = Schemas()
        self.published: list[Path] = []
        self._ended_buffers: list[TrialBuffer] = []
        self._first_ended = 0.0
        self._pending: list[PlainTrials | MemoryTree] = []
        self._solo: list[SoloTrial] = []
        self._pending_trials = 0
        self._pending_bytes = 0
        self._first_pending = 0.0
        self._journal: JournalWriter | None = None
        self._stem: str | None = None

    def begin(self, info: TrialInfo) -> TrialBuffer:
        if self._ended_buffers:
            self._poll()
        return TrialBuffer(info, self.schemas.plan(info.actor_classes), self._ended, self._poll)

    def _ended(self, buffer: TrialBuffer) -> None:
        now = time.monotonic()
        if not self._ended_buffers:
            self._first_ended = now
        self._ended_buffers.append(buffer)
        result = buffer.result
        if result is not None and result.ended - result.started >= self.commit_seconds:
            self.commit()  # a long trial: journaling it costs little next to playing it
        elif now - self._first_ended >= self.commit_seconds:
            self.commit()

    def _poll(self) -> None:
        if self._ended_buffers and time.monotonic() - self._first_ended >= self.commit_seconds:
            self.commit()

    @property
    def pending(self) -> int:
        """Ended trials not yet in a published shard (journaled or about to be)."""
        return self._pending_trials + len(self._ended_buffers)

    def commit(self) -> None:
        """Journal the trials that ended since the last commit; publish a shard if one is due."""
        buffers, self._ended_buffers = self._ended_buffers, []
        if not buffers:
            return
        records: list[Record] = []
        solo: list[SoloTrial] = []
        groups: list[PlainTrials | MemoryTree] = []
        forms, others = plain_forms(buffers, self.schemas)
        for form, record in forms:
            records.append(record)
            if isinstance(form, PlainTrials):
                groups.append(form)
            else:
                solo.append(form)
        if others:
            for tree, record in self._lay_out(others):
                groups.append(tree)
                records.append(record)
        if self._journal is None:
            self._stem = new_stem()
            try:
                self._journal = JournalWriter(self.root / f"{self._stem}.journal")
            except OSError as exc:
                self._ended_buffers = buffers + self._ended_buffers
                raise DatastoreError(
                    f"cannot create a journal in {self.root}: {exc.strerror}; check that the "
                    "directory is writable"
                ) from exc
        try:
            self._journal.append(records)
        except DatastoreError:
            self._ended_buffers = buffers + self._ended_buffers
            raise
        late = [b for b in buffers if b.reported and b.recording_error is not None]
        if late:  # their results were handed out before their grouped commit
            warnings.warn(
                UnrecordedTrialWarning(
                    f"{len(late)} trial(s) that ended could not be recorded whole and are "
                    "indexed as failed: " + "; ".join(b.recording_error for b in late[:3])
                ),
                stacklevel=2,
            )
        if not self._pending_trials:
            self._first_pending = time.monotonic()
        if groups:
            self._settle()  # keeps the trials in the order they were journaled
            self._pending += groups
            self._pending_bytes += sum(g.nbytes for g in groups)
        if solo:
            self._solo += solo
            self._pending_bytes += sum(trial.nbytes for trial in solo)
            if len(self._solo) >= SETTLE_TRIALS:
                self._settle()
        self._pending_trials += len(buffers)
        if (
            self._pending_bytes >= self.shard_bytes
            or time.monotonic() - self._first_pending >= self.shard_seconds
        ):
            self.publish()

    def _settle(self) -> None:
        """Join the trials journaled one by one (:func:`solo_trial`) into groups."""
        trials, self._solo = self._solo, []
        start = 0
        for end in range(1, len(trials) + 1):
            if end == len(trials) or trials[end].schema.key != trials[start].schema.key:
                self._pending.append(PlainTrials.join(trials[start:end]))
                start = end

    def _lay_out(self, buffers: list[TrialBuffer]) -> list[tuple[MemoryTree, Record]]:
        """The trials laid out as a shard is, and encoded; if that fails for the group, each
        trial alone, so that one trial that cannot be recorded never takes the others with it
        (it is recorded as its summary, failed, with the reason)."""
        try:
            tree = self._tree(buffers)
            return [(tree, encode_tree(tree))]
        except Exception as exc:  # noqa: BLE001  (the trial that breaks it is named below)
            if len(buffers) > 1:
                return [part for buffer in buffers for part in self._lay_out([buffer])]
            (buffer,) = buffers
            reason = f"trial {buffer.info.trial_id} could not be recorded: {exc!r}"
            builder = ShardBuilder()
            builder.add_record(unrecordable(buffer, self.schemas, reason))
            tree = builder.tree()
            return [(tree, encode_tree(tree))]

    def _tree(self, buffers: list[TrialBuffer]) -> MemoryTree:
        builder = ShardBuilder()
        for buffer in buffers:
            builder.add_record(self._record(buffer))
        return builder.tree()

    def _record(self, buffer: TrialBuffer) -> TrialRecord:
        try:
            return buffer.record(self.schemas)
        except DatastoreError as exc:
            # The trial's values do not fit its spaces: keep its summary and say why its ticks
            # are missing, rather than failing whichever trial happens to trigger the commit.
            return unrecordable(buffer, self.schemas, str(exc))

    def publish(self) -> Path | None:
        """Write the pending trials into a shard, publish it, and retire the journal."""
        self.commit()
        self._settle()
        if not self._pending:
            return None
        assert self._journal is not None and self._stem is not None
        path = self.root / f"{self._stem}.h5"
        journal = self._journal.path
        try:
            write_shard(
                build_groups(self._pending),
                path,
                compression=self.compression,
                attrs={"writer": f"{_HOST}:{self.pid}", "supersedes": json.dumps([journal.name])},
            )
        except OSError as exc:
            raise DatastoreError(
                f"cannot write shard {path}: {exc}; the {self._pending_trials} trials stay in "
                f"journal {journal.name}, which readers read too"
            ) from exc
        self._journal.close()
        journal.unlink(missing_ok=True)  # a compaction may have removed it already
        self._journal = None
        self._stem = None
        self._pending = []
        self._pending_trials = 0
        self._pending_bytes = 0
        self.published.append(path)
        if self.publisher is not None:
            self.publisher(path)
        return path

    def close(self) -> None:
        self.publish()
