"""Actors and environments for the datastore tests (``python:tests.datastore.actors:...``)."""

from __future__ import annotations

import random
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv


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


class Misfit(gym.Env):
    """A Gymnasium env whose observation at tick ``at`` does not fit its declared space:
    ``kind`` is ``shape`` (two values instead of three), ``none``, ``nan`` (a float NaN in an
    integer Box) or ``text`` (an array of strings)."""

    observation_space = spaces.Box(0, 9, (3,), np.int64)
    action_space = spaces.Discrete(2)

    def __init__(self, kind: str = "shape", at: int = 2, length: int = 5) -> None:
        self.kind, self.at, self.length = kind, at, length

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        self.t = 0
        return self._observe(), {}

    def _observe(self) -> Any:
        if self.t != self.at:
            return np.full(3, self.t % 10, dtype=np.int64)
        return {
            "shape": np.zeros(2, dtype=np.int64),
            "none": None,
            "nan": np.array([1.0, np.nan, 2.0]),
            "text": np.array(["a", "b", "c"]),
        }[self.kind]

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        self.t += 1
        return self._observe(), 1.0, self.t >= self.length, False, {}


def misfit(**config: Any) -> Misfit:
    return Misfit(**config)


_TURN_SPACES = {
    "box": lambda: spaces.Box(-1.0, 1.0, (2, 2), np.float32),
    "discrete": lambda: spaces.Discrete(4, start=1),
    "multidiscrete": lambda: spaces.MultiDiscrete([3, 2]),
    "multibinary": lambda: spaces.MultiBinary([2, 3]),
    "text": lambda: spaces.Text(5),
    "tuple": lambda: spaces.Tuple((spaces.Discrete(2), spaces.Box(0, 1, (3,), np.uint8))),
    "dict": lambda: spaces.Dict(
        {"pos": spaces.Box(-1, 1, (2,)), "tag": spaces.Text(3), "n": spaces.Discrete(2)}
    ),
}


class Turns(AECEnv):
    """Two players ``player`` and ``other`` move in turn for ``length`` moves; observations are
    drawn from the space named ``space`` (see ``_TURN_SPACES``). Cut short after one tick,
    ``other`` has no rows at all."""

    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": ["rgb_array"],
        "name": "turns_v0",
        "is_parallelizable": False,
    }

    def __init__(self, space: str = "box", length: int = 6, render_mode: str | None = None):
        super().__init__()
        self.space = _TURN_SPACES[space]()
        self.length = length
        self.render_mode = render_mode
        self.possible_agents = ["player", "other"]
        self.state_space = spaces.Box(0, 1000, (1,), np.int64)

    def observation_space(self, agent: str) -> spaces.Space:
        return self.space

    def action_space(self, agent: str) -> spaces.Space:
        return spaces.Discrete(2)

    def observe(self, agent: str) -> Any:
        return self.space.sample()

    def state(self) -> np.ndarray:
        return np.array([self.moves], dtype=np.int64)

    def render(self) -> np.ndarray:
        return np.full((4, 6, 3), self.moves, dtype=np.uint8)

    def reset(self, seed: int | None = None, options: Any = None) -> None:
        self.space.seed(seed)
        self.agents = list(self.possible_agents)
        self.moves = 0
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos = {a: {} for a in self.agents}
        self.agent_selection = "player"

    def step(self, action: Any) -> None:
        if self.terminations[self.agent_selection]:
            self._was_dead_step(action)
            return
        self.moves += 1
        self.rewards = dict.fromkeys(self.agents, 1.0)
        if self.moves >= self.length:
            self.terminations = dict.fromkeys(self.agents, True)
        self.agent_selection = "other" if self.agent_selection == "player" else "player"
        self._cumulative_rewards = dict(self.rewards)


def turns(**config: Any) -> Turns:
    return Turns(**config)


class TextFrames(gym.Env):
    """A Gymnasium env whose render mode cogym does not know and whose frames are text."""

    observation_space = spaces.Discrete(4)
    action_space = spaces.Discrete(2)
    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["text"]}
    render_mode = "text"

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        self.t = 0
        return 0, {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        self.t += 1
        return self.t % 4, 1.0, self.t >= 3, False, {}

    def render(self) -> str:
        return f"tick {self.t}\n"
