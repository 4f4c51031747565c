"""Following a datastore: each trial as soon as it has ended, in any process recording into it.

    >>> # for summary in HDF5Datastore("trials/").follow(actor="player", timeout=60):
    >>> #     print(summary.trial_id, summary.returns)

What a follower sees is what any reader sees (:mod:`cogym.datastore.read.catalog`): a trial
appears once its process has *committed* it, which is a record appended to that process's
journal whose length and checksum are whole, or a shard published by an atomic rename. So a
trial is never seen half-written, and one whose process is killed before committing it is
never seen at all. A trial keeps its id when a shard takes over from its journal, or when a
compaction or a deletion of others moves it into another file; the follower remembers the ids
it has yielded, and yields each trial once.

Between looks the follower sleeps ``poll`` seconds; a look lists the directory and the size of
each journal, and reads indexes only when one of those changed (shards never change in
place), so following an idle datastore costs a ``listdir`` and a few ``stat`` calls per poll.
"""

from __future__ import annotations

import math
import time
from collections.abc import Hashable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from cogym.datastore.read.catalog import Catalog, Source
from cogym.datastore.read.query import TrialFilter, TrialSummary
from cogym.errors import InvalidArgumentError

if TYPE_CHECKING:
    from cogym.datastore.objstore.catalog import RemoteCatalog

__all__ = ["POLL_SECONDS", "Followed", "follow"]

POLL_SECONDS = 0.1
"""How long a follower sleeps between looks at the directory, unless told otherwise."""


class Followed(Protocol):
    """What following needs of a datastore: an :class:`~cogym.datastore.HDF5Datastore` is one."""

    @property
    def path(self) -> Path: ...

    def catalog(self) -> Catalog | RemoteCatalog: ...


def follow(
    datastore: Followed,
    flt: TrialFilter,
    *,
    timeout: float | None = None,
    poll: float | None = None,
) -> Iterator[TrialSummary]:
    """The trials of ``datastore`` passing ``flt``: those there now, oldest first, then each
    one as it is committed; see the module docstring.

    ``poll``: seconds between looks (``None``: :data:`POLL_SECONDS`).
    Ends when ``timeout`` seconds (``None``: never) pass without a new trial, counted from the
    start and from each time the caller asks for the next one. The datastore is checked now, so
    a wrong path fails at the call, not at the first ``next``.
    """
    if poll is None:
        poll = POLL_SECONDS
    if isinstance(poll, bool) or not isinstance(poll, (int, float)) or not poll > 0:
        raise InvalidArgumentError("poll", f"expected a number of seconds above 0, got {poll!r}")
    if timeout is not None and (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or math.isnan(timeout)
        or timeout < 0
    ):
        raise InvalidArgumentError(
            "timeout", f"expected None or a number of seconds >= 0, got {timeout!r}"
        )
    datastore.catalog()
    return _follow(datastore, flt, None if timeout is None else float(timeout), float(poll))


def _follow(
    datastore: Followed, flt: TrialFilter, timeout: float | None, poll: float
) -> Iterator[TrialSummary]:
    # every trial id looked at: yielded, or left out by the filter (a summary never changes)
    judged: set[str] = set()
    looked: Hashable | None = None
    quiet_since = time.monotonic()
    catalog = datastore.catalog()
    while True:
        now = catalog.look()
        if now is None or now != looked:
            looked = now
            by_id = datastore.catalog().by_id
            fresh = [_summary(by_id[trial_id]) for trial_id in by_id.keys() - judged]
            judged.update(s.trial_id for s in fresh)
            fresh.sort(key=lambda s: (s.started, s.trial_id))
            for summary in fresh:
                if flt(summary):
                    yield summary
                    quiet_since = time.monotonic()
        waited = time.monotonic() - quiet_since
        if timeout is not None and waited >= timeout:
            return
        time.sleep(poll if timeout is None else max(0.0, min(poll, timeout - waited)))


def _summary(entry: tuple[Source, int]) -> TrialSummary:
    source, position = entry
    return source.summaries[position]
