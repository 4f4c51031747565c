"""A live learning loop: clone an actor again every few trials, while trials are being recorded.

    >>> from cogym.learn import follow_and_clone
    >>> # follow_and_clone("trials/", "player", "cartpole-live", "models/", every=5,
    >>> #                  on_version=lambda report: print(report.ref, report.trials))

Trials recorded into the datastore by any process (``cogym run``, ``cogym play``, local or Ray
workers) are followed as they end (:meth:`~cogym.datastore.HDF5Datastore.follow`); once
``every`` new ones have come, the actor is cloned from every trial recorded so far that passes
the filter, and the clone is published as the next version of the model, its lineage naming
those trials (:func:`~cogym.learn.clone.clone_and_register`). Trials whose actor is
``sb3:<model>@latest`` pick the new version up at their next start.

Stopping: after ``max_versions`` versions, after ``timeout`` seconds without a new trial, or on
``KeyboardInterrupt`` (``cogym bc --follow`` turns SIGTERM into one), which goes on to the
caller. A version is published atomically (its ``meta.json`` is written last), so an
interruption at any moment leaves every version published before it whole, and no half one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from cogym.errors import CorruptFileError, InvalidArgumentError
from cogym.learn.clone import CloneReport, clone_and_register, with_actor

__all__ = ["EVERY", "follow_and_clone"]

EVERY = 10
"""New trials per version, unless told otherwise."""

_REREADS = 3
"""Times a training is started again when a compaction removed a file it was reading."""


def follow_and_clone(
    datastore: Any,
    actor: str,
    model: str,
    registry: Any,
    filter: Any = None,
    *,
    every: int = EVERY,
    max_versions: int | None = None,
    timeout: float | None = None,
    poll: float | None = None,
    evaluation_trials: int = 0,
    workers: int = 1,
    on_version: Callable[[CloneReport], None] | None = None,
    **options: Any,
) -> list[CloneReport]:
    """Clone ``actor`` into a new version of ``model`` every ``every`` new trials; see the
    module docstring. Returns the report of each version published.

    ``filter`` chooses trials as in :meth:`~cogym.datastore.HDF5Datastore.trials`;
    ``evaluation_trials``, ``workers`` and ``options`` (``epochs``, ``algo``, ``notes``,
    ``labels``, ...) are those of :func:`~cogym.learn.clone.clone_and_register`;
    ``on_version`` receives each report as its version is published.
    """
    from cogym.datastore import HDF5Datastore
    from cogym.registry import ModelRegistry, as_registry

    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise InvalidArgumentError("every", f"expected a number of trials >= 1, got {every!r}")
    if max_versions is not None and (
        isinstance(max_versions, bool) or not isinstance(max_versions, int) or max_versions < 1
    ):
        raise InvalidArgumentError(
            "max_versions", f"expected None or a number of versions >= 1, got {max_versions!r}"
        )
    store = datastore if isinstance(datastore, HDF5Datastore) else HDF5Datastore(datastore)
    registry = registry if isinstance(registry, ModelRegistry) else as_registry(registry)
    flt = with_actor(filter, actor)
    trials = store.follow(flt, timeout=timeout, poll=poll)
    reports: list[CloneReport] = []
    learnt: set[str] = set()
    new = 0
    for summary in trials:
        if actor not in summary.returns or summary.trial_id in learnt:
            continue  # no such actor, or already in a version trained on what was there then
        new += 1
        if new < every:
            continue
        report = _clone(store, actor, model, registry, flt, evaluation_trials, workers, options)
        learnt.update(report.trial_ids)
        new = 0
        reports.append(report)
        if on_version is not None:
            on_version(report)
        if max_versions is not None and len(reports) >= max_versions:
            break
    return reports


def _clone(
    store: Any,
    actor: str,
    model: str,
    registry: Any,
    flt: Any,
    evaluation_trials: int,
    workers: int,
    options: dict[str, Any],
) -> CloneReport:
    """One version, trained on every trial there now; read again if a compaction moved one."""
    attempts = 0
    while True:
        try:
            return clone_and_register(
                store,
                actor,
                model,
                registry,
                flt,
                evaluation_trials=evaluation_trials,
                workers=workers,
                **options,
            )
        except CorruptFileError as exc:
            attempts += 1
            if attempts > _REREADS or Path(str(exc.path)).exists():
                raise  # damaged, not merely removed by a compaction
