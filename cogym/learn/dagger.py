"""DAgger (Ross et al., 2011): the learner acts, a teacher labels the states it visits.

    >>> from cogym.learn import dagger
    >>> # model = dagger(spec, actor="player", teacher="python:cogym.bots:CartPoleExpert",
    >>> #                rounds=5, trials_per_round=4, registry="models/", model="cartpole-dagger",
    >>> #                datastore="trials/")
    >>> # [(r.round, r.labels, r.evaluation_return) for r in model.cogym_rounds]

Round ``k`` (from 1) runs ``trials_per_round`` recorded trials of the spec in which ``actor``
is a :class:`~cogym.learn.mixture.MixedActor`: the teacher acts with probability
``beta ** (k - 1)`` (or ``beta(k - 1)``), the latest policy otherwise, and the teacher labels
the states (every one, or with ``query="uncertain"`` those the policy is unsure of). Then a new
policy is trained on every label so far (the aggregated dataset, read back from the
datastore) and published as the next version of ``model``, with lineage: round, labels, trial
ids, teacher, datastore. With the default ``beta=0`` the teacher drives round 1 alone and the
learner every later round, as the paper recommends.

With ``teacher="human"`` a person labels on the human actor's page
(:mod:`cogym.web.teacher`): the page is opened, and its URL printed, before the first round,
and stays the same until the last.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from cogym.errors import TrialError
from cogym.learn.behavior_cloning import fit_policy
from cogym.learn.dagger_plan import TRAINING_DEFAULTS, DaggerPlan, plan_dagger
from cogym.learn.rows import Rows, concatenate, recorded_rows, take
from cogym.learn.teacher import HUMAN

__all__ = ["MIXED_ACTOR", "TRAINING_DEFAULTS", "RoundStats", "dagger"]

MIXED_ACTOR = "python:cogym.learn.mixture:MixedActor"
"""The implementation DAgger's trials give the learner's seat."""


@dataclass(frozen=True)
class RoundStats:
    """What one round of DAgger did."""

    round: int
    beta: float
    trial_ids: tuple[str, ...]
    ticks: int
    """Ticks the actor acted on in this round's trials."""
    queries: int
    """Ticks on which the teacher was asked for a label."""
    budget: float | None
    """The share of the ticks the learner could ask about this round, if it had a budget."""
    labels: int
    """Labels the teacher gave in this round."""
    total_labels: int
    """Labels the round's policy was trained on (this round's and every earlier one's)."""
    teacher_actions: int
    """Ticks on which the teacher's action was the one taken."""
    mean_return: float
    """The actor's mean return in this round's trials (learner and teacher mixed)."""
    model: str
    version: int
    evaluation_return: float | None
    """The round's policy's mean return in new, unrecorded trials (if evaluated)."""
    seconds: float

    @property
    def ref(self) -> str:
        return f"{self.model}@{self.version}"


def dagger(
    spec: Any,
    actor: str,
    teacher: str,
    *,
    registry: Any,
    model: str,
    datastore: Any,
    rounds: int = 5,
    trials_per_round: int = 10,
    beta: float | Callable[[int], float] = 0.0,
    query: str = "always",
    threshold: float = 0.1,
    measure: str = "entropy",
    budget: float | Callable[[int], float] | None = None,
    ensemble: int = 3,
    teacher_config: Mapping[str, Any] | None = None,
    start: Any = None,
    seed: int | None = None,
    workers: int = 1,
    evaluation_trials: int = 0,
    on_round: Callable[[RoundStats], None] | None = None,
    **training: Any,
) -> Any:
    """Train ``actor`` of ``spec`` by DAgger with ``teacher``; return the last round's policy.

    ``spec`` is a :class:`~cogym.TrialSpec`, a mapping or a YAML file; ``teacher`` any actor
    implementation (``python:``, ``sb3:<model>@<ref>``, ...) with ``teacher_config``, or
    ``"human"``: a person on a page (:mod:`cogym.web.teacher`; ``workers`` must be 1). Each
    round's policy becomes the next version of ``model`` in ``registry``; the trials are
    recorded in ``datastore``. ``query="uncertain"`` asks the teacher only where the policy's
    uncertainty (:mod:`cogym.learn.uncertainty`; ``measure`` ``"entropy"``, ``"margin"`` or
    ``"ensemble"`` for discrete actions) is at least ``threshold``. With ``budget`` (a share
    of the ticks, or a function of the round giving one, e.g. falling over the rounds) it also
    asks only about a tick whose uncertainty is among the highest ``budget`` of the trial's
    ticks so far, and about at most ``ceil(budget * ticks so far)`` ticks of a trial: a fixed
    share of the most uncertain states, with ``threshold`` as the floor below which the
    learner is sure enough never to ask. For continuous actions, or ``measure="ensemble"``, the
    policy is trained with ``ensemble - 1`` more members on resampled trials, published as
    versions of ``<model>-ensemble``. A round's ``total_labels`` counts each label once, the
    first round's included; ticks the teacher is not asked about are no labels. ``start`` (a
    trial filter) first clones the trials of ``datastore`` it selects, so round 1 already has
    a learner (their rows count as labels). ``training``
    options go to :func:`~cogym.learn.behavior_cloning.fit_policy` (``epochs``, ...).

    Everything is checked before any trial runs: a bad argument raises
    :class:`~cogym.errors.InvalidArgumentError` naming it, a teacher of other action spaces
    :class:`~cogym.errors.SpaceMismatchError` naming both. The returned SB3 model has
    ``cogym_rounds`` (a :class:`RoundStats` per round) and fine-tunes with RL like a clone.
    """
    started = time.perf_counter()
    plan = plan_dagger(
        spec,
        actor,
        teacher,
        registry=registry,
        model=model,
        datastore=datastore,
        rounds=rounds,
        trials_per_round=trials_per_round,
        beta=beta,
        query=query,
        threshold=threshold,
        measure=measure,
        budget=budget,
        ensemble=ensemble,
        teacher_config=teacher_config,
        start=start,
        seed=seed,
        workers=workers,
        evaluation_trials=evaluation_trials,
        training=training,
    )
    return _run(plan, on_round, started)


