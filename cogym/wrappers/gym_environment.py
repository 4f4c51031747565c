"""Gymnasium env -> trial environment, and the ``gym:<env id>`` scheme of the directory.

:func:`make_gym_environment` (the ``gym`` entry point of ``cogym.environment_schemes``) makes
``gym:<env id>`` environments; :data:`GYM_ADAPTER` (of ``cogym.environment_adapters``) wraps
the Gymnasium envs that other factories return.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import gymnasium as gym

import cogym.envs  # noqa: F401  (registers the cogym/... env ids)
from cogym.directory import EnvironmentAdapter
from cogym.environment import OBSERVER, ActorClass, Environment, StepResult
from cogym.errors import (
    BindingError,
    ConfigError,
    ImplementationError,
    UnknownImplementationError,
)
from cogym.wrappers.offscreen import prepare_offscreen_rendering

if TYPE_CHECKING:
    from cogym.spec import ActorSpec

__all__ = ["GYM_ADAPTER", "GymEnvironment", "make_gym_environment"]

PLAYER = "player"


class GymEnvironment(Environment):
    """A Gymnasium env as a trial environment.

    One actor plays the env (the first actor whose ``actor_class`` is unset or ``player``);
    any other actor must be an ``observer``: it sees the same observations, can send rewards
    and messages, and its actions are ignored.

    >>> import gymnasium as gym
    >>> env = GymEnvironment(gym.make("CartPole-v1"))
    >>> env
    GymEnvironment(<TimeLimit<OrderEnforcing<PassiveEnvChecker<CartPoleEnv<CartPole-v1>>>>>)
    """

    def __init__(self, env: gym.Env) -> None:
        if not isinstance(env, gym.Env):
            raise TypeError(f"GymEnvironment wraps a gymnasium.Env, got {type(env).__name__}")
        self.env = env
        self.metadata = dict(getattr(env, "metadata", {}) or {})
        self._player = PLAYER
        self._observers: tuple[str, ...] = ()
        self._env_step = env.step

    @property
    def observation_space(self) -> gym.Space:
        return self.env.observation_space

    @property
    def action_space(self) -> gym.Space:
        return self.env.action_space

    def bind(self, actors: Sequence[ActorSpec]) -> dict[str, ActorClass]:
        player = None
        observers = []
        problems = []
        for i, actor in enumerate(actors):
            role = actor.actor_class
            if role in (None, PLAYER) and player is None:
                player = actor.name
            elif role == OBSERVER:
                observers.append(actor.name)
            elif role in (None, PLAYER):
                problems.append(
                    (
                        f"actors[{i}]",
                        (
                            f"actor {actor.name!r}: a Gymnasium env has one player, and {player!r} "
                            "already plays it; give this actor 'actor_class: observer' to let it "
                            "watch, or use a PettingZoo env for several players"
                        ),
                    )
                )
            else:
                problems.append(
                    (
                        f"actors[{i}].actor_class",
                        (
                            f"actor {actor.name!r}: unknown actor class {role!r} for a Gymnasium "
                            f"env; use {PLAYER!r} or {OBSERVER!r}"
                        ),
                    )
                )
        if player is None:
            problems.append(
                ("actors", "no actor plays the env: give one actor 'actor_class: player'")
            )
        if problems:
            raise BindingError(problems)
        self._player = player
        self._observers = tuple(observers)
        classes = {player: ActorClass(PLAYER, self.env.observation_space, self.env.action_space)}
        for name in observers:
            classes[name] = ActorClass(OBSERVER, self.env.observation_space, None)
        return classes

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        obs, info = self.env.reset(seed=seed, options=options)
        observations = {self._player: obs}
        for name in self._observers:
            observations[name] = obs
        return observations, {self._player: info}

    def step(self, actions: dict[str, Any]) -> StepResult:
        player = self._player
        obs, reward, terminated, truncated, info = self._env_step(actions[player])
        observations = {player: obs}
        if self._observers:
            for name in self._observers:
                observations[name] = obs
            if terminated or truncated:
                ended = dict.fromkeys(observations, True)
                return (
                    observations,
                    {player: reward},
                    ended if terminated else {},
                    {} if terminated else ended,
                    {player: info},
                )
        if terminated:
            return observations, {player: reward}, {player: True}, {}, {player: info}
        if truncated:
            return observations, {player: reward}, {}, {player: True}, {player: info}
        return observations, {player: reward}, {}, {}, {player: info}

    def single_actor(self) -> tuple[str, Any] | None:
        return None if self._observers else (self._player, self._env_step)

    def render(self) -> Any:
        return self.env.render()

    def close(self) -> None:
        self.env.close()

    def __repr__(self) -> str:
        return f"GymEnvironment({self.env})"


def make_gym_environment(rest: str, config: dict[str, Any]) -> GymEnvironment:
    """``gym:<env id>``: ``gym.make(env id, **config)`` as a trial environment."""
    prepare_offscreen_rendering(config)
    try:
        env = gym.make(rest, **config)
    except gym.error.Error as exc:
        hint = f"({type(exc).__name__}: {exc})"
        if isinstance(exc, gym.error.NamespaceNotFound) and ":" not in rest:
            hint = _namespace_hint(rest)
        raise UnknownImplementationError(
            "environment", f"gym:{rest}", [f"gym:{i}" for i in gym.registry], hint=hint
        ) from None
    except Exception as exc:
        # gym.make passes config on to the env's constructor: what it refuses is the config
        error = ConfigError if config else ImplementationError
        raise error(
            f"could not make gym:{rest} with config {config}: {type(exc).__name__}: {exc}"
        ) from exc
    return GymEnvironment(env)


_NAMESPACE_MODULES = {"ALE": "ale_py"}
"""The modules that register common namespaces of env ids (``ALE/Pong-v5``) on import."""


def _namespace_hint(env_id: str) -> str:
    namespace = env_id.partition("/")[0]
    module = _NAMESPACE_MODULES.get(namespace)
    example = f"gym:{module}:{env_id}" if module else f"gym:<module>:{env_id}"
    return (
        f"The namespace {namespace!r} is registered by a package as it is imported, and "
        f"nothing imported it: name the module in the implementation, as in {example} "
        "(gym.make imports it first)"
    )


def _adapt(made: Any) -> GymEnvironment | None:
    return GymEnvironment(made) if isinstance(made, gym.Env) else None


GYM_ADAPTER = EnvironmentAdapter("a Gymnasium env", _adapt)
"""Wraps the Gymnasium envs that environment factories return."""
