"""How unsure a learner is of its action in a state: what active queries ask the teacher on.

The measure is chosen by name (:data:`MEASURES`):

- ``"entropy"`` (discrete, MultiDiscrete and MultiBinary actions): the entropy of the
  policy's action distribution divided by its largest possible value, so 0 is certain and 1
  is uniform.
- ``"margin"`` (Discrete actions): one minus the difference between the two likeliest
  actions' probabilities, so 0 is certain and 1 is a tie between the two best actions.
- ``"ensemble"`` (Discrete actions, with an ensemble): how much of the ensemble's belief is
  on other actions than the learner's, ``1 - mean_m p_m(a)`` over the members ``m`` (the
  learner among them) for the learner's action ``a``; members trained on resampled trials
  extrapolate differently away from the labelled states, so this also catches states where
  the learner alone is sure of itself but wrong.
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
    >>> measure.scores(np.zeros((3, 4), dtype=np.float32)).shape
    (3,)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

__all__ = ["MEASURES", "Uncertainty", "check_measure"]

MEASURES = ("entropy", "margin", "ensemble")
"""The names of the measures of discrete actions (Box actions use the ensemble's spread)."""


def check_measure(measure: str, space: spaces.Space) -> str | None:
    """Why ``measure`` cannot measure actions in ``space``, or ``None`` if it can."""
    if measure not in MEASURES:
        return f"expected one of {', '.join(MEASURES)}, got {measure!r}"
    if isinstance(space, spaces.Box) or measure == "entropy":
        return None
    if not isinstance(space, spaces.Discrete):
        return f"{measure!r} measures Discrete actions; use 'entropy' for actions in {space}"
    return None


class Uncertainty:
    """The deterministic action of ``policy`` (an SB3 policy) and how unsure it is of it.

    ``ensemble`` holds more policies of the same spaces (Box actions, or Discrete ones with
    ``measure="ensemble"``); the learner is one of the members.
    """

    def __init__(self, policy: Any, ensemble: Sequence[Any] = (), measure: str = "entropy") -> None:
        self.policy = policy
        self.space: spaces.Space = policy.action_space
        self.ensemble = tuple(ensemble)
        problem = check_measure(measure, self.space)
        if problem is not None:
            raise ValueError(problem)
        box = isinstance(self.space, spaces.Box)
        if measure == "ensemble" and not box and not self.ensemble:
            raise ValueError("the 'ensemble' measure needs at least one more policy")
        if self.ensemble and not box and measure != "ensemble":
            raise ValueError(f"an ensemble does not take part in the {measure!r} measure")
        if box:
            self.name = "disagreement" if self.ensemble else "gaussian entropy"
            span = (self.space.high.astype(np.float64) - self.space.low) / 2.0
            self._scale = np.where(np.isfinite(span) & (span > 0), span, 1.0)
        else:
            self.name = {"ensemble": "disagreement"}.get(measure, measure)
            self._largest = _largest_entropy(self.space)
        self.measure = measure
        import torch

        self._torch = torch

    def __call__(self, observation: Any) -> tuple[Any, float]:
        """The action for one observation and the uncertainty of it."""
        actions, scores = self._measure(observation)
        action = actions.squeeze(axis=0)
        if isinstance(self.space, spaces.Discrete):
            action = np.int64(action)
        return action, float(scores[0])

    def scores(self, observations: Any) -> np.ndarray:
        """The uncertainty in each of a batch of observations (a first axis of states)."""
        return self._measure(observations)[1]

    def _measure(self, observation: Any) -> tuple[np.ndarray, np.ndarray]:
        with self._torch.no_grad():
            actions, distribution = self._act(self.policy, observation)
            if isinstance(self.space, spaces.Box):
                if not self.ensemble:
                    entropy = distribution.entropy().cpu().numpy().reshape(-1)
                    return actions, entropy / max(1, int(np.prod(self.space.shape)))
                members = [actions] + [self._act(p, observation)[0] for p in self.ensemble]
                spread = np.std(np.stack(members).astype(np.float64), axis=0) / self._scale
                return actions, spread.reshape(len(actions), -1).mean(axis=1)
            if self.measure == "entropy":
                entropy = distribution.entropy().cpu().numpy().reshape(-1).astype(np.float64)
                if self._largest <= 0:
                    return actions, entropy * 0.0
                return actions, np.clip(entropy / self._largest, 0.0, 1.0)  # float32 rounding
            probs = distribution.distribution.probs.cpu().numpy().astype(np.float64)
            if self.measure == "margin":
                top = np.sort(probs, axis=1)[:, -2:]
                return actions, np.clip(1.0 - (top[:, 1] - top[:, 0]), 0.0, 1.0)
            chosen = actions.reshape(-1).astype(np.int64)
            rows = np.arange(len(chosen))
            belief = probs[rows, chosen]
            for member in self.ensemble:
                belief = belief + self._act(member, observation)[1].distribution.probs.cpu(
                ).numpy()[rows, chosen]
            return actions, np.clip(1.0 - belief / (1 + len(self.ensemble)), 0.0, 1.0)

    def _act(self, policy: Any, observation: Any) -> tuple[np.ndarray, Any]:
        """The deterministic actions of ``policy`` (one row per state), and the distribution."""
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
        return actions, distribution

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
