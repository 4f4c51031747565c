"""Scripted actors: simple controllers that make good demonstrators and opponents.

Use them in a spec as ``python:cogym.bots:<name>``.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace
from typing import Any

import numpy as np
from gymnasium.spaces import Box, Dict, Discrete

__all__ = [
    "CartPoleExpert",
    "GreedyWalker",
    "LunarLanderHeuristic",
    "NimExpert",
    "PendulumExpert",
    "TicTacToePerfect",
]


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

    It lands with a mean return of about 260 over seeds. Seated in a trial it flies the lander
    its action space says (the continuous one of the env's ``config: {continuous: true}``);
    ``continuous=True`` or ``False`` chooses by hand, and must match the space when there is one.
    Needs Box2D (``pip install box2d``).
    """

    def __init__(self, continuous: bool | None = None, actor_class: Any = None) -> None:
        from gymnasium.envs.box2d.lunar_lander import heuristic

        space = getattr(actor_class, "action_space", None)
        fits = {True: space == Box(-1.0, 1.0, (2,), np.float32), False: space == Discrete(4)}
        if space is not None and not any(fits.values()):
            raise ValueError(
                f"LunarLanderHeuristic flies LunarLander-v3 (action space Discrete(4), or "
                f"Box(-1.0, 1.0, (2,), float32) when continuous), not an actor acting in {space}"
            )
        if continuous is None:
            continuous = fits[True]
        elif space is not None and not fits[bool(continuous)]:
            raise ValueError(
                f"LunarLanderHeuristic was given continuous={continuous}, but its actor acts in "
                f"{space}: leave continuous out (it follows the env's action space) or match "
                "the env's own continuous option"
            )
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


_LINES = (
    (0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6),
)  # fmt: skip


@functools.cache
def _value(mine: int, theirs: int) -> int:
    """The value for the player to move (bit masks of the nine squares): the number of empty
    squares plus one when it wins, as negative when it loses, 0 for a draw."""
    empty = [i for i in range(9) if not (mine | theirs) >> i & 1]
    best = -10
    for square in empty:
        after = mine | 1 << square
        if any(all(after >> i & 1 for i in line) for line in _LINES):
            return len(empty)
        best = max(best, -_value(theirs, after) if len(empty) > 1 else 0)
    return 0 if best == -10 else best


class TicTacToePerfect:
    """Plays PettingZoo's ``tictactoe_v3`` perfectly (never loses; wins as soon as it can).

    It reads its marks from plane 0 of the observation and the opponent's from plane 1 (square
    ``3 * row + column`` is action ``3 * row + column``) and plays the first of the best moves.

    >>> board = np.zeros((3, 3, 2), dtype=np.int8)
    >>> board[0, 0, 0] = board[0, 1, 0] = board[1, 1, 1] = board[2, 2, 1] = 1
    >>> TicTacToePerfect().act({"observation": board, "action_mask": np.ones(9, np.int8)})
    2
    """

    def __init__(self, actor_class: Any = None) -> None:
        space = getattr(actor_class, "observation_space", None)
        board = space.spaces.get("observation") if isinstance(space, Dict) else None
        if space is not None and getattr(board, "shape", None) != (3, 3, 2):
            shown = getattr(board, "shape", space)
            raise ValueError(
                f"TicTacToePerfect plays PettingZoo's tictactoe_v3 (a board observation of "
                f"shape (3, 3, 2)), not a game observed as {shown}: seat it in "
                "pettingzoo.classic.tictactoe_v3"
            )

    def act(self, observation: Any) -> int:
        planes = np.asarray(observation["observation"]).reshape(9, 2)
        mine = sum(1 << i for i in range(9) if planes[i, 0])
        theirs = sum(1 << i for i in range(9) if planes[i, 1])
        best, choice = -11, -1
        for square in range(9):
            if (mine | theirs) >> square & 1:
                continue
            after = mine | 1 << square
            if any(all(after >> i & 1 for i in line) for line in _LINES):
                return square
            value = -_value(theirs, after)
            if value > best:
                best, choice = value, square
        return choice
