"""Nim: two players take one to three stones in turn; whoever takes the last stone wins.

A PettingZoo ``AECEnv`` (turn-based, with an action mask in the observation)::

    >>> game = env(stones=5)
    >>> game.reset(seed=0)
    >>> game.agent_selection
    'player_0'
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv
from pettingzoo.utils import AgentSelector

__all__ = ["env", "NimEnv"]


class NimEnv(AECEnv):
    """Observation: ``{"observation": [stones left], "action_mask": [take 1, take 2, take 3]}``.

    Action ``a`` takes ``a + 1`` stones. The winner gets +1, the loser -1.
    """

    metadata = {"render_modes": [], "name": "nim_v0", "is_parallelizable": False}

    def __init__(self, stones: int = 15, render_mode: str | None = None) -> None:
        super().__init__()
        self.stones = int(stones)
        self.render_mode = render_mode
        self.possible_agents = ["player_0", "player_1"]
        self._observation_space = spaces.Dict(
            {
                "observation": spaces.Box(0, self.stones, (1,), np.int64),
                "action_mask": spaces.Box(0, 1, (3,), np.int8),
            }
        )
        self._action_space = spaces.Discrete(3)
        self.left = self.stones

    def observation_space(self, agent: str) -> spaces.Space:
        return self._observation_space

    def action_space(self, agent: str) -> spaces.Space:
        return self._action_space

    def observe(self, agent: str) -> dict[str, np.ndarray]:
        mask = np.array([self.left >= k for k in (1, 2, 3)], dtype=np.int8)
        return {"observation": np.array([self.left], dtype=np.int64), "action_mask": mask}

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> None:
        self.agents = list(self.possible_agents)
        self.left = self.stones
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos = {a: {} for a in self.agents}
        self._selector = AgentSelector(self.agents)
        self.agent_selection = self._selector.reset()

    def step(self, action: Any) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        take = int(action) + 1
        if take > self.left:
            raise ValueError(
                f"{agent} cannot take {take} stones, {self.left} left (mask the action)"
            )
        self._cumulative_rewards[agent] = 0.0
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self.left -= take
        if self.left == 0:
            other = [a for a in self.agents if a != agent][0]
            self.rewards[agent] = 1.0
            self.rewards[other] = -1.0
            self.terminations = dict.fromkeys(self.agents, True)
        self.agent_selection = self._selector.next()
        self._accumulate_rewards()

    def render(self) -> None:
        return None

    def close(self) -> None:
        pass


def env(**kwargs: Any) -> NimEnv:
    """Make a nim env (keyword arguments as :class:`NimEnv`)."""
    return NimEnv(**kwargs)
