"""What a DAgger run will do, every argument checked and the teacher tried before any trial runs.

A bad argument raises :class:`~cogym.errors.InvalidArgumentError` naming it; a teacher of
other spaces raises :class:`~cogym.errors.SpaceMismatchError` naming both.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from cogym.errors import InputError, InvalidArgumentError, suggest
from cogym.learn.behavior_cloning import check_policy_spaces
from cogym.learn.mixture import QUERIES
from cogym.learn.rows import Rows, recorded_rows
from cogym.learn.teacher import HUMAN, build_teacher, check_teacher
from cogym.learn.uncertainty import check_measure

__all__ = ["TRAINING_DEFAULTS", "DaggerPlan", "plan_dagger"]

TRAINING_OPTIONS = frozenset(
    {
        "algo",
        "epochs",
        "batch_size",
        "learning_rate",
        "validation",
        "patience",
        "entropy_weight",
        "policy_kwargs",
        "device",
        "min_updates",
    }
)
"""Options of :func:`~cogym.learn.behavior_cloning.fit_policy` that DAgger passes on."""

TRAINING_DEFAULTS = {
    "epochs": 20,
    "batch_size": 64,
    "validation": 0.0,
    "patience": 10,
    "min_updates": 2000,
}
"""How each round's policy is trained unless told otherwise: no trials held out (the first
rounds have few), and enough epochs for ``min_updates`` minibatch updates."""


@dataclass(frozen=True)
class DaggerPlan:
    """A DAgger run's settings, checked."""

    spec: Any
    actor: str
    teacher: str
    """The teacher's implementation, pinned (``sb3:m@latest`` -> ``sb3:m@4``)."""
    teacher_config: Mapping[str, Any]
    registry: Any
    store: Any
    model: str
    rounds: int
    trials_per_round: int
    beta: Callable[[int], float]
    query: str
    threshold: float
    measure: str
    budget: Callable[[int], float] | None
    """The share of a round's ticks to ask about (``query="uncertain"``), or ``None``:
    ``threshold`` then holds in every round."""
    ensemble: int
    start: Any
    seed: int
    workers: int
    evaluation_trials: int
    training: Mapping[str, Any]
    continuous: bool
    action_space: Any
    """The learner's action space."""

    def beta_of(self, k: int) -> float:
        """The teacher's share of the actions in the round with schedule index ``k``."""
        value = self.beta(k)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise InvalidArgumentError(
                "beta", f"beta({k}) gave {value!r}; expected a number in [0, 1]"
            )
        return float(value)

    def budget_of(self, k: int) -> float:
        """The share of round ``k``'s ticks the teacher is to be asked about."""
        if self.budget is None:
            raise ValueError("no budget: the threshold is fixed")
        value = self.budget(k)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
            raise InvalidArgumentError(
                "budget", f"budget({k}) gave {value!r}; expected a share in (0, 1]"
            )
        return float(value)

    @property
    def trains_ensemble(self) -> bool:
        """Whether each round's policy comes with ``ensemble - 1`` more members."""
        return self.query == "uncertain" and (self.continuous or self.measure == "ensemble")

    def start_rows(self) -> Rows:
        return start_rows(self.store, self.actor, self.start)