@dataclass(frozen=True)
class _Learner:
    """A policy that was published: its version, its ensemble's refs, the model itself."""

    version: int
    ensemble: tuple[str, ...]
    policy: Any


def _run(plan: DaggerPlan, on_round: Callable[[RoundStats], None] | None, started: float) -> Any:
    from cogym.orchestrator import Orchestrator

    parts: list[Rows] = []
    trial_ids: list[str] = []
    learner: _Learner | None = None
    shift = 0
    if plan.start is not None:
        rows = plan.start_rows()
        parts.append(rows)
        trial_ids += rows.trial_ids
        learner = _publish(plan, rows, 0, {"start": repr(plan.start)}, trial_ids)
        shift = 1  # round 1 has a learner: the schedule starts one step further
    stats: list[RoundStats] = []
    with contextlib.ExitStack() as stack:
        if plan.teacher == HUMAN:
            from cogym.web.teacher import teacher_page

            page = stack.enter_context(
                teacher_page(plan.actor, plan.action_space, dict(plan.teacher_config))
            )
            config = {**plan.teacher_config, "page": page.id}  # one page for every round
            plan = dataclasses.replace(plan, teacher_config=config)
        orchestrator = stack.enter_context(
            Orchestrator(datastore=plan.store, registry=plan.registry)
        )
        for k in range(1, plan.rounds + 1):
            round_stats, learner = _round(plan, orchestrator, k, shift, learner, parts, trial_ids)
            stats.append(round_stats)
            if on_round is not None:
                on_round(round_stats)
    policy = learner.policy
    policy.cogym_rounds = tuple(stats)
    policy.cogym_trial_ids = tuple(trial_ids)
    policy.cogym_rows = stats[-1].total_labels
    policy.cogym_seconds = time.perf_counter() - started
    return policy


def _round(
    plan: DaggerPlan,
    orchestrator: Any,
    k: int,
    shift: int,
    learner: _Learner | None,
    parts: list[Rows],
    trial_ids: list[str],
) -> tuple[RoundStats, _Learner]:
    """Round ``k``: trials, their labels joined to ``parts``, a new policy published."""
    began = time.perf_counter()
    beta = plan.beta_of(k - 1 + shift)
    asks = plan.query == "uncertain" and learner is not None
    budget = plan.budget_of(k) if asks and plan.budget is not None else None
    ids, mean_return = _round_trials(plan, orchestrator, k, beta, learner, budget)
    counts = _count(plan.store, plan.actor, ids)
    trial_ids += ids
    if counts["labels"]:
        parts.append(recorded_rows(plan.store, plan.actor, {"ids": ids}, labels="label"))
    if not parts:
        raise TrialError(
            f"round {k}: the teacher {plan.teacher!r} labelled none of the "
            f"{counts['ticks']} ticks, so there is nothing to learn yet"
        )
    rows = concatenate(parts)
    extra: dict[str, Any] = {"beta": beta, "query": plan.query, "threshold": plan.threshold}
    if plan.query == "uncertain":
        extra.update(measure=plan.measure, budget=budget)
    learner = _publish(plan, rows, k, extra, trial_ids)
    evaluation = None
    if plan.evaluation_trials:
        from cogym.learn.clone import evaluate

        evaluation = evaluate(
            plan.spec,
            plan.actor,
            f"sb3:{plan.model}@{learner.version}",
            plan.registry,
            plan.evaluation_trials,
            workers=plan.workers,
        )
    stats = RoundStats(
        round=k,
        beta=beta,
        trial_ids=tuple(ids),
        ticks=counts["ticks"],
        queries=counts["queries"],
        budget=budget,
        labels=counts["labels"],
        total_labels=rows.rows,
        teacher_actions=counts["teacher_actions"],
        mean_return=mean_return,
        model=plan.model,
        version=learner.version,
        evaluation_return=evaluation,
        seconds=time.perf_counter() - began,
    )
    return stats, learner


