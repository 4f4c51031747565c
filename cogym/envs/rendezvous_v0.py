"""Rendezvous: walkers on a grid head for home; each one that arrives leaves the episode.

A PettingZoo ``ParallelEnv`` with agents that leave mid-episode::

    >>> env = parallel_env(walkers=2, size=5)
    >>> observations, infos = env.reset(seed=0)
    >>> sorted(observations)
    ['walker_0', 'walker_1']
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

__all__ = ["parallel_env", "RendezvousEnv"]

MOVES = np.array([[0, 0], [0, 1], [0, -1], [1, 0], [-1, 0]], dtype=np.int64)


class RendezvousEnv(ParallelEnv):
    """``walkers`` agents on a ``size`` x ``size`` grid; home is the centre.

    Observation (float32, in [-1, 1]): every walker's position relative to home, own first.
    Actions: stay, up, down, right, left. Reward: -0.01 per step, +1 on reaching home, where
    the walker leaves (terminated). With ``leave_home=False`` walkers stay until all are home
    (then all terminate together; a walker at home gets 0 per step), which suits vectorised
    training that needs a fixed set of agents. Episodes are truncated after ``max_cycles`` steps.
    """

    metadata = {"render_modes": ["rgb_array"], "name": "rendezvous_v0", "is_parallelizable": True}

    def __init__(
        self,
        walkers: int = 3,
        size: int = 7,
        max_cycles: int = 50,
        leave_home: bool = True,
        render_mode: str | None = None,
    ) -> None:
        self.leave_home = bool(leave_home)
        self.size = int(size)
        self.max_cycles = int(max_cycles)
        self.render_mode = render_mode
        self.possible_agents = [f"walker_{i}" for i in range(int(walkers))]
        self.agents: list[str] = []
        self._home = np.array([self.size // 2, self.size // 2])
        self._positions: dict[str, np.ndarray] = {}
        self._rng = np.random.default_rng()
        self._steps = 0
        self._observation_space = spaces.Box(
            -1.0, 1.0, (2 * len(self.possible_agents),), np.float32
        )
        self._action_space = spaces.Discrete(len(MOVES))

    @functools.cache  # noqa: B019  (PettingZoo wants the same object per agent)
    def observation_space(self, agent: str) -> spaces.Space:
        return self._observation_space

    @functools.cache  # noqa: B019
    def action_space(self, agent: str) -> spaces.Space:
        return spaces.Discrete(len(MOVES))

    def _observe(self, agent: str) -> np.ndarray:
        order = [agent] + [a for a in self.possible_agents if a != agent]
        half = max(1, self.size // 2)
        rel = [(self._positions[a] - self._home) / half for a in order]
        return np.concatenate(rel).astype(np.float32)

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]]]:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.agents = list(self.possible_agents)
        self._steps = 0
        for agent in self.agents:
            while True:
                position = self._rng.integers(0, self.size, 2)
                if not np.array_equal(position, self._home):
                    break
            self._positions[agent] = position
        return {a: self._observe(a) for a in self.agents}, {a: {} for a in self.agents}

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        self._steps += 1
        rewards = {}
        terminated = {}
        for agent in self.agents:
            was_home = bool(np.array_equal(self._positions[agent], self._home))
            move = MOVES[int(actions[agent])]
            self._positions[agent] = np.clip(self._positions[agent] + move, 0, self.size - 1)
            home = bool(np.array_equal(self._positions[agent], self._home))
            rewards[agent] = (0.0 if was_home else 1.0) if home else -0.01
            terminated[agent] = home
        if not self.leave_home:
            everyone_home = all(terminated.values())
            terminated = dict.fromkeys(terminated, everyone_home)
        truncated = dict.fromkeys(self.agents, self._steps >= self.max_cycles)
        observations = {a: self._observe(a) for a in self.agents}
        infos = {a: {} for a in self.agents}
        self.agents = [a for a in self.agents if not (terminated[a] or truncated[a])]
        return observations, rewards, terminated, truncated, infos

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        cell = 16
        frame = np.full((self.size * cell, self.size * cell, 3), 255, dtype=np.uint8)
        hy, hx = self._home * cell
        frame[hy : hy + cell, hx : hx + cell] = (200, 200, 200)
        for i, agent in enumerate(self.possible_agents):
            if agent in self._positions:
                y, x = self._positions[agent] * cell
                frame[y + 3 : y + cell - 3, x + 3 : x + cell - 3] = (40 * i % 255, 90, 200)
        return frame

    def close(self) -> None:
        pass


def parallel_env(**kwargs: Any) -> RendezvousEnv:
    """Make a rendezvous env (keyword arguments as :class:`RendezvousEnv`)."""
    return RendezvousEnv(**kwargs)
