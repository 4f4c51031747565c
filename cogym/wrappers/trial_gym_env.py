"""Trial -> Gymnasium ``Env``: the one external actor becomes the agent."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from cogym.errors import SpecError, TrialError
from cogym.orchestrator import Orchestrator
from cogym.spec import TrialSpec
from cogym.wrappers._trial_driver import TrialDriver

__all__ = ["TrialGymEnv"]


class TrialGymEnv(gym.Env):
    """A trial as a Gymnasium env, for a spec with exactly one external actor.

    The other actors act inside the trial; each ``reset`` starts a new trial (seeded as in
    :class:`~cogym.wrappers.TrialParallelEnv`).

    >>> env = TrialGymEnv({"environment": {"implementation": "gym:CartPole-v1"},
    ...                    "actors": [{"name": "player", "implementation": "external"}]})
    >>> observation, info = env.reset(seed=0)
    >>> observation.shape
    (4,)
    """

    def __init__(
        self,
        spec: TrialSpec | Mapping[str, Any] | str | Path,
        *,
        orchestrator: Orchestrator | None = None,
        datastore: Any = None,
        registry: Any = None,
    ) -> None:
        self._driver = TrialDriver(spec, orchestrator, datastore, registry, "TrialGymEnv")
        self.trial_spec = self._driver.spec
        if len(self._driver.externals) != 1:
            self._driver.close()
            raise SpecError(
                [
                    (
                        "actors",
                        "TrialGymEnv needs exactly one actor with 'implementation: external', "
                        f"got {len(self._driver.externals)} ({', '.join(self._driver.externals)}); "
                        "use TrialParallelEnv for several",
                    )
                ]
            )
        self.agent = self._driver.externals[0]
        actor_class = self._driver.classes[self.agent]
        if actor_class.action_space is None:
            raise SpecError(
                [("actors", f"external actor {self.agent!r} is an observer; it must act")]
            )
        self._observation: Any = None
        self._ended_unplayed = False
        self.observation_space = actor_class.observation_space
        self.action_space = actor_class.action_space
        self.render_mode = self.trial_spec.environment.config.get("render_mode")
        self.metadata = {"render_modes": [self.render_mode] if self.render_mode else []}
        fps = self._driver.environment_metadata.get("render_fps")
        if fps is not None:
            self.metadata["render_fps"] = fps

    @property
    def trial(self):  # noqa: ANN201  (cogym.trial.Trial | None)
        """The trial of the current episode."""
        return self._driver.trial

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        trial = self._driver.start(seed, options)
        observations, _, _, _, infos = trial.external_view()
        if self.agent not in observations:
            raise TrialError(
                f"trial {trial.trial_id}: external actor {self.agent!r} did not get an "
                f"observation at the start (state {trial.state.value}, error: {trial.error})"
            )
        self._observation = observations[self.agent]
        # the actors inside may end it before the agent's first turn (a poker opponent who
        # folds first): the next step then ends the episode, as the env's step would
        self._ended_unplayed = trial.done
        return self._observation, infos[self.agent]

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        trial = self._driver.trial
        if trial is None:
            raise TrialError("call reset() before step()")
        if self._ended_unplayed:
            self._ended_unplayed = False
        else:
            trial.step({self.agent: action})
        observations, rewards, terminated, truncated, infos = trial.external_view()
        name = self.agent
        self._observation = observations[name]
        return (
            self._observation,
            float(rewards[name]),
            terminated[name],
            truncated[name],
            infos[name],
        )

    def action_masks(self) -> np.ndarray:
        """The legal actions of the last observation, from its ``action_mask`` (as PettingZoo's
        classic games give it), for sb3-contrib's ``MaskablePPO``.

        >>> env = TrialGymEnv({
        ...     "environment": {"implementation": "pettingzoo:pettingzoo.classic.tictactoe_v3:env"},
        ...     "actors": [{"name": "player_1", "implementation": "external"},
        ...                {"name": "player_2", "implementation": "random"}], "seed": 0})
        >>> _ = env.reset(seed=0)
        >>> env.action_masks().tolist()
        [True, True, True, True, True, True, True, True, True]
        """
        observation = self._observation
        if observation is None:
            raise TrialError("call reset() before action_masks()")
        if not isinstance(observation, Mapping) or "action_mask" not in observation:
            raise TrialError(
                f"external actor {self.agent!r} observes {self.observation_space}, with no "
                "'action_mask' entry: there are no action masks to give (train with "
                "MaskablePPO's use_masking=False, or with PPO)"
            )
        return np.asarray(observation["action_mask"], dtype=bool)

    def render(self) -> Any:
        return self._driver.render()

    def close(self) -> None:
        self._driver.close()

    def __repr__(self) -> str:
        return f"<TrialGymEnv({self.trial_spec.environment.implementation}, agent={self.agent!r})>"

    def __str__(self) -> str:
        return repr(self)
