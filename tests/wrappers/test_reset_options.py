"""``reset(options=...)`` of TrialGymEnv and TrialParallelEnv reaches the environment's reset."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from cogym.wrappers import TrialGymEnv, TrialParallelEnv


class StartsWhereTold(gym.Env):
    """Observes the ``start`` option of its last reset (0 without one)."""

    observation_space = spaces.Box(-100.0, 100.0, (1,), np.float32)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.start = float((options or {}).get("start", 0.0))
        return np.full(1, self.start, np.float32), {}

    def step(self, action: Any):
        return np.full(1, self.start, np.float32), 0.0, True, False, {}


def starts_where_told(**config: Any) -> StartsWhereTold:
    return StartsWhereTold()


SPEC = {
    "environment": {"implementation": "python:tests.wrappers.test_reset_options:starts_where_told"},
    "actors": [{"name": "player", "implementation": "external"}],
}


def test_trial_gym_env_passes_reset_options_to_the_environment():
    env = TrialGymEnv(SPEC)
    observation, _ = env.reset(seed=1, options={"start": 7.0})
    assert observation[0] == 7.0
    observation, _ = env.reset(seed=2)
    assert observation[0] == 0.0
    env.close()


def test_trial_parallel_env_passes_reset_options_to_the_environment():
    env = TrialParallelEnv(SPEC)
    observations, _ = env.reset(seed=1, options={"start": -3.0})
    assert observations["player"][0] == -3.0
    env.close()
