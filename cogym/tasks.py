"""What the orchestrator and its worker pools exchange: trials to run, and what happens to them.

:class:`TrialTask` is one prepared trial (spec with hooks applied, seed, id), as the
orchestrator hands it to a worker; :class:`TrialEvent` is a trial starting or finishing, as
callbacks and :class:`EventStream` receive it. Both are plain values that travel between
processes, below the orchestrator (:mod:`cogym.orchestrator`) and the backends
(:mod:`cogym.backends`) alike.
"""

from __future__ import annotations

import itertools
import os
import queue
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cogym.spec import TrialSpec
from cogym.trial import TrialResult, TrialState

__all__ = ["EventSink", "EventStream", "TrialEvent", "TrialTask", "new_trial_id"]

_ID_TAG = secrets.token_hex(3)
_id_counter = itertools.count()


def new_trial_id() -> str:
    """A fresh trial id, unique across processes; ids sort by creation time."""
    return f"{time.time_ns() // 1000:013x}{_ID_TAG}{next(_id_counter) & 0xFFFF:04x}"


def _reseed_ids_after_fork() -> None:
    global _ID_TAG  # noqa: PLW0603  (a forked child needs its own tag)
    _ID_TAG = secrets.token_hex(3)


os.register_at_fork(after_in_child=_reseed_ids_after_fork)


@dataclass(frozen=True)
class TrialTask:
    """One trial to run: what the orchestrator hands to a worker."""

    index: int
    trial_id: str
    spec: TrialSpec
    seed: int | None

    def failed(self, error: str) -> TrialResult:
        """The result of this trial when it could not run at all."""
        now = time.time()
        return TrialResult(
            trial_id=self.trial_id,
            state=TrialState.FAILED,
            ticks=0,
            returns={a.name: 0.0 for a in self.spec.actors},
            seed=self.seed,
            spec=self.spec,
            started=now,
            ended=now,
            error=error,
            index=self.index,
        )


@dataclass(frozen=True)
class TrialEvent:
    """Something that happened to a trial: ``started``, ``ended``, ``failed`` or ``terminated``."""

    kind: str
    trial_id: str
    index: int | None
    time: float
    result: TrialResult | None = field(default=None, repr=False)
    worker: int | None = None

    @property
    def error(self) -> str | None:
        return self.result.error if self.result is not None else None

    @classmethod
    def finished(cls, result: TrialResult, worker: int | None = None) -> TrialEvent:
        """The event of a trial that finished with ``result`` (its kind is the result's state)."""
        return cls(result.state.value, result.trial_id, result.index, result.ended, result, worker)


EventSink = Callable[[TrialEvent], None]
"""What receives trial events (a callback of :meth:`~cogym.Orchestrator.subscribe`)."""


class EventStream(Iterator[TrialEvent]):
    """Iterator over trial events; ``close()`` stops it (iteration then ends).

    ``subscribe(callback)`` is where the events come from (an orchestrator's
    :meth:`~cogym.Orchestrator.subscribe`); it returns the function that unsubscribes.
    """

    _END = object()

    def __init__(self, subscribe: Callable[[EventSink], Callable[[], None]]) -> None:
        self._queue: queue.Queue[Any] = queue.Queue()
        self._unsubscribe: Callable[[], None] | None = subscribe(self._put)

    def _put(self, event: TrialEvent) -> None:
        self._queue.put(event)

    def __next__(self) -> TrialEvent:
        item = self._queue.get()
        if item is self._END:
            raise StopIteration
        return item

    def get(self, timeout: float | None = None) -> TrialEvent | None:
        """The next event, or ``None`` after ``timeout`` seconds."""
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if item is self._END:
            self._queue.put(item)
            return None
        return item

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._queue.put(self._END)