def plan_dagger(
    spec: Any,
    actor: str,
    teacher: str,
    *,
    registry: Any,
    model: str,
    datastore: Any,
    rounds: int,
    trials_per_round: int,
    beta: Any,
    query: str,
    threshold: float,
    ensemble: int,
    teacher_config: Mapping[str, Any] | None,
    measure: str = "entropy",
    budget: Any = None,
    start: Any,
    seed: int | None,
    workers: int,
    evaluation_trials: int,
    training: Mapping[str, Any],
) -> DaggerPlan:
    """Check every argument of :func:`~cogym.learn.dagger`, then try the teacher on the spec."""
    _check_counts(
        rounds=rounds,
        trials_per_round=trials_per_round,
        workers=workers,
        evaluation_trials=evaluation_trials,
        ensemble=ensemble,
    )
    _check_query(query, threshold, training)
    shares = _budget(budget)
    if teacher == HUMAN and workers != 1:
        raise InvalidArgumentError(
            "workers", f"a person teaches through one page, one trial at a time; got {workers} "
            "workers: use 1 with teacher 'human'"
        )
    schedule = _schedule(beta)
    spec = _as_spec(spec)
    _check_actor(spec, actor)
    models = _as_registry(registry)
    model = _check_model(model, teacher)
    store = _as_store(datastore)
    pinned, actor_class = _check_teacher(spec, actor, teacher, teacher_config, models)
    _check_measure(measure, actor_class.action_space, ensemble)
    if start is not None:
        start_rows(store, actor, start)  # refused now if it selects nothing
    from gymnasium import spaces

    return DaggerPlan(
        spec=spec,
        actor=actor,
        teacher=pinned,
        teacher_config=dict(teacher_config or {}),
        registry=models,
        store=store,
        model=model,
        rounds=rounds,
        trials_per_round=trials_per_round,
        beta=schedule,
        query=query,
        threshold=float(threshold),
        measure=measure,
        budget=shares,
        ensemble=ensemble,
        start=start,
        seed=int(seed if seed is not None else (spec.seed if spec.seed is not None else 0)),
        workers=workers,
        evaluation_trials=evaluation_trials,
        training={**TRAINING_DEFAULTS, **training},
        continuous=isinstance(actor_class.action_space, spaces.Box),
        action_space=actor_class.action_space,
    )


def _check_counts(**counts: Any) -> None:
    lowest = {"evaluation_trials": 0}
    for name, value in counts.items():
        low = lowest.get(name, 1)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InvalidArgumentError(name, f"expected a whole number >= {low}, got {value!r}")


def _check_query(query: str, threshold: Any, training: Mapping[str, Any]) -> None:
    if query not in QUERIES:
        raise InvalidArgumentError(
            "query",
            f"expected one of {', '.join(QUERIES)}, got {query!r}.{suggest(str(query), QUERIES)}",
        )
    number = isinstance(threshold, (int, float)) and not isinstance(threshold, bool)
    if not number or not np.isfinite(threshold) or threshold < 0:
        raise InvalidArgumentError("threshold", f"expected a number >= 0, got {threshold!r}")
    unknown = sorted(set(training) - TRAINING_OPTIONS)
    if unknown:
        raise InvalidArgumentError(
            unknown[0],
            f"not an option of dagger; training options are {', '.join(sorted(TRAINING_OPTIONS))}",
        )


def _budget(budget: Any) -> Callable[[int], float] | None:
    if budget is None or callable(budget):
        return budget
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not 0 < budget <= 1:
        raise InvalidArgumentError(
            "budget",
            f"expected a share of the ticks in (0, 1] or a function of the round, got {budget!r}",
        )
    return _Constant(float(budget))


@dataclass(frozen=True)
class _Constant:
    """The same share in every round."""

    value: float

    def __call__(self, k: int) -> float:
        return self.value


def _check_measure(measure: Any, action_space: Any, ensemble: int) -> None:
    problem = check_measure(measure, action_space) if isinstance(measure, str) else None
    if not isinstance(measure, str):
        problem = f"expected a measure's name, got {measure!r}"
    if problem is not None:
        from cogym.learn.uncertainty import MEASURES

        raise InvalidArgumentError("measure", f"{problem}.{suggest(str(measure), MEASURES)}")
    if measure == "ensemble" and ensemble < 2:
        raise InvalidArgumentError(
            "ensemble", f"measure 'ensemble' compares at least 2 policies; got ensemble={ensemble}"
        )


def _schedule(beta: Any) -> Callable[[int], float]:
    if callable(beta):
        return beta
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not 0 <= beta <= 1:
        raise InvalidArgumentError(
            "beta", f"expected a number in [0, 1] (beta ** round) or a function, got {beta!r}"
        )
    return _Power(float(beta))


@dataclass(frozen=True)
class _Power:
    """``beta ** k``."""

    base: float

    def __call__(self, k: int) -> float:
        return self.base**k


def _as_spec(spec: Any) -> Any:
    from cogym.spec import TrialSpec

    if isinstance(spec, TrialSpec):
        return spec
    if isinstance(spec, Mapping):
        return TrialSpec.from_dict(spec)
    if isinstance(spec, (str, os.PathLike)):
        return TrialSpec.from_yaml(spec)
    raise InvalidArgumentError(
        "spec", f"expected a TrialSpec, a mapping or a YAML file, got {type(spec).__name__}"
    )


