"""Teacher labels DAgger needs against behaviour cloning, with and without active queries.

For each task (CartPole-v1 with ``cogym.bots:CartPoleExpert``, LunarLander-v3 with Gymnasium's
own heuristic controller) three learners get labels from the same teacher:

- behaviour cloning on 1, 2, 4 ... recorded demonstration trials of the teacher (every tick of
  a demonstration is a label);
- DAgger labelling every state the learner visits (``query="always"``);
- DAgger with active queries (``query="uncertain"``).

Every policy is evaluated on the same new trials (seeds from ``EVALUATION_SEED``) as the
teacher, and the benchmark reports the labels each learner needed to reach 95% of the
teacher's mean return there (the median over ``repeats`` runs with different seeds), and
plots return against labels in ``bench/figures/dagger.png``.
"""

from __future__ import annotations

import math
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.harness import Figure
from cogym import Orchestrator, TrialSpec

FIGURE = Path(__file__).resolve().parent / "figures" / "dagger.png"
SHARE = 0.95


@dataclass(frozen=True)
class Task:
    name: str
    environment: str
    teacher: str
    demonstrations: tuple[int, ...]
    rounds: int
    trials_per_round: int
    threshold: float
    targets: bool
    """Whether the issue's targets (1/3 and 1/2) are held to this task."""
    measure: str = "entropy"
    budget: float | None = None
    """Active queries' share of each trial's ticks (``dagger(budget=...)``)."""

    @property
    def rule(self) -> str:
        """The active queries' rule, in words."""
        if self.budget is None:
            return f"{self.measure} >= {self.threshold}"
        floor = f", {self.measure} >= {self.threshold}" if self.threshold > 0 else ""
        return f"the most uncertain {self.budget:.0%} of each trial by {self.measure}{floor}"


@dataclass
class Curve:
    learner: str
    labels: list[int] = field(default_factory=list)
    returns: list[float] = field(default_factory=list)

    def add(self, labels: int, value: float) -> None:
        self.labels.append(int(labels))
        self.returns.append(float(value))

    def labels_to_reach(self, target: float) -> float:
        for labels, value in zip(self.labels, self.returns, strict=True):
            if value >= target:
                return float(labels)
        return math.nan


TASKS = (
    Task("CartPole-v1", "gym:CartPole-v1", "python:cogym.bots:CartPoleExpert",
         (1, 2, 4, 8), 5, 1, 0.2, False),
    Task("LunarLander-v3", "gym:LunarLander-v3", "python:cogym.bots:LunarLanderHeuristic",
         (1, 2, 4, 8, 16, 32, 64), 16, 1, 0.0, True, "entropy", 0.3),
)
QUICK = {"CartPole-v1": ((1, 2, 4), 4), "LunarLander-v3": ((1, 2, 4, 8, 16), 8)}
"""Shorter settings of ``--quick``: demonstration counts and rounds."""


def _spec(task: Task, seed: int) -> TrialSpec:
    return TrialSpec.from_dict(
        {
            "environment": {"implementation": task.environment},
            "actors": [{"name": "pilot", "implementation": task.teacher}],
            "seed": seed,
        }
    )


def _bc_curve(task: Task, root: Path, seed: int, evaluation: int, target: float) -> Curve:
    """Clone 1, 2, 4 ... demonstrations until one more count past the first that reaches
    ``target`` (or the largest count)."""
    from cogym.datastore import HDF5Datastore
    from cogym.learn import fit_policy
    from cogym.learn.clone import evaluate
    from cogym.learn.dagger import TRAINING_DEFAULTS
    from cogym.learn.rows import recorded_rows
    from cogym.registry import ModelRegistry

    store = HDF5Datastore(root / "bc-trials")
    registry = ModelRegistry(root / "models")
    with Orchestrator(datastore=store) as orchestrator:
        results = orchestrator.run_many(_spec(task, seed), max(task.demonstrations))
    ids = [r.trial_id for r in results]
    curve = Curve("behaviour cloning")
    for count in task.demonstrations:
        rows = recorded_rows(store, "pilot", {"ids": ids[:count]})
        policy = fit_policy(rows, actor="pilot", seed=seed, **TRAINING_DEFAULTS)
        version = registry.save("bc", policy).version
        value = evaluate(_spec(task, seed), "pilot", f"sb3:bc@{version}", registry, evaluation)
        curve.add(rows.rows, value)
        reached = [v >= target for v in curve.returns]
        if sum(reached) >= 2:
            break
    return curve


def _dagger_curve(task: Task, root: Path, seed: int, evaluation: int, query: str) -> Curve:
    from cogym.learn import dagger

    curve = Curve("DAgger" if query == "always" else "DAgger, active queries")
    dagger(
        _spec(task, seed),
        "pilot",
        task.teacher,
        registry=root / "models",
        model=f"dagger-{query}",
        datastore=root / f"{query}-trials",
        rounds=task.rounds,
        trials_per_round=task.trials_per_round,
        query=query,
        threshold=task.threshold,
        measure=task.measure,
        budget=task.budget if query == "uncertain" else None,
        seed=seed,
        evaluation_trials=evaluation,
        on_round=lambda stats: curve.add(stats.total_labels, stats.evaluation_return),
    )
    return curve


