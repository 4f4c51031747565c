"""Where runs of many trials go: worker pools behind one protocol.

:mod:`~cogym.backends.base` is the protocol (:class:`~cogym.backends.base.WorkerPool`: run
tasks, yield results, report events, close; :class:`~cogym.backends.base.RunnerFactory`: how a
worker builds its own orchestrator); :mod:`~cogym.backends.local` runs trials in local
processes (``--workers N``), :mod:`~cogym.backends.ray` in Ray actors (``--backend ray``, the
``ray`` extra). The orchestrator picks one with :func:`make_pool`; a backend never imports the
orchestrator, which hands its own class down as the runner factory.

    >>> from cogym.backends import BACKENDS
    >>> BACKENDS
    ('local', 'ray')
"""

from __future__ import annotations

from typing import Any

from cogym.backends.base import RunnerFactory, TaskRunner, WorkerPool
from cogym.datalog import Datalog
from cogym.errors import ArgumentError, suggest
from cogym.model_source import ModelSource

__all__ = ["BACKENDS", "RunnerFactory", "TaskRunner", "WorkerPool", "check_backend", "make_pool"]

BACKENDS = ("local", "ray")
"""Where :meth:`~cogym.Orchestrator.iter_run` runs trials: local processes, or a Ray cluster."""


def check_backend(backend: str) -> str:
    """``backend`` if it is one of :data:`BACKENDS`; else an :class:`~cogym.errors.ArgumentError`
    that names them."""
    if backend not in BACKENDS:
        raise ArgumentError(
            f"unknown backend {backend!r}; use one of {', '.join(map(repr, BACKENDS))}."
            f"{suggest(str(backend), BACKENDS)}"
        )
    return backend


def make_pool(
    backend: str,
    workers: int,
    *,
    runner: RunnerFactory,
    datastore: Datalog | None = None,
    registry: ModelSource | None = None,
    **options: Any,
) -> WorkerPool:
    """A pool of ``workers`` workers of ``backend``; ``options`` go to its constructor."""
    # each backend's module is imported when it is asked for: `import cogym` stays quick
    if check_backend(backend) == "local":
        from cogym.backends.local import LocalPool

        return LocalPool(workers, runner=runner, datastore=datastore, registry=registry, **options)
    from cogym.backends.ray import RayPool

    return RayPool(workers, runner=runner, datastore=datastore, registry=registry, **options)
