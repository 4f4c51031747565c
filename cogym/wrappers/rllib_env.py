"""Trial -> RLlib ``MultiAgentEnv``: train RLlib algorithms on trials, on one machine or a cluster.

The spec's external actors are RLlib's agents (the other actors act inside the trial, as with
:class:`~cogym.wrappers.TrialParallelEnv`). :func:`register_trial_env` names such an env in
Ray's registry so that ``PPOConfig().environment(name)`` builds one in every env runner::

    >>> # from ray.rllib.algorithms.ppo import PPOConfig
    >>> # register_trial_env("rendezvous", "rendezvous.yaml")
    >>> # algo = (PPOConfig().environment("rendezvous")
    >>> #         .multi_agent(policies={"shared"},
    >>> #                      policy_mapping_fn=lambda agent, *a, **k: "shared")
    >>> #         .build_algo())

Ray (the ``rllib`` extra) is imported when this module is.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cogym.errors import MissingExtraError
from cogym.spec import TrialSpec
from cogym.wrappers.trial_parallel_env import TrialParallelEnv

try:
    from gymnasium import spaces
    from ray.rllib.env.multi_agent_env import MultiAgentEnv
    from ray.tune.registry import register_env
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise MissingExtraError("training RLlib on trials", "rllib", "ray[rllib]") from exc

__all__ = ["SEED_STREAM", "TrialMultiAgentEnv", "register_trial_env"]

SEED_STREAM = 100_000
"""Seeds between two env runners' (or two sub-environments') trials: each plays the seeds the
first env would, plus a multiple of ``SEED_STREAM`` of its own."""
_ENVS_PER_RUNNER = 1000
_MADE: dict[str, int] = {}
"""How many envs this process has made, per registered name."""


class TrialMultiAgentEnv(MultiAgentEnv):
    """A trial as an RLlib ``MultiAgentEnv`` whose agents are the spec's external actors.

    Each ``reset`` starts a new trial (``reset(seed=s)`` gives it seed ``s + seed_offset``,
    later resets the next seeds; the first reset without a seed starts at the spec's seed plus
    ``seed_offset``). ``agents`` are the agents of the last ``reset`` or ``step`` (RLlib's
    meaning: an agent that left on that step is still listed, with its last observation, until
    the next step, which ignores an action for it), ``possible_agents`` all of them; an agent
    that leaves (terminated or truncated) is reported once and not again.
    ``terminateds["__all__"]`` is set when no agent is left and every last one ended terminated;
    ``truncateds["__all__"]`` when no agent is left otherwise (the trial reached ``max_ticks``
    or the environment truncated someone).

    >>> env = TrialMultiAgentEnv({
    ...     "environment": {"implementation": "pettingzoo:cogym.envs.rendezvous_v0:parallel_env",
    ...                     "config": {"walkers": 2}},
    ...     "actors": [{"name": "walker_0", "implementation": "external"},
    ...                {"name": "walker_1", "implementation": "external"}]})
    >>> observations, infos = env.reset(seed=0)
    >>> sorted(observations), env.action_spaces["walker_0"]
    (['walker_0', 'walker_1'], Discrete(5))
    """

    def __init__(
        self,
        spec: TrialSpec | Mapping[str, Any] | str | Path,
        *,
        orchestrator: Any = None,
        datastore: Any = None,
        registry: Any = None,
        seed_offset: int = 0,
    ) -> None:
        self.trials = TrialParallelEnv(
            spec, orchestrator=orchestrator, datastore=datastore, registry=registry
        )
        self.possible_agents = list(self.trials.possible_agents)
        self.agents = []
        super().__init__()
        self.observation_spaces = {
            a: self.trials.observation_space(a) for a in self.possible_agents
        }
        self.action_spaces = {a: self.trials.action_space(a) for a in self.possible_agents}
        self.observation_space = spaces.Dict(self.observation_spaces)
        self.action_space = spaces.Dict(self.action_spaces)
        self.seed_offset = int(seed_offset)
        self._first = True

    @property
    def trial_spec(self) -> TrialSpec:
        return self.trials.trial_spec

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        if seed is None and self._first:
            seed = self.trial_spec.seed
        self._first = False
        if seed is not None:
            seed = (int(seed) + self.seed_offset) % (1 << 63)
        observations, infos = self.trials.reset(seed=seed, options=options)
        self.agents = list(self.trials.agents)
        return observations, infos

    def step(
        self, action_dict: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, bool], dict[str, bool], dict[str, Any]]:
        live = self.trials.agents
        if len(live) < len(self.agents):  # agents listed for the step they left on: done
            action_dict = {a: action for a, action in action_dict.items() if a in live}
        observations, rewards, terminated, truncated, infos = self.trials.step(action_dict)
        self.agents = list(terminated)  # this step's agents, those that left on it included
        over = not self.trials.agents
        terminated = dict(terminated)
        truncated = dict(truncated)
        everyone_terminated = all(terminated.values()) and not any(truncated.values())
        terminated["__all__"] = over and everyone_terminated
        truncated["__all__"] = over and not everyone_terminated
        return observations, rewards, terminated, truncated, infos

    def render(self) -> Any:
        return self.trials.render()

    def close(self) -> None:
        self.trials.close()

    def __repr__(self) -> str:
        return f"TrialMultiAgentEnv({self.trials!r})"


def register_trial_env(
    name: str,
    spec: TrialSpec | Mapping[str, Any] | str | Path,
    *,
    datastore: str | Path | None = None,
    registry: str | Path | None = None,
) -> str:
    """Register ``spec``'s trials as the RLlib env ``name`` (``config.environment(name)``).

    The spec is read now (a bad one fails here, not in a remote env runner) and travels to every
    env runner as a plain dict. ``env_config`` entries given to ``config.environment(name,
    env_config={...})`` update the spec's environment ``config``. Env runners and their
    sub-environments play different seeds: the ``n``-th env that env runner ``w`` makes adds
    ``(w * 1000 + n) *`` :data:`SEED_STREAM` to every seed (the spec's, RLlib's
    ``config.debugging(seed=...)`` and the one RLlib's env check resets with), so no two play
    the same trials. ``datastore`` and ``registry`` are directories every node reaches: the
    trials are recorded there (each process in its shard) and ``sb3:<model>@latest`` actors
    inside the trials are resolved from there.

    >>> register_trial_env("rendezvous-2", {
    ...     "environment": {"implementation": "pettingzoo:cogym.envs.rendezvous_v0:parallel_env",
    ...                     "config": {"walkers": 2}},
    ...     "actors": [{"name": "walker_0", "implementation": "external"},
    ...                {"name": "walker_1", "implementation": "external"}]})
    'rendezvous-2'
    """
    trial_spec = spec if isinstance(spec, TrialSpec) else _read_spec(spec)
    plain = trial_spec.to_dict()
    where = {
        "datastore": None if datastore is None else str(datastore),
        "registry": None if registry is None else str(registry),
    }

    def make(env_config: Any) -> TrialMultiAgentEnv:
        made = _MADE[name] = _MADE.get(name, -1) + 1
        runner = int(getattr(env_config, "worker_index", 0) or 0)
        offset = (runner * _ENVS_PER_RUNNER + made) * SEED_STREAM
        return _make_env(plain, dict(env_config or {}), offset, **where)

    register_env(name, make)
    return name


def _read_spec(spec: Mapping[str, Any] | str | Path) -> TrialSpec:
    if isinstance(spec, Mapping):
        return TrialSpec.from_dict(dict(spec))
    return TrialSpec.from_yaml(spec)


def _make_env(
    plain: dict[str, Any],
    overrides: dict[str, Any],
    seed_offset: int,
    datastore: str | None,
    registry: str | None,
) -> TrialMultiAgentEnv:
    spec = dict(plain)
    if overrides:
        environment = dict(spec["environment"])
        environment["config"] = {**(environment.get("config") or {}), **overrides}
        spec["environment"] = environment
    trial_spec = TrialSpec.from_dict(spec)
    datalog = None
    if datastore is not None:
        from cogym.datastore import HDF5Datastore

        datalog = HDF5Datastore(datastore)
    return TrialMultiAgentEnv(
        trial_spec, datastore=datalog, registry=registry, seed_offset=seed_offset
    )
