"""Actors and environments for the datastore tests (``python:tests.datastore.actors:...``)."""

from __future__ import annotations

import random
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class Critic:
    """An observer that, on each tick, rewards the player for the previous tick (retroactively),
    sends it a message, and annotates the tick."""

    def reset(self, context: Any) -> None:
        self.context = context

    def act(self, observation: Any) -> None:
        tick = self.context.tick
        if tick > 0:
            self.context.send_reward("player", 2.0, confidence=1.0, tick=tick - 1)
        self.context.send_message("player", {"seen": tick})
        self.context.annotate({"critic": tick})


class Noisy(gym.Env):
    """A Gymnasium env whose observations ignore the seed: replays of it diverge."""

    observation_space = spaces.Box(0.0, 1.0, (2,), np.float32)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        self.t = 0
        return self._observe(), {}

    def _observe(self) -> np.ndarray:
        return np.array([random.random(), 0.5], dtype=np.float32)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        self.t += 1
        return self._observe(), 1.0, self.t >= 5, False, {}


def noisy(**config: Any) -> Noisy:
    return Noisy()


class Reusing(gym.Env):
    """Returns views into two buffers that it takes turns overwriting (as some envs do)."""

    observation_space = spaces.Box(0.0, 100.0, (3,), np.float32)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        self.buffers = np.zeros((2, 3), np.float32)
        self.t = 0
        return self.buffers[0], {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        self.t += 1
        view = self.buffers[self.t % 2]
        view[:] = self.t
        return view, 1.0, self.t >= 6, False, {}


def reusing(**config: Any) -> Reusing:
    return Reusing()


class Sequences(gym.Env):
    """Observes a Sequence space, which has no fixed shape and cannot be recorded."""

    observation_space = spaces.Sequence(spaces.Discrete(3))
    action_space = spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[Any, dict]:
        return (1, 2), {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        return (1,), 0.0, True, False, {}


def sequences(**config: Any) -> Sequences:
    return Sequences()


class LateNote:
    """Plays randomly-ish (alternates), and on tick ``at`` annotates the tick and rewards itself
    for the tick before."""

    def __init__(self, at: int = 3) -> None:
        self.at = at

    def reset(self, context: Any) -> None:
        self.context = context

    def act(self, observation: Any) -> int:
        tick = self.context.tick
        if tick == self.at:
            self.context.annotate({"late": True})
            self.context.send_reward("player", 5.0, tick=tick - 1)
        return tick % 2


STEP_REWARD = 1.0
"""What :class:`Revised` rewards per step: a test that changes it between recording and replay
stands for an environment whose code changed since its trials were recorded."""


class Revised(gym.Env):
    """Deterministic and fully reset; rewards :data:`STEP_REWARD` per step for 5 steps."""

    observation_space = spaces.Box(0.0, 5.0, (1,), np.float32)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(1, np.float32), {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        self.t += 1
        return np.full(1, self.t, np.float32), STEP_REWARD, self.t >= 5, False, {}


def revised(**config: Any) -> Revised:
    return Revised()