def _check_actor(spec: Any, actor: str) -> None:
    names = [a.name for a in spec.actors]
    if actor not in names:
        raise InvalidArgumentError(
            "actor", f"no actor {actor!r} in the spec.{suggest(str(actor), names)} Actors: {names}"
        )
    for other in spec.actors:
        if other.name != actor and other.implementation == "external":
            raise InvalidArgumentError(
                "spec",
                f"actor {other.name!r} is external, and nobody drives it in DAgger's trials; "
                "give it an implementation (random, python:..., sb3:...)",
            )


def _as_registry(registry: Any) -> Any:
    from cogym.registry import ModelRegistry, as_registry

    if isinstance(registry, ModelRegistry):
        return registry
    try:
        models = as_registry(registry)
    except InputError as exc:
        raise InvalidArgumentError("registry", str(exc)) from None
    if models is None:
        raise InvalidArgumentError("registry", "a model registry (a directory or URL) is needed")
    return models


def _check_model(model: str, teacher: Any) -> str:
    from cogym.registry.names import check_name

    try:
        check_name(model)
    except InputError as exc:
        raise InvalidArgumentError("model", str(exc)) from None
    if not isinstance(teacher, str) or not teacher:
        raise InvalidArgumentError("teacher", f"expected an implementation string, got {teacher!r}")
    if teacher.startswith("sb3:") and teacher[4:].split("@")[0] in (model, f"{model}-ensemble"):
        raise InvalidArgumentError(
            "teacher", f"{teacher!r} is the model DAgger trains; name another model as teacher"
        )
    return model


def _as_store(datastore: Any) -> Any:
    from cogym.datastore import HDF5Datastore

    if isinstance(datastore, HDF5Datastore):
        return datastore
    if isinstance(datastore, (str, os.PathLike)):
        return HDF5Datastore(datastore)
    raise InvalidArgumentError(
        "datastore", f"expected an HDF5Datastore or a directory, got {type(datastore).__name__}"
    )


def _check_teacher(
    spec: Any, actor: str, teacher: str, config: Mapping[str, Any] | None, models: Any
) -> tuple[str, Any]:
    """The teacher pinned, and the learner's actor class, once the teacher labelled a state."""
    from cogym.directory import directory

    try:
        pinned = directory.pin(teacher, models)
    except InputError as exc:
        raise InvalidArgumentError("teacher", f"{teacher!r} cannot be found: {exc}") from None
    actor_class, observation = _first_observation(spec, actor)
    check_policy_spaces(actor_class.observation_space, actor_class.action_space, actor)
    built = build_teacher(pinned, actor_class, dict(config or {}), models)
    try:
        check_teacher(built, pinned, actor_class, observation)
    finally:
        close = getattr(built, "close", None)
        if callable(close):
            close()
    return pinned, actor_class


def _first_observation(spec: Any, actor: str) -> tuple[Any, Any]:
    """The learner's actor class, and the first observation the environment gives it."""
    from cogym.directory import directory

    environment = directory.make_environment(
        spec.environment.implementation, spec.environment.config
    )
    try:
        classes = environment.bind(spec.actors)
        observations, _ = environment.reset(seed=spec.seed)
    finally:
        environment.close()
    actor_class = classes[actor]
    if actor_class.action_space is None:
        raise InvalidArgumentError("actor", f"{actor!r} is an observer: it has no actions to learn")
    return actor_class, observations.get(actor, actor_class.observation_space.sample())


def start_rows(store: Any, actor: str, start: Any) -> Rows:
    """The recorded rows of the trials ``start`` (a filter) selects, to clone a first policy."""
    from cogym.datastore.read.query import as_filter

    try:
        flt = as_filter(start, {})
    except InputError as exc:
        raise InvalidArgumentError("start", str(exc)) from None
    if not store.path.exists() or not store.trials(flt):
        raise InvalidArgumentError(
            "start", f"no trial of {store.path} passes {flt}; `cogym trials ls` lists them"
        )
    return recorded_rows(store, actor, flt)