def _run_task(task: Task, repeats: int, evaluation: int) -> tuple[float, list[list[Curve]]]:
    from cogym.learn.clone import evaluate

    teacher = evaluate(_spec(task, 0), "pilot", task.teacher, None, evaluation)
    target = SHARE * teacher
    runs = []
    for repeat in range(repeats):
        seed = 1000 * repeat
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            runs.append(
                [
                    _bc_curve(task, root, seed, evaluation, target),
                    _dagger_curve(task, root, seed, evaluation, "always"),
                    _dagger_curve(task, root, seed, evaluation, "uncertain"),
                ]
            )
    return teacher, runs


def _median(values: list[float]) -> float:
    """The median, ``nan`` (never reached) counting as more than any number."""
    ordered = sorted(values, key=lambda v: math.inf if math.isnan(v) else v)
    middle = ordered[len(ordered) // 2] if len(ordered) % 2 else None
    if middle is not None:
        return middle
    low, high = ordered[len(ordered) // 2 - 1], ordered[len(ordered) // 2]
    return math.nan if math.isnan(high) else statistics.mean([low, high])


def _figures(task: Task, teacher: float, runs: list[list[Curve]], seconds: float) -> list[Figure]:
    target = SHARE * teacher
    needed = [[c.labels_to_reach(target) for c in run] for run in runs]
    bc, always, uncertain = (_median([n[i] for n in needed]) for i in range(3))
    per_run = "; ".join(
        f"run {k + 1}: BC {_n(n[0])}, DAgger {_n(n[1])}, active {_n(n[2])}"
        for k, n in enumerate(needed)
    )
    note = (
        f"teacher return {teacher:.1f}, target {target:.1f}; medians of {len(runs)} run(s) "
        f"({per_run}); {seconds:.0f} s"
    )
    name = f"{task.name}: teacher labels to reach {SHARE:.0%} of the teacher's return"
    return [
        Figure(
            f"{name}, DAgger", "labels", "behaviour cloning on demonstrations", bc, always,
            False, target=1 / 3 if task.targets else None, note=note,
            samples={"baseline": [n[0] for n in needed], "cogym": [n[1] for n in needed]},
        ),
        Figure(
            f"{name}, DAgger with active queries ({task.rule})", "labels",
            "DAgger labelling every tick", always, uncertain, False,
            target=0.5 if task.targets else None, note=note,
            samples={"baseline": [n[1] for n in needed], "cogym": [n[2] for n in needed]},
        ),
    ]


def _n(value: float) -> str:
    return "not reached" if math.isnan(value) else f"{value:,.0f}"


def _plot(results: list[tuple[Task, float, list[list[Curve]]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 4.2))
    colours = {"behaviour cloning": "tab:gray", "DAgger": "tab:blue",
               "DAgger, active queries": "tab:orange"}
    for axis, (task, teacher, runs) in zip(axes, results, strict=True):
        for k, run in enumerate(runs):
            for curve in run:
                axis.plot(
                    curve.labels, curve.returns, marker="o", markersize=3,
                    color=colours[curve.learner], alpha=1.0 if k == 0 else 0.35,
                    label=curve.learner if k == 0 else None,
                )
        axis.axhline(teacher, color="black", linewidth=1, label="teacher")
        axis.axhline(SHARE * teacher, color="black", linewidth=1, linestyle="--",
                     label=f"{SHARE:.0%} of the teacher")
        lowest = min(min(c.returns) for run in runs for c in run)
        if lowest < 0.4 * teacher:  # the first rounds' crashes would flatten the rest
            axis.set_ylim(bottom=0.4 * teacher, top=teacher + 0.1 * abs(teacher))
            axis.text(0.02, 0.02, "returns below the axis not shown", transform=axis.transAxes,
                      fontsize=7, color="gray")
        axis.set_xscale("log")
        axis.set_xlabel("teacher labels")
        axis.set_ylabel("mean return of the policy")
        axis.set_title(task.name)
        axis.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def dagger_labels(quick: bool) -> list[Figure]:
    """Labels to reach 95% of the teacher: BC, DAgger, DAgger with active queries."""
    import dataclasses

    repeats = 1 if quick else 3
    evaluation = 30 if quick else 100
    figures: list[Figure] = []
    results = []
    for listed in TASKS:
        task = listed
        if quick:
            counts, rounds = QUICK[listed.name]
            task = dataclasses.replace(listed, demonstrations=counts, rounds=rounds)
        started = time.perf_counter()
        teacher, runs = _run_task(task, repeats, evaluation)
        results.append((task, teacher, runs))
        figures += _figures(task, teacher, runs, time.perf_counter() - started)
    _plot(results, FIGURE)
    _save(results, evaluation, quick, FIGURE.with_suffix(".json"))
    return figures


def _save(results: list[tuple[Task, float, list[list[Curve]]]], evaluation: int, quick: bool,
          path: Path) -> None:
    """The curves behind the plot, as JSON."""
    import json

    payload = {
        "evaluation_trials": evaluation,
        "quick": quick,
        "tasks": [
            {
                "task": task.name,
                "teacher": task.teacher,
                "teacher_return": teacher,
                "target": SHARE * teacher,
                "threshold": task.threshold,
                "measure": task.measure,
                "budget": task.budget,
                "runs": [
                    {c.learner: {"labels": c.labels, "returns": c.returns} for c in run}
                    for run in runs
                ],
            }
            for task, teacher, runs in results
        ],
    }
    path.write_text(json.dumps(payload, indent=1))


BENCHMARKS = {"dagger": dagger_labels}
