"""Actors for the dashboard tests (``python:tests.ui.actors:...``)."""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class Chooser:
    """Plays ``tick % 2`` and notes who chose it: ``bot`` on most ticks, ``teacher`` on every
    third one."""

    def reset(self, context: Any) -> None:
        self.context = context

    def act(self, observation: Any) -> int:
        tick = self.context.tick
        self.context.annotate({"by": "teacher" if tick % 3 == 0 else "bot"})
        return tick % 2


class Shrinking(gym.Env):
    """Each new instance's episodes are two ticks shorter than the last one's (6, 4, 2...): a
    replay in a new instance ends before the recorded trial did."""

    observation_space = spaces.Discrete(10)
    action_space = spaces.Discrete(2)
    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"]}
    made = 0

    def __init__(self, render_mode: str | None = None) -> None:
        self.length = max(1, 6 - 2 * Shrinking.made)
        Shrinking.made += 1
        self.render_mode = render_mode

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[int, dict]:
        super().reset(seed=seed)
        self.t = 0
        return 0, {}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict]:
        self.t += 1
        return self.t, 1.0, self.t >= self.length, False, {}

    def render(self) -> np.ndarray:
        return np.full((8, 8, 3), 20 * self.t, np.uint8)


def shrinking(**config: Any) -> Shrinking:
    return Shrinking(**config)
