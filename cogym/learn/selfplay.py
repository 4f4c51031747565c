"""Self-play: an SB3 policy trained against frozen past versions of itself from the registry.

:func:`selfplay` seats the learner (``actor``) as the external actor of a
:class:`~cogym.wrappers.TrialGymEnv` and, before each trial, seats in every opponent seat one
published version of the model being trained (``sb3:<model>@<version>``), chosen by
``opponent_sampling``:

- ``latest``: the newest snapshot;
- ``uniform``: any snapshot, equally likely;
- ``prioritised``: snapshots the learner beats least often, more often (AlphaStar's
  prioritised fictitious self-play: weight ``(1 - score) ** 2``, the score being the learner's
  share of points, a draw counting half, against that snapshot so far; one not yet played
  counts as 0.5).

Until the first snapshot the opponents are ``first_opponent`` (``random`` by default), and
after it they still are in a ``first_opponent_share`` of the trials (a fixed baseline kept in
the league, so that the learner does not unlearn how to beat it). Every
``snapshot_every`` environment steps, and at the end, the learner is published as the next
version of ``model``, with its results against each snapshot and the snapshot it followed as
lineage. Opponents sample their actions (``deterministic: false``) so that the learner meets
varied play. Where the learner's observation carries an ``action_mask`` and its actions are
discrete, sb3-contrib's ``MaskablePPO`` trains (extra ``selfplay``), else ``PPO``.

>>> # policy = selfplay("c4.yaml", actor="player_0", opponents="player_1", model="c4",
>>> #                   registry="models/", total_timesteps=50_000, snapshot_every=10_000)
>>> # policy.cogym_snapshots   # [Snapshot(version=1, timesteps=10000, ...), ...]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

from cogym.errors import ArgumentError, InputError, SpecError, suggest
from cogym.orchestrator import Orchestrator
from cogym.registry.store import ModelRegistry, as_registry
from cogym.spec import TrialSpec
from cogym.tasks import TrialEvent

__all__ = ["SAMPLING", "OpponentPool", "Snapshot", "selfplay"]

SAMPLING = ("latest", "uniform", "prioritised")
_TAG = "selfplay_opponent"


@dataclass(frozen=True)
class Snapshot:
    """A published version of the learner: when, and how it fared against earlier ones."""

    version: int
    timesteps: int
    ref: str
    scores: Mapping[str, float] = field(default_factory=dict)
    """The learner's share of points against each opponent met since the previous snapshot."""


class OpponentPool:
    """Chooses each trial's opponent among the snapshots, and keeps the learner's scores.

    It is the orchestrator's pre-trial hook: ``pool(spec, index)`` seats the chosen
    implementation in every opponent seat and tags the trial with it (``selfplay_opponent``).
    """

    def __init__(
        self,
        model: str,
        seats: Sequence[str],
        sampling: str,
        first_opponent: str,
        seed: int | None = None,
        first_opponent_share: float = 0.0,
        learner: str = "",
    ) -> None:
        self.model = model
        self.learner = learner
        self.first_opponent_share = first_opponent_share
        self.seats = tuple(seats)
        self.sampling = sampling
        self.first_opponent = first_opponent
        self.versions: list[int] = []
        self.points: dict[str, list[float]] = {}
        self._rng = np.random.default_rng(seed)

    def implementation(self, version: int) -> str:
        return f"sb3:{self.model}@{version}"

    def choose(self) -> str:
        """The implementation the next trial's opponents play."""
        if not self.versions or self._rng.random() < self.first_opponent_share:
            return self.first_opponent
        if self.sampling == "latest":
            return self.implementation(self.versions[-1])
        names = [self.implementation(v) for v in self.versions]
        if self.sampling == "uniform":
            return names[int(self._rng.integers(len(names)))]
        weights = np.array([(1.0 - self.score(n, 0.5)) ** 2 + 1e-3 for n in names])
        return names[int(self._rng.choice(len(names), p=weights / weights.sum()))]

    def score(self, implementation: str, unknown: float = float("nan")) -> float:
        """The learner's share of points against ``implementation`` so far."""
        points = self.points.get(implementation)
        return float(np.mean(points)) if points else unknown

    def record(self, implementation: str, points: float) -> None:
        self.points.setdefault(implementation, []).append(points)

    def __call__(self, spec: TrialSpec, index: int) -> TrialSpec:
        chosen = self.choose()
        config = {"deterministic": False} if chosen.startswith("sb3:") else {}
        for seat in self.seats:
            spec = spec.replace_actor(seat, implementation=chosen, config=config)
        return spec.replace(tags={**spec.tags, _TAG: chosen})

    def observe(self, event: TrialEvent) -> None:
        """An orchestrator's trial event: an ended trial's points go to its opponent's score
        (trials terminated early, as by a reset, count for nobody)."""
        result = event.result
        if event.kind != "ended" or result is None or _TAG not in result.spec.tags:
            return
        learner = [a.name for a in result.spec.actors if a.name not in self.seats]
        mine = sum(float(result.returns.get(n, 0.0)) for n in learner)
        best = max(float(result.returns.get(s, 0.0)) for s in self.seats)
        self.record(
            str(result.spec.tags[_TAG]), 1.0 if mine > best else 0.5 if mine == best else 0.0
        )

    def __repr__(self) -> str:
        return (
            f"OpponentPool({self.model!r}, {self.sampling}, snapshots={len(self.versions)}, "
            f"first={self.first_opponent!r})"
        )


def _masked(observation_space: spaces.Space, action_space: spaces.Space) -> bool:
    return (
        isinstance(observation_space, spaces.Dict)
        and "action_mask" in observation_space.spaces
        and isinstance(action_space, spaces.Discrete)
    )


