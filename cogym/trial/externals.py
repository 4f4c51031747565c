"""The external actors of a trial: those driven from outside, through :meth:`Trial.step`.

:class:`ExternalSeats` keeps, per external actor, what the adapters
(:class:`~cogym.wrappers.TrialParallelEnv`, :class:`~cogym.wrappers.TrialGymEnv`) hand back:
the latest observation, the reward since the last step, how it ended and its info.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cogym.errors import TrialError

__all__ = ["ExternalSeats", "ExternalView"]

ExternalView = tuple[
    dict[str, Any], dict[str, float], dict[str, bool], dict[str, bool], dict[str, Any]
]
"""Observations, rewards, terminated, truncated and infos of external actors, by name."""


class ExternalSeats:
    """What the external actors of one trial have seen, by actor, in order of joining."""

    __slots__ = ("_ended", "_infos", "_live", "_obs", "_rewards", "names", "order")

    def __init__(self, order: tuple[str, ...]) -> None:
        self.order = order
        self.names = frozenset(order)
        self._obs: dict[str, Any] = {}
        self._infos: dict[str, dict[str, Any]] = {}
        self._rewards: dict[str, float] = {}
        self._ended: dict[str, str] = {}
        self._live: set[str] = set()

    def join(self, obs: Mapping[str, Any], infos: Mapping[str, dict[str, Any]]) -> None:
        """The first observations of an episode: the external actors in them join."""
        for name in self.order:
            if name in obs:
                self._obs[name] = obs[name]
                self._infos[name] = infos.get(name, {})
                self._rewards[name] = 0.0
                self._live.add(name)

    def track(
        self,
        obs: Mapping[str, Any],
        rewards: Mapping[str, float],
        terminated: Mapping[str, bool],
        truncated: Mapping[str, bool],
        infos: Mapping[str, dict[str, Any]],
        final_observations: Mapping[str, Any],
    ) -> None:
        """What one tick gave the external actors that have not ended."""
        external_obs = self._obs
        external_rewards = self._rewards
        live = self._live
        ended = self._ended
        for name in self.order:
            if name in ended:
                continue
            if name in rewards:
                external_rewards[name] = external_rewards.get(name, 0.0) + rewards[name]
            if name in obs:
                if name not in external_obs:
                    live.add(name)
                external_obs[name] = obs[name]
            if name in infos:
                self._infos[name] = infos[name]
            if terminated and name in terminated:
                ended[name] = "terminated"
                external_obs[name] = final_observations.get(name)
                live.discard(name)
            elif truncated and name in truncated:
                ended[name] = "truncated"
                external_obs[name] = final_observations.get(name)
                live.discard(name)

    def revise(self, name: str, change: float) -> None:
        """Add ``change`` to the reward ``name`` gets back from this step (a revised past tick)."""
        if name in self._rewards:
            self._rewards[name] += change

    def new_step(self) -> None:
        """A step begins: the rewards handed back count from zero."""
        rewards = self._rewards
        for name in rewards:
            rewards[name] = 0.0

    def truncate(self) -> None:
        """The trial stops early: every joined actor that has not ended is truncated."""
        for name in self.order:
            if name in self._obs and name not in self._ended:
                self._ended[name] = "truncated"
        self._live.clear()

    def view(self, names: list[str] | None = None) -> ExternalView:
        """Latest observation, reward since the last step, flags and info of ``names`` (by
        default every external actor that has joined)."""
        if names is None:
            names = list(self._obs)
        observations, rewards, terminated, truncated, infos = {}, {}, {}, {}, {}
        external_obs = self._obs
        external_rewards = self._rewards
        external_infos = self._infos
        ended = self._ended
        for name in names:
            observations[name] = external_obs[name]
            rewards[name] = external_rewards.get(name, 0.0)
            how = ended.get(name)
            terminated[name] = how == "terminated"
            truncated[name] = how == "truncated"
            infos[name] = external_infos.get(name, {})
        return observations, rewards, terminated, truncated, infos

    @property
    def live(self) -> list[str]:
        """External actors that have joined and not ended, in order of joining."""
        live = self._live
        return [n for n in self._obs if n in live]

    def accepts(self, actions: Mapping[str, Any], pending: frozenset[str]) -> bool:
        """Whether ``actions`` are for live actors only and cover every ``pending`` one."""
        return self._live.issuperset(actions) and pending <= actions.keys()

    def explain_refusal(
        self, actions: Mapping[str, Any], pending: frozenset[str], trial_id: str, tick: int
    ) -> TrialError:
        """The error that says why :meth:`accepts` refused ``actions``."""
        for name in actions:
            if name not in self.names:
                return TrialError(
                    f"trial {trial_id}: {name!r} is not an external actor of this trial "
                    f"(external actors: {sorted(self.names)})"
                )
            if name in self._ended:
                return TrialError(
                    f"trial {trial_id}, tick {tick}: actor {name!r} has already "
                    f"{self._ended[name]}; send actions only for live agents"
                )
            if name not in self._live:
                return TrialError(
                    f"trial {trial_id}, tick {tick}: actor {name!r} has not joined "
                    "the trial yet; send actions only for live agents"
                )
        missing = sorted(pending - actions.keys())
        return TrialError(
            f"trial {trial_id}, tick {tick}: no action given for external "
            f"actor(s) {missing}, whose turn it is"
        )
