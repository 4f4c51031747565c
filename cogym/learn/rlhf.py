"""RL from a judge's preferences (Christiano et al., 2017): :func:`rlhf`.

    >>> from cogym.learn import oracle, rlhf
    >>> # policy, reward = rlhf("cartpole.yaml", actor="player", judge=oracle(), iterations=3,
    >>> #                       queries_per_iteration=60, timesteps_per_iteration=20_000,
    >>> #                       registry="models/", model="cartpole-rlhf", datastore="trials/")
    >>> # [(i.iteration, i.preferences, i.true_return) for i in policy.cogym_iterations]

Each iteration ``k`` (from 1):

1. *collect*: ``trials_per_iteration`` recorded trials of the spec in which ``actor`` plays the
   latest policy (before the first, the spec's own implementation; ``random`` for an
   ``external`` one), tagged ``rlhf=<model>`` and ``rlhf_iteration=k``. For a judge that
   watches clips (``shows_clips``, as a person on the page) the trials record their frames;
2. *ask*: :func:`~cogym.learn.propose_queries` draws ``queries_per_iteration`` pairs of
   segments from every trial collected so far (``select="disagreement"``: where the latest
   reward model's ensemble disagrees most), and the judge answers them: the oracle's answers
   are stored with ``datastore.add_preference``, a person's are stored by the page as given;
3. *fit*: a reward model is fitted to every answer of this run
   (:func:`~cogym.learn.reward_model`) and published as the next version of ``<model>-reward``;
4. *train*: the policy (PPO unless told otherwise) goes on learning for
   ``timesteps_per_iteration`` steps through :class:`~cogym.wrappers.TrialGymEnv` trials in
   which a ``reward:<model>-reward@<version>`` observer with ``replace_env_reward`` sends the
   learnt reward, so the environment's reward is hidden from the learner (only the judge sees
   it, in the recorded trials); it is published as the next version of ``<model>``.

Both versions carry their lineage: the iteration, the preferences (count and query ids), the
trials, the judge and the datastore; the policy's also names the reward model it learnt on.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cogym.errors import InputError, TrialError
from cogym.learn.judges import Judge, resolve_judge
from cogym.learn.queries import SELECTIONS, propose_queries
from cogym.learn.reward_model import RewardModel, one_thread, reward_model

if TYPE_CHECKING:
    from cogym.datastore import HDF5Datastore
    from cogym.registry import ModelRegistry
    from cogym.spec import TrialSpec

__all__ = ["ALGORITHMS", "IterationStats", "rlhf"]

ALGORITHMS = ("PPO", "A2C", "SAC", "TD3", "DQN")
"""The Stable-Baselines3 algorithms :func:`rlhf` trains (by name)."""
OBSERVER = "learnt_reward"
"""The name of the observer that sends the learnt reward in the training trials."""


@dataclass(frozen=True)
class IterationStats:
    """What one iteration of :func:`rlhf` did."""

    iteration: int
    trial_ids: tuple[str, ...]
    """The trials collected in this iteration."""
    true_return: float
    """The mean return from the environment of those trials (the policy so far, as it acts
    when collecting)."""
    queries: int
    answers: int
    """Answers given this iteration (a person may skip queries)."""
    preferences: int
    """Preferences the reward model was fitted to (this run's, so far)."""
    reward_ref: str
    policy_ref: str
    timesteps: int
    """The policy's environment steps so far."""
    seconds: float


def _spec(spec: TrialSpec | Mapping[str, Any] | str | Path) -> TrialSpec:
    from cogym.spec import TrialSpec

    if isinstance(spec, TrialSpec):
        return spec
    if isinstance(spec, Mapping):
        return TrialSpec.from_dict(dict(spec))
    return TrialSpec.from_yaml(spec)


def _check(
    spec: TrialSpec, actor: str, iterations: int, queries: int, timesteps: int, trials: int,
    select: str, algorithm: str,
) -> None:  # fmt: skip
    try:
        spec.actor(actor)
    except KeyError as exc:
        raise InputError(str(exc.args[0])) from None
    problems = [
        (name, value) for name, value in (
            ("iterations", iterations), ("queries_per_iteration", queries),
            ("timesteps_per_iteration", timesteps), ("trials_per_iteration", trials),
        ) if not isinstance(value, int) or value < 1
    ]  # fmt: skip
    if problems:
        name, value = problems[0]
        raise InputError(f"{name} must be a whole number of at least 1, got {value!r}")
    if select not in SELECTIONS:
        raise InputError(f"select must be one of {', '.join(SELECTIONS)}, got {select!r}")
    if algorithm not in ALGORITHMS:
        raise InputError(f"algorithm must be one of {', '.join(ALGORITHMS)}, got {algorithm!r}")
    if OBSERVER in {a.name for a in spec.actors}:
        raise InputError(
            f"the spec has an actor named {OBSERVER!r}, the name rlhf gives the observer that "
            "sends the learnt reward; rename it"
        )


def _collection_spec(spec: TrialSpec, actor: str, person: bool) -> TrialSpec:
    """The spec whose trials are collected: frames recorded for a person, whose page plays
    them (a Gymnasium or PettingZoo env is told to render RGB arrays)."""
    if spec.actor(actor).implementation == "external":
        spec = spec.replace_actor(actor, implementation="random", config={})
    if not person or spec.record_frames:
        return spec
    environment = spec.environment.model_dump(mode="json")
    implementation = environment["implementation"]
    if implementation.startswith(("gym:", "pettingzoo:")):
        environment["config"] = {"render_mode": "rgb_array", **environment.get("config", {})}
    return spec.replace(record_frames=True, environment=environment)


def _training_spec(spec: TrialSpec, actor: str, reward_ref: str) -> TrialSpec:
    """The spec PPO trains on: ``actor`` external, and the learnt reward replacing the
    environment's."""
    spec = spec.replace_actor(actor, implementation="external", config={})
    observer = {
        "name": OBSERVER, "actor_class": "observer", "implementation": f"reward:{reward_ref}",
        "config": {"receiver": actor, "replace_env_reward": True},
    }  # fmt: skip
    actors = [a.model_dump(mode="json") for a in spec.actors] + [observer]
    return spec.replace(actors=actors, datastore=None)


def rlhf(
    spec: TrialSpec | Mapping[str, Any] | str | Path,
    actor: str = "player",
    judge: Judge | str = "oracle",
    *,
    iterations: int = 5,
    queries_per_iteration: int = 50,
    timesteps_per_iteration: int = 10_000,
    trials_per_iteration: int = 8,
    segment: int = 50,
    select: str = "random",
    registry: ModelRegistry | str,
    model: str,
    datastore: HDF5Datastore | str,
    algorithm: str = "PPO",
    algorithm_options: Mapping[str, Any] | None = None,
    n_envs: int = 1,
    reward_options: Mapping[str, Any] | None = None,
    seed: int | None = None,
    on_iteration: Callable[[IterationStats], None] | None = None,
) -> tuple[Any, RewardModel]:
    """Train ``actor``'s policy on a reward learnt from ``judge``'s preferences; see the module.

    ``judge`` is :func:`~cogym.learn.oracle` (or ``"oracle"``), ``"person"`` (the preference
    page, ``cogym.web.prefer.PersonJudge``) or any :class:`~cogym.learn.Judge`.
    ``algorithm_options`` go to the Stable-Baselines3 algorithm's constructor (``n_steps``,
    ``learning_rate``, ...), ``reward_options`` to :func:`~cogym.learn.reward_model`
    (``ensemble``, ``hidden``, ``epochs``, ...); ``n_envs`` training trials run side by side.
    Returns the policy (its ``cogym_iterations`` holds each :class:`IterationStats`) and the
    last reward model; both are in ``registry``, as ``model`` and ``<model>-reward``.
    """
    from cogym.datastore import HDF5Datastore
    from cogym.registry.store import as_registry

    spec = _spec(spec)
    _check(spec, actor, iterations, queries_per_iteration, timesteps_per_iteration,
           trials_per_iteration, select, algorithm)  # fmt: skip
    models = as_registry(registry)
    if models is None:
        raise InputError("rlhf needs a registry (a directory or a ModelRegistry)")
    store = datastore if isinstance(datastore, HDF5Datastore) else HDF5Datastore(datastore)
    resolved = resolve_judge(judge)
    person = bool(getattr(resolved, "shows_clips", False))
    run = _Run(spec, actor, resolved, models, model, store, seed if seed is not None else 0,
               algorithm, dict(algorithm_options or {}), n_envs, dict(reward_options or {}),
               person)  # fmt: skip
    with contextlib.ExitStack() as stack:
        close = getattr(resolved, "close", None)
        if callable(close) and resolved is not judge:
            stack.callback(close)
        stack.callback(run.close)
        stack.enter_context(one_thread())
        for k in range(1, iterations + 1):
            stats = run.iteration(k, queries_per_iteration, timesteps_per_iteration,
                                  trials_per_iteration, segment, select)  # fmt: skip
            if on_iteration is not None:
                on_iteration(stats)
    policy = run.policy
    policy.cogym_iterations = tuple(run.stats)
    policy.cogym_trial_ids = tuple(run.trial_ids)
    assert run.reward is not None
    return policy, run.reward


class _Run:
    """The state of one :func:`rlhf` run between its iterations."""

    def __init__(
        self, spec: TrialSpec, actor: str, judge: Judge, registry: ModelRegistry, model: str,
        store: HDF5Datastore, seed: int, algorithm: str, options: dict[str, Any], n_envs: int,
        reward_options: dict[str, Any], person: bool,
    ) -> None:  # fmt: skip
        from cogym.orchestrator import Orchestrator

        self.spec, self.actor, self.judge = spec, actor, judge
        self.registry, self.model, self.store, self.seed = registry, model, store, seed
        self.algorithm, self.options, self.n_envs = algorithm, options, n_envs
        self.reward_options = reward_options
        self.collecting = _collection_spec(spec, actor, person)
        self.orchestrator = Orchestrator(datastore=store, registry=registry)
        self.policy: Any = None
        self.policy_ref: str | None = None
        self.reward: RewardModel | None = None
        self.trial_ids: list[str] = []
        self.stats: list[IterationStats] = []
        self.answered = 0
        self._env: Any = None
        self.judge_name = str(getattr(judge, "name", None) or getattr(judge, "judge", None)
                              or type(judge).__name__)  # fmt: skip

    def close(self) -> None:
        if self._env is not None:
            self._env.close()
        self.orchestrator.close()

    def iteration(
        self, k: int, queries: int, timesteps: int, trials: int, segment: int, select: str
    ) -> IterationStats:
        started = time.perf_counter()
        ids, true_return = self._collect(k, trials)
        self.trial_ids += ids
        asked = propose_queries(
            self.store, self.actor, queries, segment=segment,
            select=select if self.reward is not None else "random", reward=self.reward,
            seed=self.seed + 104_729 * k, ids=self.trial_ids,
        )  # fmt: skip
        answers = self._ask(asked)
        lineage = {"rlhf": self.model, "iteration": k, "judge": self.judge_name}
        self.reward = reward_model(
            self.store, self.actor, feedback=False, trial_ids=self.trial_ids,
            registry=self.registry, model=f"{self.model}-reward", seed=self.seed + k,
            lineage=lineage, **self.reward_options,
        )  # fmt: skip
        assert self.reward.ref is not None
        self._train(k, timesteps)
        self.stats.append(IterationStats(
            k, tuple(ids), true_return, len(asked), answers,
            int(self.reward.lineage["preference_count"]), self.reward.ref,
            str(self.policy_ref), int(self.policy.num_timesteps), time.perf_counter() - started,
        ))  # fmt: skip
        return self.stats[-1]

    def _collect(self, k: int, trials: int) -> tuple[list[str], float]:
        spec = self.collecting
        if self.policy_ref is not None:
            spec = spec.replace_actor(self.actor, implementation=f"sb3:{self.policy_ref}",
                                      config={"deterministic": False})  # fmt: skip
        tags = {**spec.tags, "rlhf": self.model, "rlhf_iteration": k}
        spec = spec.replace(seed=self.seed + (k - 1) * trials, tags=tags)
        results = self.orchestrator.run_many(spec, trials)
        failed = [r for r in results if r.state.value != "ended"]
        if failed:
            raise TrialError(
                f"rlhf iteration {k}: trial {failed[0].trial_id} {failed[0].state.value} "
                f"({len(failed)} of {len(results)}): {failed[0].error}"
            )
        return [r.trial_id for r in results], float(np.mean([r.returns[self.actor]
                                                            for r in results]))  # fmt: skip

    def _ask(self, queries: Sequence[Any]) -> int:
        """The judge's answers to ``queries``, stored (a judge that stores its own answers, as
        the person's page does, says so with ``stores_answers``)."""
        stores = bool(getattr(self.judge, "stores_answers", False))
        given = 0
        for preference in self.judge.answer(queries, self.store):
            if not stores:
                self.store.add_preference(preference)
            given += 1
        self.answered += given
        return given

    def _train(self, k: int, timesteps: int) -> None:
        import stable_baselines3
        from stable_baselines3.common.vec_env import DummyVecEnv

        from cogym.wrappers import TrialGymEnv

        assert self.reward is not None
        spec = _training_spec(self.spec, self.actor, str(self.reward.ref))
        env = DummyVecEnv([lambda: TrialGymEnv(spec, registry=self.registry)] * self.n_envs)
        env.seed(self.seed + k)
        if self.policy is None:
            algorithm = getattr(stable_baselines3, self.algorithm)
            self.policy = algorithm("MlpPolicy", env, seed=self.seed, verbose=0, **self.options)
        else:
            self.policy.set_env(env)
        if self._env is not None:
            self._env.close()
        self._env = env
        self.policy.learn(timesteps, reset_num_timesteps=False)
        saved = self.registry.save(
            self.model, self.policy,
            metrics={"timesteps": int(self.policy.num_timesteps)},
            properties={"trained_by": "rlhf", "actor": self.actor, "iteration": k},
            lineage={
                "iteration": k, "reward_model": self.reward.ref, "judge": self.judge_name,
                "preference_count": self.reward.lineage["preference_count"],
                "preference_ids": self.reward.lineage["preference_ids"],
                "trial_ids": list(self.trial_ids), "datastore": str(self.store.path),
                "actor": self.actor,
            },
        )  # fmt: skip
        self.policy_ref = saved.ref