def _round_trials(
    plan: DaggerPlan,
    orchestrator: Any,
    k: int,
    beta: float,
    learner: _Learner | None,
    budget: float | None,
) -> tuple[list[str], float]:
    """Run round ``k``'s trials; their ids and the actor's mean return."""
    config: dict[str, Any] = {
        "teacher": plan.teacher,
        "teacher_config": plan.teacher_config,
        "learner": None if learner is None else f"sb3:{plan.model}@{learner.version}",
        "registry": plan.registry.root,
        "beta": beta,
        "query": plan.query,
        "threshold": plan.threshold,
        "budget": budget,
        "measure": plan.measure,
        "ensemble": [] if learner is None else [f"sb3:{ref}" for ref in learner.ensemble],
        "round": k,
    }
    tags = {**plan.spec.tags, "dagger": plan.model, "dagger_round": k}
    spec = plan.spec.replace_actor(plan.actor, implementation=MIXED_ACTOR, config=config)
    spec = spec.replace(seed=plan.seed + (k - 1) * plan.trials_per_round, tags=tags)
    results = orchestrator.run_many(spec, plan.trials_per_round, workers=plan.workers)
    failed = [r for r in results if r.state.value != "ended"]
    if failed:
        raise TrialError(
            f"round {k}: trial {failed[0].trial_id} {failed[0].state.value} "
            f"({len(failed)} of {len(results)}): {failed[0].error}"
        )
    returns = [r.returns[plan.actor] for r in results]
    return [r.trial_id for r in results], float(np.mean(returns))


def _count(store: Any, actor: str, trial_ids: list[str]) -> dict[str, int]:
    """Ticks, queries, labels and teacher actions of the actor in these trials, from its notes."""
    counts = {"ticks": 0, "queries": 0, "labels": 0, "teacher_actions": 0}
    for trial_id in trial_ids:
        for by_actor in store.trial(trial_id).annotations.values():
            note = by_actor.get(actor)
            if not isinstance(note, Mapping):
                continue
            counts["ticks"] += 1
            counts["queries"] += bool(note.get("asked"))
            counts["labels"] += "label" in note
            counts["teacher_actions"] += note.get("by") == "teacher"
    return counts


def _publish(
    plan: DaggerPlan, rows: Rows, k: int, extra: dict[str, Any], trial_ids: list[str]
) -> _Learner:
    """Train on ``rows``, publish the policy (and its ensemble); its version, ensemble refs, it."""
    seed = plan.seed + 7919 * k
    policy = fit_policy(rows, actor=plan.actor, seed=seed, **plan.training)
    members: list[str] = []
    if plan.trains_ensemble:
        for m in range(1, plan.ensemble):
            member = fit_policy(
                _resampled(rows, seed + m), actor=plan.actor, seed=seed + m, **plan.training
            )
            saved = plan.registry.save(
                f"{plan.model}-ensemble",
                member,
                properties={"trained_by": "dagger", "member_of": plan.model, "round": k},
            )
            members.append(saved.ref)
    lineage = {
        "round": k,
        "labels": rows.rows,
        "trial_ids": list(trial_ids),
        "teacher": plan.teacher,
        "datastore": str(plan.store.path),
        "actor": plan.actor,
        **extra,
    }
    if members:
        lineage["ensemble"] = members
    saved = plan.registry.save(
        plan.model,
        policy,
        metrics={"labels": rows.rows},
        properties={"trained_by": "dagger", "actor": plan.actor, "round": k},
        lineage=lineage,
    )
    return _Learner(saved.version, tuple(members), policy)


def _resampled(rows: Rows, seed: int) -> Rows:
    """The rows of trials drawn with replacement (a bootstrap sample, for ensemble members)."""
    rng = np.random.default_rng(seed)
    count = len(rows.offsets) - 1
    chosen = rng.integers(0, count, count)
    index = np.concatenate(
        [np.arange(rows.offsets[t], rows.offsets[t + 1]) for t in chosen]
    ).astype(np.int64)
    lengths = np.diff(rows.offsets)[chosen]
    return Rows(
        take(rows.observations, index),
        rows.actions[index],
        np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        tuple(f"{rows.trial_ids[t]}#{i}" for i, t in enumerate(chosen)),
        rows.observation_space,
        rows.action_space,
    )
