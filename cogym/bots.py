"""Scripted actors: simple controllers that make good demonstrators and opponents.

Use them in a spec as ``python:cogym.bots:<name>``.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

__all__ = ["CartPoleExpert", "GreedyWalker", "LunarLanderHeuristic", "NimExpert", "PendulumExpert"]


class CartPoleExpert:
    """Balances CartPole-v1 for the full 500 steps (a linear controller on angle and velocity).

    >>> expert = CartPoleExpert()
    >>> expert.act(np.array([0.0, 0.0, 0.05, 0.0]))
    1
    """

    def __init__(self, gains: tuple[float, float, float, float] = (0.01, 0.1, 1.0, 0.5)) -> None:
        self.gains = np.asarray(gains, dtype=np.float64)

    def act(self, observation: Any) -> int:
        return int(float(np.dot(self.gains, observation)) > 0.0)


class PendulumExpert:
    """Swings Pendulum-v1 up by pumping energy, then balances with a PD controller."""

    def __init__(self, max_torque: float = 2.0) -> None:
        self.max_torque = max_torque

    def act(self, observation: Any) -> np.ndarray:
        cos_theta, sin_theta, velocity = (float(v) for v in observation)
        theta = np.arctan2(sin_theta, cos_theta)
        if cos_theta > 0.85:
            torque = -10.0 * theta - 2.0 * velocity
        else:
            energy = 0.5 * velocity**2 + 10.0 * (cos_theta - 1.0)
            target = 0.0
            torque = -(energy - target) * velocity * 1.0
            if abs(velocity) < 1e-3:
                torque = self.max_torque
        torque = float(np.clip(torque, -self.max_torque, self.max_torque))
        return np.array([torque], dtype=np.float32)


class LunarLanderHeuristic:
    """Gymnasium's own controller for LunarLander-v3 (``lunar_lander.heuristic``), as an actor.

    It lands with a mean return of about 260 over seeds; ``continuous=True`` gives the
    controller of the continuous version (``config: {continuous: true}`` of the env).
    Needs Box2D (``pip install box2d``).
    """

    def __init__(self, continuous: bool = False) -> None:
        from gymnasium.envs.box2d.lunar_lander import heuristic

        self.continuous = bool(continuous)
        self._heuristic = heuristic
        # the controller only reads ``env.unwrapped.continuous`` from the env it is given
        self._env = SimpleNamespace(unwrapped=SimpleNamespace(continuous=self.continuous))

    def act(self, observation: Any) -> Any:
        action = self._heuristic(self._env, observation)
        if self.continuous:
            return np.asarray(action, dtype=np.float32)
        return int(action)


class GreedyWalker:
    """Walks straight home in :mod:`cogym.envs.rendezvous_v0`."""

    def act(self, observation: Any) -> int:
        row, col = float(observation[0]), float(observation[1])
        if abs(row) >= abs(col) and row != 0:
            return 4 if row > 0 else 3
        if col != 0:
            return 2 if col > 0 else 1
        return 0


class NimExpert:
    """Plays :mod:`cogym.envs.nim_v0` perfectly: leaves a multiple of four stones when it can."""

    def act(self, observation: Any) -> int:
        left = int(observation["observation"][0])
        take = left % 4
        if take == 0:
            mask = observation["action_mask"]
            return int(np.flatnonzero(mask)[0])
        return take - 1
