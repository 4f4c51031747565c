"""``HDF5Datastore``: record trials into a directory of HDF5 files, find, read and replay them."""

from __future__ import annotations

import atexit
import os
import threading
import warnings
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cogym.datastore.preferences as prefs
from cogym.datastore.follow import follow
from cogym.datastore.format.shard import COMPRESSION_CHOICES
from cogym.datastore.location import local_directory
from cogym.datastore.maintenance import CompactReport, compact, delete
from cogym.datastore.read import arrays as training
from cogym.datastore.read.catalog import Catalog, Problem
from cogym.datastore.read.query import TrialFilter, TrialSummary, as_filter
from cogym.datastore.read.stored import StoredTrial
from cogym.datastore.replay import ReplayReport, replay
from cogym.datastore.write.writer import ProcessWriter, ensure_datastore, new_stem, require_version
from cogym.errors import InputError, TrialNotFoundError
from cogym.trial import TrialInfo, TrialRecorder
from cogym.trust import refuse_untrusted, replay_loads

if TYPE_CHECKING:
    import ray.data

    from cogym.datastore.objstore.catalog import RemoteCatalog
    from cogym.datastore.objstore.remote import URLDatastore
    from cogym.datastore.objstore.store import ObjectStore
    from cogym.datastore.read.loaders import TrialRowsDataset

__all__ = ["HDF5Datastore", "UnreadableFileWarning"]


class UnreadableFileWarning(UserWarning):
    """A file of the datastore could not be read; the other files were."""