def _algorithm(masked: bool) -> type:
    if not masked:
        from stable_baselines3 import PPO

        return PPO
    try:
        from sb3_contrib import MaskablePPO
    except ImportError:
        raise InputError(
            "the learner's observation carries an action_mask, and training with it needs "
            "sb3-contrib's MaskablePPO: pip install 'cogym[selfplay]'"
        ) from None
    return MaskablePPO


def _check(
    spec: TrialSpec, actor: str, seats: tuple[str, ...], sampling: str, every: int, total: int
) -> None:
    names = [a.name for a in spec.actors]
    for role, name in [("actor", actor)] + [("opponents", s) for s in seats]:
        if name not in names:
            raise ArgumentError(
                f"{role}: {name!r} is not an actor of the spec.{suggest(name, names)} Actors: "
                f"{', '.join(names)}"
            )
    if actor in seats or not seats:
        raise ArgumentError(
            f"opponents {list(seats)} must be one or more actors other than the learner {actor!r}"
        )
    if sampling not in SAMPLING:
        raise ArgumentError(
            f"opponent_sampling must be one of {', '.join(SAMPLING)}, got {sampling!r}"
        )
    for what, value in (("snapshot_every", every), ("total_timesteps", total)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ArgumentError(f"{what} must be an int of at least 1, got {value!r}")


def selfplay(
    spec: TrialSpec | Mapping[str, Any] | str | Path,
    actor: str = "player_0",
    opponents: str | Sequence[str] = "player_1",
    *,
    model: str,
    registry: ModelRegistry | str,
    total_timesteps: int = 100_000,
    snapshot_every: int = 10_000,
    opponent_sampling: str = "latest",
    first_opponent: str = "random",
    first_opponent_share: float = 0.0,
    algorithm_options: Mapping[str, Any] | None = None,
    n_envs: int = 1,
    datastore: Any = None,
    seed: int | None = 0,
) -> Any:
    """Train ``actor`` by self-play against snapshots of itself; see the module docstring.

    Returns the trained SB3 model; its ``cogym_snapshots`` lists each :class:`Snapshot`
    published. ``algorithm_options`` go to the algorithm's constructor (``n_steps``,
    ``learning_rate``...); ``datastore`` records every training trial. With ``n_envs`` above
    1 the learner trains on a :class:`~cogym.wrappers.TrialVecEnv` of that many trials in
    lockstep, whose opponents of one snapshot act in one batched forward pass per tick.
    """
    from stable_baselines3.common.callbacks import BaseCallback

    from cogym.wrappers import TrialGymEnv, TrialVecEnv

    if not isinstance(spec, TrialSpec):
        spec = TrialSpec.from_dict(spec) if isinstance(spec, Mapping) else TrialSpec.from_yaml(spec)
    seats = (opponents,) if isinstance(opponents, str) else tuple(opponents)
    _check(spec, actor, seats, opponent_sampling, snapshot_every, total_timesteps)
    if isinstance(n_envs, bool) or not isinstance(n_envs, int) or n_envs < 1:
        raise ArgumentError(f"n_envs must be an int of at least 1, got {n_envs!r}")
    models = as_registry(registry)
    if models is None:
        raise InputError("selfplay needs a registry (a directory or a ModelRegistry)")
    spec = spec.replace_actor(actor, implementation="external", config={})
    if not 0.0 <= first_opponent_share < 1.0:
        raise ArgumentError(
            f"first_opponent_share must be at least 0 and below 1, got {first_opponent_share!r}"
        )
    pool = OpponentPool(
        model, seats, opponent_sampling, first_opponent, seed, first_opponent_share, actor
    )
    spec = pool(spec, 0)  # the spec validated up front seats the first opponent
    orchestrator = Orchestrator(registry=models, hooks=[pool], datastore=datastore)
    orchestrator.subscribe(pool.observe)
    try:
        if n_envs == 1:
            env: Any = TrialGymEnv(spec, orchestrator=orchestrator)
        else:
            env = TrialVecEnv(spec, n_envs, orchestrator=orchestrator)
    except SpecError:
        orchestrator.close()
        raise
    masked = _masked(env.observation_space, env.action_space)
    policy = "MultiInputPolicy" if isinstance(env.observation_space, spaces.Dict) else "MlpPolicy"
    options = {"device": "cpu", "seed": seed, **(algorithm_options or {})}
    learner = _algorithm(masked)(policy, env, **options)
    snapshots: list[Snapshot] = []

    def publish(timesteps: int) -> None:
        since = {name: pool.score(name) for name in pool.points}
        parent = snapshots[-1].ref if snapshots else None
        info = models.save(
            model,
            learner,
            metrics={"timesteps": timesteps, "scores": since},
            lineage={
                "selfplay": {
                    "actor": actor,
                    "opponents": list(seats),
                    "sampling": opponent_sampling,
                    "environment": spec.environment.implementation,
                },
                "parent": parent,
            },
        )
        version = int(info.version)
        snapshots.append(Snapshot(version, timesteps, f"{model}@{version}", since))
        pool.versions.append(version)
        pool.points.clear()

    class _Snapshots(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.last = 0

        def _on_step(self) -> bool:
            if self.num_timesteps - self.last >= snapshot_every:
                self.last = self.num_timesteps
                publish(self.num_timesteps)
            return True

    callback = _Snapshots()
    try:
        learner.learn(total_timesteps, callback=callback)
        if callback.last != learner.num_timesteps:
            publish(learner.num_timesteps)
    finally:
        env.close()
        orchestrator.close()
    learner.cogym_snapshots = snapshots
    return learner
