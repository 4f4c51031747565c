"""How unsure a learner is of its action in a state: what active queries ask the teacher on.

- Discrete, MultiDiscrete and MultiBinary actions: the entropy of the policy's action
  distribution divided by its largest possible value, so 0 is certain and 1 is uniform.
- Box actions, with an ensemble: how far the members' actions are apart, as the standard
  deviation across members per action dimension divided by half that dimension's range (or
  by 1 where the range is unbounded), averaged over dimensions.
- Box actions without one: the Gaussian's entropy per dimension (nats). SB3's policies keep
  one standard deviation for every state, so this measure is the same in every state; use an
  ensemble to query where the learner is unsure.

    >>> from stable_baselines3 import PPO
    >>> measure = Uncertainty(PPO("MlpPolicy", "CartPole-v1").policy)
    >>> action, score = measure(np.zeros(4, dtype=np.float32))
    >>> measure.name, 0.0 <= score <= 1.0
    ('entropy', True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

__all__ = ["Uncertainty"]


class Uncertainty:
    """The deterministic action of ``policy`` (an SB3 policy) and how unsure it is of it.

    ``ensemble`` holds more policies of the same spaces (Box actions only); the learner is
    one of the members.
    """

    def __init__(self, policy: Any, ensemble: Sequence[Any] = ()) -> None:
        self.policy = policy
        self.space: spaces.Space = policy.action_space
        self.ensemble = tuple(ensemble)
        box = isinstance(self.space, spaces.Box)
        if self.ensemble and not box:
            raise ValueError("an ensemble measures disagreement of continuous (Box) actions only")
        if box:
            self.name = "disagreement" if self.ensemble else "gaussian entropy"
            span = (self.space.high.astype(np.float64) - self.space.low) / 2.0
            self._scale = np.where(np.isfinite(span) & (span > 0), span, 1.0)
        else:
            self.name = "entropy"
            self._largest = _largest_entropy(self.space)
        import torch

        self._torch = torch

    def __call__(self, observation: Any) -> tuple[Any, float]:
        with self._torch.no_grad():
            action, distribution = self._act(self.policy, observation)
            if not isinstance(self.space, spaces.Box):
                entropy = float(distribution.entropy().sum())
                return action, entropy / self._largest if self._largest > 0 else 0.0
            if not self.ensemble:
                entropy = float(distribution.entropy().sum())
                return action, entropy / max(1, int(np.prod(self.space.shape)))
            members = [action] + [self._act(p, observation)[0] for p in self.ensemble]
        spread = np.std(np.stack(members).astype(np.float64), axis=0) / self._scale
        return action, float(np.mean(spread))

    def _act(self, policy: Any, observation: Any) -> tuple[Any, Any]:
        """What ``policy.predict(observation, deterministic=True)`` gives, and the distribution."""
        policy.set_training_mode(False)
        tensor, _ = policy.obs_to_tensor(observation)
        distribution = policy.get_distribution(tensor)
        actions = distribution.get_actions(deterministic=True)
        actions = actions.cpu().numpy().reshape((-1, *self.space.shape))
        if isinstance(self.space, spaces.Box):
            if policy.squash_output:
                actions = policy.unscale_action(actions)
            else:
                actions = np.clip(actions, self.space.low, self.space.high)
        action = actions.squeeze(axis=0)
        if isinstance(self.space, spaces.Discrete):
            return np.int64(action), distribution
        return action, distribution

    def __repr__(self) -> str:
        extra = f", ensemble of {len(self.ensemble) + 1}" if self.ensemble else ""
        return f"Uncertainty({self.name}, actions {self.space}{extra})"


def _largest_entropy(space: spaces.Space) -> float:
    if isinstance(space, spaces.Discrete):
        return math.log(int(space.n))
    if isinstance(space, spaces.MultiDiscrete):
        return float(np.sum(np.log(space.nvec.astype(np.float64))))
    if isinstance(space, spaces.MultiBinary):
        return float(np.prod(space.shape)) * math.log(2.0)
    raise ValueError(f"no entropy measure for actions in {space}")
