"""PettingZoo env (parallel or AEC) -> trial environment, and the ``pettingzoo:`` scheme.

:func:`make_pettingzoo_environment` (the ``pettingzoo`` entry point of
``cogym.environment_schemes``) makes ``pettingzoo:<module>:<env function>`` environments;
:data:`PETTINGZOO_ADAPTER` (of ``cogym.environment_adapters``) wraps the PettingZoo envs that
other factories return.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pettingzoo import AECEnv, ParallelEnv

from cogym.directory import EnvironmentAdapter, as_environment, call_factory, import_object
from cogym.environment import OBSERVER, ActorClass, Environment, StepResult
from cogym.errors import BindingError, suggest
from cogym.wrappers.offscreen import prepare_offscreen_rendering

if TYPE_CHECKING:
    from cogym.spec import ActorSpec

__all__ = ["PETTINGZOO_ADAPTER", "PettingZooEnvironment", "make_pettingzoo_environment"]


class PettingZooEnvironment(Environment):
    """A PettingZoo env as a trial environment, each agent an actor of the same name.

    With a ``ParallelEnv`` every live agent acts on every tick; with an ``AECEnv`` one agent
    acts per tick, the one whose turn it is. Agents that leave end their actor; actors named
    ``observer`` by class see ``env.state()`` (so the env must define it).

    >>> from cogym.envs import rendezvous_v0
    >>> PettingZooEnvironment(rendezvous_v0.parallel_env())
    PettingZooEnvironment(rendezvous_v0, parallel)
    """

    def __init__(self, env: ParallelEnv | AECEnv) -> None:
        if isinstance(env, ParallelEnv):
            self.is_parallel = True
        elif isinstance(env, AECEnv):
            self.is_parallel = False
        else:
            raise TypeError(
                "PettingZooEnvironment wraps a pettingzoo ParallelEnv or AECEnv, "
                f"got {type(env).__name__}"
            )
        self.env = env
        self.metadata = dict(getattr(env, "metadata", {}) or {})
        self._observers: tuple[str, ...] = ()
        self._ended: set[str] = set()
        self._env_step = env.step

    @property
    def possible_agents(self) -> list[str]:
        return list(self.env.possible_agents)

    def bind(self, actors: Sequence[ActorSpec]) -> dict[str, ActorClass]:
        agents = [str(a) for a in self.env.possible_agents]
        if list(self.env.possible_agents) != agents:
            raise BindingError(
                [("environment", "cogym needs PettingZoo agent ids that are strings")]
            )
        names = {a.name for a in actors}
        missing = [a for a in agents if a not in names]
        problems = []
        classes: dict[str, ActorClass] = {}
        observers = []
        for i, actor in enumerate(actors):
            if actor.actor_class == OBSERVER:
                space = getattr(self.env, "state_space", None)
                if space is None:
                    problems.append(
                        (
                            f"actors[{i}].actor_class",
                            (
                                f"actor {actor.name!r}: observers of a PettingZoo env see "
                                "env.state(), and this env has no state_space"
                            ),
                        )
                    )
                    continue
                observers.append(actor.name)
                classes[actor.name] = ActorClass(OBSERVER, space, None)
            elif actor.name in agents:
                if actor.actor_class not in (None, actor.name):
                    problems.append(
                        (
                            f"actors[{i}].actor_class",
                            (
                                f"actor {actor.name!r} plays agent {actor.name!r}; leave "
                                f"actor_class unset (or {OBSERVER!r} to make it watch)"
                            ),
                        )
                    )
                classes[actor.name] = ActorClass(
                    actor.name,
                    self.env.observation_space(actor.name),
                    self.env.action_space(actor.name),
                )
            else:
                problems.append(
                    (
                        f"actors[{i}].name",
                        (
                            f"{actor.name!r} is not an agent of this env."
                            f"{suggest(actor.name, missing or agents)} "
                            f"Agents: {', '.join(agents)}"
                        ),
                    )
                )
        if missing:
            problems.append(
                (
                    "actors",
                    (
                        f"agent(s) {', '.join(missing)} have no actor; add one actor per agent "
                        "(for instance with implementation: random)"
                    ),
                )
            )
        if problems:
            raise BindingError(problems)
        self._observers = tuple(observers)
        return classes

    # -- episodes -----------------------------------------------------------------------------

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        self._ended = set()
        if self.is_parallel:
            obs, infos = self.env.reset(seed=seed, options=options)
            obs = dict(obs)
            infos = dict(infos)
        else:
            self.env.reset(seed=seed, options=options)
            agent = self.env.agent_selection
            obs = {agent: self.env.observe(agent)}
            # copies: an AEC env keeps its infos dicts and updates them in place (tictactoe's
            # are the same objects from reset to the end), and callers keep what they got
            infos = {agent: dict(self.env.infos.get(agent, {}))}
        self._add_observers(obs)
        return obs, infos

    def _add_observers(self, obs: dict[str, Any]) -> None:
        if self._observers:
            state = self.env.state()
            for name in self._observers:
                obs[name] = state

    def step(self, actions: dict[str, Any]) -> StepResult:
        if self.is_parallel:
            obs, rewards, terminated, truncated, infos = self._env_step(actions)
            if any(terminated.values()) or any(truncated.values()):
                terminated = {a: True for a, v in terminated.items() if v}
                truncated = {a: True for a, v in truncated.items() if v and a not in terminated}
                obs = dict(obs)
                if self.env.agents:
                    self._add_observers(obs)
                else:
                    self._end_observers(obs, terminated)
                return obs, rewards, terminated, truncated, infos
            if self._observers:
                obs = dict(obs)
                self._add_observers(obs)
            return obs, rewards, {}, {}, infos
        return self._step_aec(actions)

    def _step_aec(self, actions: dict[str, Any]) -> StepResult:
        env = self.env
        agent = env.agent_selection
        env.step(actions[agent])
        rewards = dict(env.rewards)
        terminated: dict[str, bool] = {}
        truncated: dict[str, bool] = {}
        obs: dict[str, Any] = {}
        infos: dict[str, dict[str, Any]] = {}
        for name in env.agents:
            if name in self._ended:
                continue
            if env.terminations.get(name):
                terminated[name] = True
            elif env.truncations.get(name):
                truncated[name] = True
            else:
                continue
            self._ended.add(name)
            obs[name] = env.observe(name)
            infos[name] = dict(env.infos.get(name, {}))
        # agents that have ended take a last None step when their turn comes; it is no tick
        while env.agents and (
            env.terminations.get(env.agent_selection) or env.truncations.get(env.agent_selection)
        ):
            if len(self._ended) >= len(env.agents):
                break
            env.step(None)
        live = [a for a in env.agents if a not in self._ended]
        if live:
            nxt = env.agent_selection
            obs[nxt] = env.observe(nxt)
            infos[nxt] = dict(env.infos.get(nxt, {}))
            self._add_observers(obs)
        else:
            self._end_observers(obs, terminated)
        return obs, rewards, terminated, truncated, infos

    def _end_observers(self, obs: dict[str, Any], terminated: dict[str, bool]) -> None:
        if self._observers:
            state = self.env.state()
            for name in self._observers:
                obs[name] = state
                terminated[name] = True

    def render(self) -> Any:
        return self.env.render()

    def close(self) -> None:
        self.env.close()

    def __repr__(self) -> str:
        name = self.metadata.get("name", type(self.env).__name__)
        return f"PettingZooEnvironment({name}, {'parallel' if self.is_parallel else 'AEC'})"


def make_pettingzoo_environment(rest: str, config: dict[str, Any]) -> Environment:
    """``pettingzoo:<module>:<env function>``: the env that function builds from ``config``."""
    factory = import_object(rest, f"environment 'pettingzoo:{rest}'")
    prepare_offscreen_rendering(config)
    made = call_factory(factory, config, None, f"environment 'pettingzoo:{rest}'")
    return as_environment(made, f"pettingzoo:{rest}")


def _adapt(made: Any) -> PettingZooEnvironment | None:
    return PettingZooEnvironment(made) if isinstance(made, (AECEnv, ParallelEnv)) else None


PETTINGZOO_ADAPTER = EnvironmentAdapter("a PettingZoo env (parallel or AEC)", _adapt)
"""Wraps the PettingZoo envs (parallel or AEC) that environment factories return."""
