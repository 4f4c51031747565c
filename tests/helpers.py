"""Actors and environments used by the tests (importable as ``python:tests.helpers:...``)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from gymnasium import spaces

from cogym.environment import ActorClass, Environment
from cogym.errors import BindingError


class Coach:
    """An observer that rewards the player 0.5 (confidence 1) on every tick."""

    def __init__(self, value: float = 0.5, confidence: float = 1.0) -> None:
        self.value = value
        self.confidence = confidence

    def reset(self, context: Any) -> None:
        self.context = context

    def act(self, observation: Any) -> None:
        self.context.send_reward("player", self.value, self.confidence)


class Recorder:
    """Acts randomly and keeps what it saw and did; instances are listed in ``Recorder.made``."""

    made: list[Recorder] = []

    def __init__(self, actor_class: ActorClass) -> None:
        self.space = actor_class.action_space
        self.seen: list[Any] = []
        self.done: list[Any] = []
        self.rewards: list[Any] = []
        self.messages: list[Any] = []
        Recorder.made.append(self)

    def reset(self, context: Any) -> None:
        self.context = context
        self.space.seed(context.seed)

    def act(self, observation: Any) -> Any:
        self.seen.append(observation)
        action = self.space.sample()
        self.done.append(action)
        return action

    def on_reward(self, reward: Any) -> None:
        self.rewards.append(reward)

    def on_message(self, message: Any) -> None:
        self.messages.append(message)


class Chatty:
    """Sends a message to ``to`` on every tick and acts 0."""

    def __init__(self, to: str = "env") -> None:
        self.to = to
        self.received: list[Any] = []

    def reset(self, context: Any) -> None:
        self.context = context

    def act(self, observation: Any) -> int:
        self.context.send_message(self.to, {"tick": self.context.tick})
        return 0

    def on_message(self, message: Any) -> None:
        self.received.append(message)


class Crash:
    """Raises on tick ``at``."""

    def __init__(self, at: int = 3) -> None:
        self.at = at

    def reset(self, context: Any) -> None:
        self.context = context

    def act(self, observation: Any) -> int:
        if self.context.tick == self.at:
            raise ValueError(f"crash at tick {self.at}")
        return 0


class CrashOnSeed:
    """Raises on tick 2 of the trial whose seed is ``seed``."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def reset(self, context: Any) -> None:
        self.context = context

    def act(self, observation: Any) -> int:
        if self.context.spec.seed == self.seed and self.context.tick == 2:
            raise ValueError(f"crash on seed {self.seed}")
        return 0


class Corrected:
    """Acts 1 and notes the tick as a person's on even ticks, acts 0 as the agent's on odd ones."""

    def reset(self, context: Any) -> None:
        self.context = context

    def act(self, observation: Any) -> int:
        human = self.context.tick % 2 == 0
        self.context.annotate({"by": "human" if human else "agent"})
        return 1 if human else 0


class OutOfSpace:
    """Always answers 7, outside Discrete(2)."""

    def act(self, observation: Any) -> int:
        return 7


class DieOnSeed:
    """Kills its own process (as SIGKILL would) when the trial seed is ``seed``."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def reset(self, context: Any) -> None:
        if context.spec.seed == self.seed:
            os._exit(9)

    def act(self, observation: Any) -> int:
        return 0


class Relay(Environment):
    """Two actors, ``a`` and ``b``, each observing a counter; rewards each 1 per tick.

    Environment rewards may be scaled by ``scale``; messages to the environment are kept in
    ``received``.
    """

    def __init__(self, length: int = 5, scale: float = 1.0) -> None:
        self.length = length
        self.scale = scale
        self.received: list[Any] = []

    def bind(self, actors: Any) -> dict[str, ActorClass]:
        names = [a.name for a in actors]
        if sorted(names) != ["a", "b"]:
            raise BindingError([("actors", f"Relay needs actors 'a' and 'b', got {names}")])
        space = spaces.Box(0, 1000, (1,), np.float32)
        return {n: ActorClass(n, space, spaces.Discrete(2)) for n in names}

    def reset(self, seed: int | None = None, options: Any = None) -> Any:
        self.t = 0
        obs = np.zeros(1, np.float32)
        return {"a": obs, "b": obs.copy()}, {"a": {}, "b": {}}

    def step(self, actions: dict[str, Any]) -> Any:
        self.t += 1
        obs = {n: np.full(1, self.t, np.float32) for n in ("a", "b")}
        rewards = dict.fromkeys(("a", "b"), self.scale)
        if self.t >= self.length:
            return obs, rewards, {"a": True, "b": True}, {}, {"a": {}, "b": {}}
        return obs, rewards, {}, {}, {"a": {}, "b": {}}

    def on_message(self, message: Any) -> None:
        self.received.append(message)


def relay(**config: Any) -> Relay:
    return Relay(**config)


def cartpole_that_fails_to_close(**config: Any) -> Any:
    """CartPole whose ``close()`` raises (``python:tests.helpers:cartpole_that_fails_to_close``)."""
    import gymnasium as gym

    class FailsToClose(gym.Wrapper):
        def close(self) -> None:
            raise RuntimeError("the display is gone")

    return FailsToClose(gym.make("CartPole-v1", **config))


def cartpole_with_string_rewards(**config: Any) -> Any:
    """CartPole whose reward is the string ``"1.0"`` from its third step on."""
    import gymnasium as gym

    class StringRewards(gym.Wrapper):
        steps = 0

        def step(self, action: Any) -> Any:
            observation, reward, terminated, truncated, info = self.env.step(action)
            self.steps += 1
            return observation, "1.0" if self.steps >= 3 else reward, terminated, truncated, info

    return StringRewards(gym.make("CartPole-v1", **config))


class EndWatcher:
    """Acts randomly and keeps what ``on_end`` is told at each trial's end (in ``EndWatcher.ends``);
    with ``raise_at_end`` it raises there instead."""

    ends: list[Any] = []

    def __init__(self, actor_class: ActorClass, raise_at_end: bool = False) -> None:
        self.space = actor_class.action_space
        self.raise_at_end = raise_at_end

    def reset(self, context: Any) -> None:
        self.space.seed(context.seed)

    def act(self, observation: Any) -> Any:
        return self.space.sample()

    def on_end(self, observation: Any) -> None:
        if self.raise_at_end:
            raise RuntimeError("the watcher cannot take the end")
        EndWatcher.ends.append(observation)


class Constant:
    """Acts ``action`` on every tick (a poker player who always folds: ``action: 2``)."""

    def __init__(self, action: Any = 0) -> None:
        self.action = action

    def act(self, observation: Any) -> Any:
        return self.action
