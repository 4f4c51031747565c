"""The protocol every backend follows, and what a worker needs to run trials.

A backend is a :class:`WorkerPool`: it runs the :class:`~cogym.tasks.TrialTask` s it is given
in its workers, yields each :class:`~cogym.trial.TrialResult` as its trial finishes, reports
trial events to a callback as they happen, and ends its workers on :meth:`WorkerPool.close`.
Each worker builds its own :class:`TaskRunner` (an orchestrator) with the
:class:`RunnerFactory` the pool was given, so that no backend imports the orchestrator: the
orchestrator hands its own class down, and pickling carries it to the workers by name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

from cogym.datalog import Datalog
from cogym.errors import ArgumentError
from cogym.model_source import ModelSource
from cogym.tasks import EventSink, TrialTask
from cogym.trial import TrialResult

__all__ = ["RunnerFactory", "TaskRunner", "WorkerPool", "check_pool_arguments"]


class TaskRunner(Protocol):
    """What runs trials in a worker (an :class:`~cogym.Orchestrator`)."""

    def run_task(self, task: TrialTask) -> TrialResult:
        """Run a prepared trial to its end; a trial that fails is a result, not an exception."""
        ...

    def subscribe(self, callback: EventSink) -> Callable[[], None]:
        """Call ``callback(event)`` for every trial event; returns the unsubscribing function."""
        ...

    def close(self) -> None:
        """Close environments, actors and the datastore (publishing the worker's shard)."""
        ...


class RunnerFactory(Protocol):
    """Builds a worker's runner; it travels to the workers, so it must be picklable.

    The :class:`~cogym.Orchestrator` class is one: ``Orchestrator(datastore=..., registry=...)``.
    """

    def __call__(
        self, *, datastore: Datalog | None, registry: ModelSource | None
    ) -> TaskRunner: ...


class WorkerPool(Protocol):
    """Runs trials in workers: the local processes of :mod:`cogym.backends.local`, the Ray
    actors of :mod:`cogym.backends.ray`."""

    def run(self, tasks: Iterable[TrialTask], emit: EventSink) -> Iterator[TrialResult]:
        """Run ``tasks``, yielding results as trials finish; ``emit`` receives trial events."""
        ...

    def close(self) -> None:
        """End the workers, letting them publish what they recorded; safe to call twice."""
        ...


def check_pool_arguments(workers: int, keep_samples: bool) -> None:
    """What every pool refuses: no workers, or samples kept in the workers' memory."""
    if keep_samples:
        raise ArgumentError(
            "keep_samples works in-process only (samples stay in the worker that ran the trial); "
            "record to a datastore instead"
        )
    if workers < 1:
        raise ArgumentError(f"workers must be at least 1, got {workers}")
