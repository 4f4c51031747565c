"""Third-party environments wrapped in a log of everything they produce and receive.

The specs of the conformance tests name these factories (``python:tests.conformance.envs:gym``
and ``python:tests.conformance.envs:pettingzoo``); every episode the wrapped env plays is
appended to :data:`EPISODES`, so a test compares the datastore with what the env really did.
"""

from __future__ import annotations

import copy
import importlib
from dataclasses import dataclass, field
from typing import Any

import gymnasium
from pettingzoo.utils.wrappers import BaseParallelWrapper, BaseWrapper


def _copy(value: Any) -> Any:
    # a log that copies catches an env (or cogym) that reuses and overwrites its arrays
    return copy.deepcopy(value)


@dataclass
class Step:
    """One call of ``step``: what the acting agents saw and did, and what came back."""

    seen: dict[str, Any]
    actions: dict[str, Any]
    observations: dict[str, Any]
    rewards: dict[str, Any]
    terminated: dict[str, bool]
    truncated: dict[str, bool]


@dataclass
class Episode:
    """From one ``reset`` to the next: the first observations and every step."""

    observations: dict[str, Any]
    steps: list[Step] = field(default_factory=list)


EPISODES: list[Episode] = []
"""Every episode any logged env played in this process, in order."""


class LogGym(gymnasium.Wrapper):
    """Logs a Gymnasium env's resets and steps, its one agent named ``player``."""

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        observation, info = self.env.reset(**kwargs)
        self._last = _copy(observation)
        EPISODES.append(Episode({"player": self._last}))
        return observation, info

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        seen = self._last
        action = _copy(action)
        observation, reward, terminated, truncated, info = self.env.step(action)
        self._last = _copy(observation)
        EPISODES[-1].steps.append(
            Step(
                {"player": seen},
                {"player": action},
                {"player": self._last},
                {"player": reward},
                {"player": terminated},
                {"player": truncated},
            )
        )
        return observation, reward, terminated, truncated, info


class LogParallel(BaseParallelWrapper):
    """Logs a PettingZoo parallel env's resets and steps."""

    def reset(self, seed: int | None = None, options: dict | None = None) -> Any:
        observations, infos = self.env.reset(seed=seed, options=options)
        self._last = _copy(dict(observations))
        EPISODES.append(Episode(dict(self._last)))
        return observations, infos

    def step(self, actions: dict[str, Any]) -> Any:
        seen = {a: self._last[a] for a in actions}
        logged = _copy(dict(actions))
        observations, rewards, terminated, truncated, infos = self.env.step(actions)
        after = _copy(dict(observations))
        self._last.update(after)
        EPISODES[-1].steps.append(
            Step(
                seen,
                logged,
                after,
                dict(rewards),
                dict(terminated),
                dict(truncated),
            )
        )
        return observations, rewards, terminated, truncated, infos


class LogAEC(BaseWrapper):
    """Logs a PettingZoo AEC env: per step the agent whose turn it was, what it saw and did.

    A step's ``observations`` hold what each live agent would observe after it; the steps
    that agents which have ended take (action ``None``) are logged too.
    """

    def reset(self, seed: int | None = None, options: dict | None = None) -> None:
        self.env.reset(seed=seed, options=options)
        agent = self.env.agent_selection
        EPISODES.append(Episode({agent: _copy(self.env.observe(agent))}))

    def step(self, action: Any) -> None:
        env = self.env
        agent = env.agent_selection
        seen = _copy(env.observe(agent))
        logged = _copy(action)
        env.step(action)
        EPISODES[-1].steps.append(
            Step(
                {agent: seen},
                {agent: logged},
                {a: _copy(env.observe(a)) for a in env.agents},
                dict(env.rewards),
                dict(env.terminations),
                dict(env.truncations),
            )
        )


def gym(env_id: str, **kwargs: Any) -> gymnasium.Env:
    """``gymnasium.make(env_id, **kwargs)``, logged."""
    return LogGym(gymnasium.make(env_id, **kwargs))


def pettingzoo(module: str, **kwargs: Any) -> Any:
    """``<module>.env(**kwargs)`` (AEC) or ``<module>.parallel_env(...)`` (``parallel: true``)."""
    parallel = kwargs.pop("parallel", False)
    made = importlib.import_module(module)
    if parallel:
        return LogParallel(made.parallel_env(**kwargs))
    return LogAEC(made.env(**kwargs))
