"""A Gymnasium env with configurable spaces, episode length, step cost and failure tick."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from cogym.spaces import space_from_dict

__all__ = ["ProbeEnv"]


def _fingerprint(*values: Any) -> float:
    digest = hashlib.blake2b(repr(values).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") / 2**64


def _space(value: spaces.Space | dict[str, Any]) -> spaces.Space:
    return value if isinstance(value, spaces.Space) else space_from_dict(value)


class ProbeEnv(gym.Env):
    """Observations are seeded samples of ``observation_space``; every step rewards 1.

    With ``reward="fingerprint"`` each step's reward is instead a hash of the observation and
    the action in ``[0, 1)``, so that an episode's return fingerprints its whole trajectory.
    ``step_seconds`` burns that much CPU per step (a stand-in for an expensive simulator);
    ``fail_at`` raises ``RuntimeError`` on that step; ``received`` keeps the actions of the
    current episode, ``emitted`` the observations. ``leaky_reset=True`` makes it an env whose
    ``reset`` leaves state behind: the number of resets so far goes into every fingerprint, so an
    episode depends on the episodes before it.

    >>> env = ProbeEnv(episode_length=3)
    >>> _ = env.reset(seed=0)
    >>> [env.step(0)[2] for _ in range(3)]
    [False, False, True]
    """

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(
        self,
        observation_space: spaces.Space | dict[str, Any] | None = None,
        action_space: spaces.Space | dict[str, Any] | None = None,
        episode_length: int = 20,
        step_seconds: float = 0.0,
        fail_at: int | None = None,
        render_mode: str | None = None,
        reward: str = "one",
        leaky_reset: bool = False,
    ) -> None:
        if reward not in ("one", "fingerprint"):
            raise ValueError(f"reward must be 'one' or 'fingerprint', got {reward!r}")
        self.reward_kind = reward
        self.observation_space = _space(observation_space) if observation_space else spaces.Box(
            -1.0, 1.0, (3,), np.float32
        )
        self.action_space = _space(action_space) if action_space else spaces.Discrete(2)
        self.episode_length = int(episode_length)
        self.step_seconds = float(step_seconds)
        self.fail_at = fail_at
        self.render_mode = render_mode
        self.leaky_reset = bool(leaky_reset)
        self.resets = 0
        self.received: list[Any] = []
        self.emitted: list[Any] = []
        self._t = 0

    def _observe(self) -> Any:
        obs = self.observation_space.sample()
        self.emitted.append(obs)
        return obs

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None:
            self.observation_space.seed(int(self.np_random.integers(2**31)))
        self._t = 0
        self.resets += 1
        self.received = []
        self.emitted = []
        return self._observe(), {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        if self.step_seconds > 0:
            end = time.perf_counter() + self.step_seconds
            while time.perf_counter() < end:
                pass
        if self.fail_at is not None and self._t == self.fail_at:
            raise RuntimeError(f"ProbeEnv fails at step {self._t} as configured (fail_at)")
        self.received.append(action)
        self._t += 1
        reward = 1.0
        if self.reward_kind == "fingerprint":
            leak = (self.resets,) if self.leaky_reset else ()
            reward = _fingerprint(self.emitted[-1], action, *leak)
        return self._observe(), reward, self._t >= self.episode_length, False, {}

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        frame = np.zeros((32, 32, 3), dtype=np.uint8)
        frame[:, : min(32, self._t), 0] = 255
        return frame
