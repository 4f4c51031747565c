"""Clone, register, evaluate: what ``cogym bc`` and ``cogym demo`` do with recorded trials."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from cogym.actors import EXTERNAL
from cogym.errors import InputError, suggest
from cogym.learn.behavior_cloning import EpochStats, behavior_cloning

__all__ = ["CloneReport", "clone_and_register", "evaluate", "with_actor"]

EVALUATION_SEED = 1_000_000
"""Evaluation trials start from this seed, far from the seeds demonstrations usually use."""


@dataclass(frozen=True)
class CloneReport:
    """What cloning produced and how the clone plays compared with its demonstrators."""

    model: str
    version: int
    actor: str
    trials: int
    rows: int
    demonstrator_return: float
    clone_return: float | None
    evaluation_trials: int
    evaluation_implementation: str | None
    epochs: tuple[EpochStats, ...]
    seconds: float
    trial_ids: tuple[str, ...]
    """The trials the clone learnt from (its lineage in the registry names them too)."""

    @property
    def ref(self) -> str:
        return f"{self.model}@{self.version}"


def with_actor(flt: Any, actor: str) -> Any:
    """The filter, judging returns on ``actor`` unless it names another actor already."""
    from cogym.datastore import TrialFilter
    from cogym.datastore.read.query import as_filter

    flt = as_filter(flt, {})
    if flt.actor is not None:
        return flt
    values = {f.name: getattr(flt, f.name) for f in fields(flt)}
    values["actor"] = actor
    return TrialFilter(**values)


def clone_and_register(
    datastore: Any,
    actor: str,
    model_name: str,
    registry: Any,
    filter: Any = None,
    *,
    evaluation_trials: int = 20,
    evaluation_seed: int = EVALUATION_SEED,
    workers: int = 1,
    on_epoch: Callable[[EpochStats], None] | None = None,
    **options: Any,
) -> CloneReport:
    """Clone ``actor`` from the trials passing ``filter``, save the clone as the next version of
    ``model_name`` (its lineage lists those trials), then play it in ``evaluation_trials`` new
    trials of the demonstrations' spec. ``options`` go to :func:`behavior_cloning`.
    """
    from cogym.datastore import HDF5Datastore
    from cogym.registry import ModelRegistry, as_registry

    started = time.perf_counter()
    store = datastore if isinstance(datastore, HDF5Datastore) else HDF5Datastore(datastore)
    registry = as_registry(registry) if not isinstance(registry, ModelRegistry) else registry
    flt = with_actor(filter, actor)
    summaries = [s for s in store.trials(flt) if actor in s.returns]
    if not summaries:
        known = sorted({a for s in store.trials() for a in s.returns})
        raise InputError(
            f"no recorded trial of {store.path} has an actor {actor!r} passing filter {flt}."
            f"{suggest(actor, known)} Actors recorded there: "
            f"{', '.join(known) if known else '(none)'}"
        )
    epochs: list[EpochStats] = []

    def keep(stats: EpochStats) -> None:
        epochs.append(stats)
        if on_epoch is not None:
            on_epoch(stats)

    model = behavior_cloning(store, actor, flt, on_epoch=keep, **options)
    trial_ids = list(model.cogym_trial_ids)
    demonstrator_return = sum(s.returns[actor] for s in summaries) / len(summaries)
    best = min((e for e in epochs if e.best), key=lambda e: e.validation_loss, default=None)
    metrics = {"demonstrator_return": demonstrator_return}
    if best is not None and math.isfinite(best.validation_loss):
        metrics["validation_loss"] = best.validation_loss
        metrics[f"validation_{best.score_name}"] = best.validation_score
    saved = registry.save(
        model_name,
        model,
        metrics=metrics,
        properties={"trained_by": "behavior_cloning", "actor": actor, "epochs": len(epochs)},
        lineage={
            "datastore": str(store.path),
            "actor": actor,
            "filter": repr(flt),
            "trial_ids": trial_ids,
        },
    )
    clone_return = None
    implementation = None
    if evaluation_trials > 0:
        implementation = f"sb3:{model_name}@{saved.version}"
        clone_return = evaluate(
            summaries[-1].spec,
            actor,
            implementation,
            registry,
            evaluation_trials,
            evaluation_seed,
            workers,
        )
    return CloneReport(
        model=model_name,
        version=saved.version,
        actor=actor,
        trials=len(trial_ids),
        rows=model.cogym_rows,
        demonstrator_return=demonstrator_return,
        clone_return=clone_return,
        evaluation_trials=evaluation_trials,
        evaluation_implementation=implementation,
        epochs=tuple(epochs),
        seconds=time.perf_counter() - started,
        trial_ids=tuple(trial_ids),
    )


def evaluate(
    spec: Any,
    actor: str,
    implementation: str,
    registry: Any,
    trials: int,
    seed: int = EVALUATION_SEED,
    workers: int = 1,
) -> float:
    """Mean return of ``actor`` played by ``implementation`` in new trials of ``spec``.

    Other actors keep their implementations, except external ones (nobody drives them here),
    which become ``random``. Evaluation trials are not recorded.
    """
    from cogym.orchestrator import Orchestrator

    evaluation = spec.replace(seed=seed, datastore=None)
    # the demonstrator's config is for its own implementation, not for the clone's
    evaluation = evaluation.replace_actor(actor, implementation=implementation, config={})
    for other in evaluation.actors:
        if other.name != actor and other.implementation == EXTERNAL:
            evaluation = evaluation.replace_actor(other.name, implementation="random")
    with Orchestrator(registry=registry) as orchestrator:
        results = orchestrator.run_many(evaluation, trials, workers=workers)
    ended = [r for r in results if r.state.value == "ended"]
    if not ended:
        raise InputError(
            f"none of the {trials} evaluation trials of {implementation} ended; first error: "
            f"{results[0].error}"
        )
    return sum(r.returns[actor] for r in ended) / len(ended)