class HDF5Datastore:
    """A trial datastore: a directory of HDF5 files that any number of processes record into.

    >>> import tempfile
    >>> from cogym import Orchestrator, TrialSpec
    >>> spec = TrialSpec.from_dict({"environment": {"implementation": "gym:CartPole-v1"},
    ...                             "actors": [{"name": "player"}], "seed": 0})
    >>> root = tempfile.mkdtemp()
    >>> with Orchestrator(datastore=HDF5Datastore(root)) as orchestrator:
    ...     results = orchestrator.run_many(spec, 3)
    >>> ds = HDF5Datastore(root)
    >>> [s.state.value for s in ds.trials()]
    ['ended', 'ended', 'ended']
    >>> ds.arrays("player", ("observations", "actions"))["observations"].shape[1]
    4

    Recording: ``begin`` (called by the orchestrator) gives each trial a recorder. Ended
    trials are journaled (safe from a crash of the process) as they end; with
    ``commit_seconds`` above 0, trials shorter than that are journaled in groups within
    ``commit_seconds`` instead, which records many very short trials faster but lets a killed
    process lose those that ended in its last ``commit_seconds``. They land in a shard once
    this process has gathered ``shard_bytes`` of them, ``shard_seconds`` after the first, or
    on :meth:`flush` / :meth:`close`. What a
    killed process can lose is said in :mod:`cogym.datastore.write.writer`. ``compression`` is
    ``auto`` (chosen per dtype, see :func:`cogym.datastore.format.shard.filters`), ``gzip``, ``lzf``
    or ``none``.

    ``path`` may also be any fsspec URL (``s3://bucket/trials``, ``gs://...``, ``memory://...``;
    ``storage_options`` go to fsspec): each process then records into a local ``spool``
    directory as above and publishes each shard it writes to the URL, where readers see only
    whole, committed shards; see :mod:`cogym.datastore.objstore`.

    The object can be pickled to worker processes; each process writes its own files.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        compression: str = "auto",
        shard_bytes: int = 64 << 20,
        shard_seconds: float = 300.0,
        commit_seconds: float = 0.0,
        storage_options: dict[str, Any] | None = None,
        spool: str | os.PathLike[str] | None = None,
    ) -> None:
        if compression not in COMPRESSION_CHOICES:
            raise InputError(
                f"compression must be one of {', '.join(COMPRESSION_CHOICES)}, got {compression!r}"
            )
        if shard_bytes < 1 or shard_seconds < 0 or commit_seconds < 0:
            raise InputError(
                "shard_bytes must be positive, shard_seconds and commit_seconds not negative"
            )
        local = local_directory(path)
        self.store: ObjectStore | None = None
        self._at_url: URLDatastore | None = None
        self.storage_options = dict(storage_options or {})
        self.spool = None if spool is None else Path(spool)
        if local is None:
            self._at_url = _open_url(os.fspath(path), self.storage_options, self.spool)
            self.store = self._at_url.store
            self.path = self._at_url.spool
            self.url = self.store.url
        else:
            if self.storage_options or spool is not None:
                raise InputError(
                    f"storage_options and spool are for datastores at URLs; {path!r} is a directory"
                )
            self.path = local
            self.url = str(local)
        self.compression = compression
        self.shard_bytes = int(shard_bytes)
        self.shard_seconds = float(shard_seconds)
        self.commit_seconds = float(commit_seconds)
        self._writer: ProcessWriter | None = None
        self._catalog: Catalog | RemoteCatalog | None = None
        self._warned: set[Problem] = set()
        self._lock = threading.Lock()
        self._preference_writer: prefs.PreferenceWriter | None = None
        self.tick_spans: dict[tuple[str, str], tuple[int, int]] = {}
        """Each (trial, actor)'s first and last recorded tick, as preferences checked them."""

    # -- pickling: configuration only; files are opened by whichever process uses them ----------

    def __getstate__(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "compression": self.compression,
            "shard_bytes": self.shard_bytes,
            "shard_seconds": self.shard_seconds,
            "commit_seconds": self.commit_seconds,
            "url": self.url if self.store is not None else None,
            "storage_options": self.storage_options,
            "spool": self.spool,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(
            state["url"] or state["path"],
            storage_options=state["storage_options"] or None,
            spool=state["spool"],
            compression=state["compression"],  # type: ignore[misc]
            shard_bytes=state["shard_bytes"],
            shard_seconds=state["shard_seconds"],
            commit_seconds=state["commit_seconds"],
        )

    def __repr__(self) -> str:
        return f"HDF5Datastore({self.url!r})"

    # -- recording (the Datalog protocol) ---------------------------------------------------------

    def begin(self, info: TrialInfo) -> TrialRecorder:
        """Start recording a trial (called by the orchestrator)."""
        writer = self._writer
        if writer is None or writer.pid != os.getpid():
            writer = self._open_writer()
        return writer.begin(info)

    def _open_writer(self) -> ProcessWriter:
        with self._lock:
            if self._writer is None or self._writer.pid != os.getpid():
                at_url = self._at_url
                self._writer = ProcessWriter(
                    self.path,
                    compression=self.compression,
                    shard_bytes=self.shard_bytes,
                    shard_seconds=self.shard_seconds,
                    commit_seconds=self.commit_seconds,
                    publisher=None if at_url is None else at_url.open_for_writing(self.compression),
                )
                _close_at_exit(self)
            return self._writer

    def commit(self) -> None:
        """Journal this process's ended trials now (with ``commit_seconds`` above 0, short
        trials wait up to that long otherwise); no shard is written."""
        writer = self._writer
        if writer is not None and writer.pid == os.getpid():
            writer.commit()

    def flush(self) -> Path | None:
        """Publish this process's ended trials as a shard (fsynced); return its path, if any.

        At a URL, the shard is then published there (its name there is the path's name), and so
        is whatever the spool still holds (see :mod:`cogym.datastore.objstore.spool`)."""
        writer = self._writer
        path = writer.publish() if writer is not None and writer.pid == os.getpid() else None
        if self._at_url is not None:
            self._at_url.publish_spool(self.compression)
        return path

    def close(self) -> None:
        """Flush, and release this process's files. Reading (and recording again) still works."""
        writer = self._writer
        if writer is not None and writer.pid == os.getpid():
            writer.close()
            if self._at_url is not None:
                self._at_url.publish_spool(self.compression)
        self._writer = None
        preference_writer = self._preference_writer
        if preference_writer is not None and preference_writer.pid == os.getpid():
            preference_writer.close()
        self._preference_writer = None

    # -- preferences ------------------------------------------------------------------------------

    def add_preference(self, preference: prefs.Preference) -> None:
        """Store the answer to a query; it is on disk (fsynced) when this returns.

        Refused with an :class:`~cogym.errors.InputError` naming the field, and nothing stored,
        when a field is malformed, a segment's trial is not in the datastore (full ids only), its
        actor is not in that trial, or its ticks are outside those the actor was recorded at.
        Any number of processes may add preferences at once. See
        :mod:`cogym.datastore.preferences`.
        """
        if self.store is not None:
            raise InputError(
                f"preferences are stored in datastore directories; {self.url} is a URL. Record "
                "them into a directory (copy its trials with `cogym trials sync URL DIR`)"
            )
        prefs.check_shape(preference)
        for side in ("left", "right"):
            prefs.check_segment(self, getattr(preference.query, side), f"query.{side}")
        writer = self._preference_writer
        if writer is None or writer.pid != os.getpid():
            with self._lock:
                writer = self._preference_writer
                if writer is None or writer.pid != os.getpid():
                    ensure_datastore(self.path)
                    require_version(self.path, 2)
                    path = self.path / f"{new_stem()}{prefs.PREFERENCES_SUFFIX}"
                    writer = self._preference_writer = prefs.PreferenceWriter(path)
                    _close_at_exit(self)
        writer.write(preference)

    def preferences(
        self, trial_ids: Iterable[str] | None = None, actor: str | None = None
    ) -> list[prefs.Preference]:
        """The stored preferences in the order they were answered; with ``trial_ids`` or
        ``actor``, those both of whose segments are in those trials and of that actor.

        A file whose tail is damaged warns (:class:`UnreadableFileWarning`) and its answers
        before the damage are read."""
        self.catalog()  # checks the directory is a datastore of a version this cogym reads
        if self.store is not None:
            return []  # add_preference refuses a URL: none can be there
        found, problems = prefs.read_preferences(self.path)
        for path, message in problems:
            problem = Problem(path, message)
            if problem not in self._warned:
                self._warned.add(problem)
                warnings.warn(message, UnreadableFileWarning, stacklevel=2)
        return list(prefs.select(found, trial_ids, actor))

    # -- reading ----------------------------------------------------------------------------------

    def catalog(self) -> Catalog | RemoteCatalog:
        """Scan the directory (cheap when nothing changed) and return the up-to-date view."""
        if self._catalog is None:
            at_url = self._at_url
            self._catalog = Catalog(self.path) if at_url is None else at_url.catalog()
        catalog = self._catalog
        catalog.scan()
        for problem in catalog.problems:
            if problem not in self._warned:
                self._warned.add(problem)
                warnings.warn(str(problem), UnreadableFileWarning, stacklevel=3)
        return catalog

    @property
    def problems(self) -> list[Problem]:
        """Files that could not be read at the last scan, and why."""
        return list(self.catalog().problems)

    def trials(
        self, filter: TrialFilter | Mapping[str, Any] | None = None, **criteria: Any
    ) -> list[TrialSummary]:
        """Summaries of the trials passing ``filter`` / ``criteria``, oldest first.

        Criteria are those of :class:`TrialFilter`: ``ids``, ``tags``, ``environment``,
        ``implementation``, ``actor``, ``state``, ``returns``, ``started_after``,
        ``started_before``. Read from the index only, never from tick data.
        """
        flt = as_filter(filter, criteria)
        ordered = self.catalog().ordered()
        return list(ordered) if flt.matches_everything else [s for s in ordered if flt(s)]

    def follow(
        self,
        filter: TrialFilter | Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
        poll: float | None = None,
        **criteria: Any,
    ) -> Iterator[TrialSummary]:
        """Summaries of the trials passing the filter as they end, in any process recording here.

        First every such trial already recorded (oldest first, as :meth:`trials`), then each
        new one as soon as its process has committed it, never one twice nor one half-written.
        It looks every ``poll`` seconds (``None``: :data:`cogym.datastore.follow.POLL_SECONDS`)
        and stops after ``timeout`` seconds with nothing new (``None``: never), or when the
        caller breaks out of the loop. Summaries, as :meth:`trials` gives: read a trial's ticks
        with :meth:`trial`, many trials' rows with :meth:`arrays` and ``ids=``. See
        :mod:`cogym.datastore.follow`.
        """
        return follow(self, as_filter(filter, criteria), timeout=timeout, poll=poll)

    def __len__(self) -> int:
        return len(self.catalog().by_id)

    def __contains__(self, trial_id: object) -> bool:
        return isinstance(trial_id, str) and trial_id in self.catalog().by_id

    def resolve(self, trial_id: str) -> str:
        """The full id of ``trial_id``, which may be a unique prefix."""
        catalog = self.catalog()
        if trial_id in catalog.by_id:
            return trial_id
        matches = [i for i in catalog.by_id if i.startswith(trial_id)] if trial_id else []
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise TrialNotFoundError(
                f"trial id prefix {trial_id!r} is ambiguous in {self.url}: it matches "
                f"{', '.join(sorted(matches)[:5])}{' ...' if len(matches) > 5 else ''}"
            )
        message = f"no trial {trial_id!r} in datastore {self.url} ({len(catalog.by_id)} trials"
        if catalog.problems:
            unreadable = ", ".join(p.path.name for p in catalog.problems)
            message += f"; it may be in an unreadable file: {unreadable}"
        raise TrialNotFoundError(message + "). List trials with `cogym trials ls --datastore ...`")

    def trial(self, trial_id: str) -> StoredTrial:
        """One recorded trial (``trial_id`` may be a unique prefix)."""
        trial_id = self.resolve(trial_id)
        catalog = self.catalog()
        source, position = catalog.by_id[trial_id]
        record = source.extract([position], catalog.space_cache)[0]
        return StoredTrial(source.summaries[position], record)

    def arrays(
        self,
        actor: str,
        fields: Sequence[str] = ("observations", "actions"),
        filter: TrialFilter | Mapping[str, Any] | None = None,
        **criteria: Any,
    ) -> training.TrialArrays:
        """``actor``'s rows across every trial passing the filter, as contiguous arrays.

        Fields: ``observations``, ``actions``, ``rewards``, ``env_rewards``, ``terminated``,
        ``truncated``, ``tick`` (one row per tick the actor acted on) and ``final_observations``
        (one row per trial). See :mod:`cogym.datastore.read.arrays`.
        """
        return training.gather(self.catalog(), actor, fields, as_filter(filter, criteria))

    def iter_batches(
        self,
        actor: str,
        fields: Sequence[str] = ("observations", "actions"),
        batch_size: int = 256,
        filter: TrialFilter | Mapping[str, Any] | None = None,
        *,
        shuffle: bool = False,
        seed: int | None = None,
        drop_last: bool = False,
        **criteria: Any,
    ) -> Iterator[dict[str, Any]]:
        """Like :meth:`arrays`, as minibatches read one file at a time (for data larger than
        memory)."""
        return training.batches(
            self.catalog(),
            actor,
            fields,
            as_filter(filter, criteria),
            batch_size,
            shuffle=shuffle,
            seed=seed,
            drop_last=drop_last,
        )

    def torch_dataset(
        self,
        actor: str,
        fields: Sequence[str] = ("observations", "actions"),
        filter: TrialFilter | Mapping[str, Any] | None = None,
        *,
        batch_size: int | None = None,
        shuffle: bool = False,
        seed: int | None = None,
        drop_last: bool = False,
        rank: int | None = None,
        world_size: int | None = None,
        **criteria: Any,
    ) -> TrialRowsDataset:
        """The rows of :meth:`arrays` as a PyTorch ``IterableDataset`` that ``DataLoader``
        workers and ``torch.distributed`` ranks (Ray Train's workers among them) split by file,
        each row read once; see :class:`~cogym.datastore.read.loaders.TrialRowsDataset`."""
        from cogym.datastore.read.loaders import ReadPlan, TrialRowsDataset

        plan = ReadPlan.make(self, actor, fields, as_filter(filter, criteria))
        return TrialRowsDataset(
            plan,
            batch_size=batch_size,
            shuffle=shuffle,
            seed=seed,
            drop_last=drop_last,
            rank=rank,
            world_size=world_size,
        )

    def to_ray_dataset(
        self,
        actor: str,
        fields: Sequence[str] = ("observations", "actions"),
        filter: TrialFilter | Mapping[str, Any] | None = None,
        **criteria: Any,
    ) -> ray.data.Dataset:
        """The rows of :meth:`arrays` as a Ray Data dataset read by one task per file (every
        node must reach this directory, or its URL); columns are arrays named by field."""
        from cogym.datastore.read.loaders import ReadPlan, ray_dataset

        plan = ReadPlan.make(self, actor, fields, as_filter(filter, criteria))
        return ray_dataset(plan)

    # -- replay and maintenance -------------------------------------------------------------------

    def replay(self, trial_id: str, *, trust: bool = True) -> ReplayReport:
        """Re-execute a recorded trial from its seed and recorded actions; report if it reproduces.

        A replay builds the recorded environment, so it imports the modules the trial's spec
        names (``python:``, ``pettingzoo:``, ``gym:<module>:<id>``) and calls their factories.
        For a datastore from elsewhere pass ``trust=False``: a trial whose spec would import
        any is then refused before anything is imported, with an
        :class:`~cogym.errors.UntrustedCodeError` listing them (see :mod:`cogym.trust`);
        ``cogym trials replay`` does the same unless given ``--trust``.
        """
        stored = self.trial(trial_id)
        if not trust:
            doing = f"replaying trial {stored.summary.trial_id}"
            refuse_untrusted(replay_loads(stored.spec), doing=doing, trust_with="trust=True")
        return replay(stored)

    def delete(self, trial_ids: Iterable[str]) -> int:
        """Delete trials; return how many were deleted. See :mod:`cogym.datastore.maintenance`."""
        ids = [self.resolve(i) for i in ([trial_ids] if isinstance(trial_ids, str) else trial_ids)]
        if self._at_url is not None:
            self.catalog()
            return self._at_url.delete(ids, self.compression)
        return delete(self, ids)

    def compact(self, target_bytes: int = 128 << 20) -> CompactReport:
        """Merge small shards (and journals of processes that died) into shards of about
        ``target_bytes``; at a URL, publish the spool first (see :meth:`flush`)."""
        if self._at_url is not None:
            self.flush()
            self.catalog()
            return self._at_url.compact(target_bytes, self.compression)
        return compact(self, target_bytes)


def _open_url(url: str, storage_options: dict[str, Any], spool: Path | None) -> URLDatastore:
    """The URL side of a datastore at ``url``.

    This is the facade's one lazy import: :mod:`cogym.datastore.objstore` (and fsspec) load
    with the first datastore opened at a URL, never for one in a directory. The objstore
    modules import nothing of the facade, so no cycle is behind it.
    """
    from cogym.datastore.objstore.remote import URLDatastore

    return URLDatastore(url, storage_options, spool)


_open: weakref.WeakSet[HDF5Datastore] = weakref.WeakSet()


def _close_all() -> None:
    for datastore in list(_open):
        datastore.close()


def _close_at_exit(datastore: HDF5Datastore) -> None:
    if not _open:
        atexit.register(_close_all)
    _open.add(datastore)
