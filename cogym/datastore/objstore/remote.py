"""What a :class:`~cogym.datastore.HDF5Datastore` at a URL does beyond one in a directory.

The facade opens one of these for a URL (and imports this package only then): the object store,
the local spool that recording goes through, the catalog of committed shards, and deletion and
compaction at the URL.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cogym.datastore.maintenance import CompactReport
from cogym.datastore.objstore.catalog import RemoteCatalog
from cogym.datastore.objstore.maintenance import compact_remote, delete_remote
from cogym.datastore.objstore.spool import (
    default_cache,
    default_spool,
    publish_or_keep,
    publish_spool,
)
from cogym.datastore.objstore.store import ObjectStore

__all__ = ["URLDatastore"]


class URLDatastore:
    """The URL side of a datastore: its store, its spool, its catalog (made on first use)."""

    def __init__(self, url: str, storage_options: dict[str, Any], spool: Path | None) -> None:
        self.store = ObjectStore(url, storage_options)
        self.spool = spool or default_spool(self.store.url)
        """The local directory this process records into before publishing."""
        self._catalog: RemoteCatalog | None = None

    def open_for_writing(self, compression: str) -> Callable[[Path], object]:
        """Create the datastore at the URL if it is not there, publish what the spool still
        holds; return the writer's publisher (each shard it writes is published, or kept)."""
        self.store.ensure()
        self.publish_spool(compression)
        return functools.partial(publish_or_keep, self.store)

    def publish_spool(self, compression: str) -> None:
        """Publish the shards left in the spool and the journals of its dead processes."""
        publish_spool(self.store, self.spool, compression)

    def catalog(self) -> RemoteCatalog:
        """The catalog of the committed shards (not scanned here)."""
        if self._catalog is None:
            self._catalog = RemoteCatalog(self.store, default_cache())
        return self._catalog

    def delete(self, trial_ids: Sequence[str], compression: str) -> int:
        return delete_remote(self.store, self.catalog(), trial_ids, compression)

    def compact(self, target_bytes: int, compression: str) -> CompactReport:
        return compact_remote(self.store, self.catalog(), target_bytes, compression)
