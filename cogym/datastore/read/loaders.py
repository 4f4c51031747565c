"""Training data for parallel readers: a PyTorch ``IterableDataset`` and a Ray Data dataset.

Both are made from a :class:`ReadPlan`: which trials of which file to read, fixed when the
dataset is made. Readers split the plan by file, so DataLoader workers, ranks of a
``torch.distributed`` job (Ray Train's ``TorchTrainer`` sets one up) and Ray Data tasks each
read their own files and every row is read once. Rows are those of
:meth:`cogym.datastore.HDF5Datastore.arrays`, file by file in the datastore's order.

A file that was compacted away after the plan was made cannot be read from it: the reader
raises :class:`~cogym.errors.DatastoreError` naming it, and the dataset must be made again.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from cogym.datastore.read.arrays import (
    _shuffled,
    _unflatten,
    check_step_fields,
    chosen,
    rebatch,
    require_actor,
)
from cogym.datastore.read.catalog import Catalog
from cogym.datastore.read.query import TrialFilter, TrialSummary
from cogym.errors import DatastoreError, InputError

if TYPE_CHECKING:
    import ray.data

__all__ = ["ReadPlan", "TrialRowsDataset", "ray_dataset"]

_ROWS_PER_CHUNK = 4096


class Catalogued(Protocol):
    """What a plan reads from: an :class:`~cogym.datastore.HDF5Datastore` is one."""

    @property
    def url(self) -> str: ...

    def catalog(self) -> Catalog:
        """Its scanned catalog (at a URL, a ``RemoteCatalog``, which reads the same)."""
        ...


@dataclass(frozen=True)
class ReadPlan:
    """The files of a datastore to read, each with the trials to take from it."""

    datastore: Catalogued
    """The datastore (pickled as its configuration: each reader opens its own catalog)."""
    actor: str
    fields: tuple[str, ...]
    files: tuple[tuple[str, frozenset[str]], ...]

    @classmethod
    def make(
        cls, datastore: Catalogued, actor: str, fields: Sequence[str], flt: TrialFilter
    ) -> ReadPlan:
        catalog = datastore.catalog()
        fields = check_step_fields(fields)
        require_actor(catalog, actor)
        files = []
        for source in catalog.sources:
            ids = frozenset(source.summaries[i].trial_id for i in chosen(catalog, source, flt))
            if ids:
                files.append((source.name, ids))
        return cls(datastore, actor, fields, tuple(files))

    def read(
        self, files: Sequence[tuple[str, frozenset[str]]], rng: np.random.Generator | None = None
    ) -> Iterator[dict[tuple[Any, ...], np.ndarray]]:
        """The rows of ``files``, a file at a time, as flat columns (shuffled with ``rng``)."""
        catalog = self.datastore.catalog()
        by_name = {source.name: source for source in catalog.sources}
        for name, ids in files:
            source = by_name.get(name)
            if source is None or any(catalog.by_id.get(t, (None,))[0] is not source for t in ids):
                raise DatastoreError(
                    f"{self.datastore.url}/{name}: the datastore changed since this dataset was "
                    "made (the file was compacted or deleted); make the dataset again"
                )
            yield from _shuffled(catalog, self.actor, self.fields, _Ids(ids), [source], rng)


class _Ids:
    """A filter taking the trials of a set of ids (a plan's trials of one file)."""

    def __init__(self, ids: frozenset[str]) -> None:
        self.ids = ids

    def __call__(self, summary: TrialSummary) -> bool:
        return summary.trial_id in self.ids


def _distributed() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


class TrialRowsDataset(IterableDataset):
    """An actor's recorded rows as a PyTorch ``IterableDataset``, split by file among readers.

    Each item is a row (a dict of NumPy values, nested as the spaces are), or with
    ``batch_size`` a batch of that many rows (then give the ``DataLoader`` ``batch_size=None``).
    With ``shuffle``, the files and the rows within each file come in a new order each epoch
    (:meth:`set_epoch`), the same in every reader.

    >>> # loader = DataLoader(datastore.torch_dataset("player", batch_size=256),
    >>> #                     batch_size=None, num_workers=2)
    """

    def __init__(
        self,
        plan: ReadPlan,
        *,
        batch_size: int | None = None,
        shuffle: bool = False,
        seed: int | None = None,
        drop_last: bool = False,
        rank: int | None = None,
        world_size: int | None = None,
    ) -> None:
        super().__init__()
        if batch_size is not None and (isinstance(batch_size, bool) or batch_size < 1):
            raise InputError(f"batch_size must be at least 1 (or None for rows), got {batch_size}")
        if (rank is None) != (world_size is None) or (
            world_size is not None and not 0 <= rank < world_size  # type: ignore[operator]
        ):
            raise InputError(
                f"rank={rank}, world_size={world_size}: give both, with 0 <= rank < world_size, "
                "or neither (then torch.distributed's are used when it is initialised)"
            )
        self.plan = plan
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = secrets.randbits(63) if seed is None else seed
        self.drop_last = drop_last
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Shuffle for ``epoch``: call it before each epoch, as with ``DistributedSampler``."""
        self.epoch = epoch

    def _share(self) -> tuple[int, tuple[tuple[str, frozenset[str]], ...]]:
        rank, world = (
            (self.rank, self.world_size) if self.world_size is not None else _distributed()
        )
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        member = rank * workers + worker  # type: ignore[operator]
        files = self.plan.files
        if self.shuffle:
            order = np.random.default_rng((self.seed, self.epoch)).permutation(len(files))
            files = tuple(files[i] for i in order)
        return member, files[member :: world * workers]  # type: ignore[operator]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        member, files = self._share()
        rng = np.random.default_rng((self.seed, self.epoch, member)) if self.shuffle else None
        chunks = self.plan.read(files, rng)
        if self.batch_size is not None:
            yield from rebatch(chunks, self.batch_size, self.drop_last)
            return
        for flat in chunks:
            yield from _rows(flat)

    def __repr__(self) -> str:
        return (
            f"TrialRowsDataset({self.plan.datastore.url!r}, actor={self.plan.actor!r}, "
            f"fields={self.plan.fields}, files={len(self.plan.files)})"
        )


def _rows(flat: dict[tuple[Any, ...], np.ndarray]) -> Iterator[dict[str, Any]]:
    rows = len(next(iter(flat.values())))
    for start in range(0, rows, _ROWS_PER_CHUNK):
        chunk = {k: v[start : start + _ROWS_PER_CHUNK] for k, v in flat.items()}
        for i in range(len(next(iter(chunk.values())))):
            yield _unflatten({k: v[i] for k, v in chunk.items()})


def _column(path: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in path)


class _ReadFile:
    """Ray Data's map over the plan: the rows of one file as a batch of columns."""

    def __init__(self, plan: ReadPlan) -> None:
        self.plan = plan

    def __call__(self, batch: dict[str, np.ndarray]) -> Iterator[dict[str, np.ndarray]]:
        for index in batch["file"]:
            for flat in self.plan.read([self.plan.files[int(index)]]):
                yield {_column(path): column for path, column in flat.items()}


def ray_dataset(plan: ReadPlan) -> ray.data.Dataset:
    """A Ray Data dataset of the plan's rows: one read task per file, columns named by field
    (``observations``, or ``observations.position`` for a dict space's key)."""
    try:
        import ray.data
    except ImportError:  # pragma: no cover - ray is in the `ray` extra
        raise InputError("to_ray_dataset needs Ray Data: pip install 'cogym[ray]'") from None
    if not plan.files:
        raise InputError(f"no recorded trial of actor {plan.actor!r} passes the filter")
    files = ray.data.from_items(
        [{"file": i} for i in range(len(plan.files))], override_num_blocks=len(plan.files)
    )
    return files.map_batches(_ReadFile(plan), batch_size=1, batch_format="numpy")
