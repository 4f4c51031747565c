"""Trial -> PettingZoo ``ParallelEnv``: the external actors become the agents."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gymnasium import spaces
from pettingzoo import ParallelEnv

from cogym.errors import TrialError
from cogym.orchestrator import Orchestrator
from cogym.spec import TrialSpec
from cogym.wrappers._trial_driver import TrialDriver

__all__ = ["TrialParallelEnv"]


class TrialParallelEnv(ParallelEnv):
    """A trial as a PettingZoo parallel env whose agents are the spec's external actors.

    The other actors (bots, SB3 policies, people) act inside the trial. Each ``reset`` starts
    a new trial; ``reset(seed=s)`` gives trial seed ``s`` and the following resets ``s+1``,
    ``s+2`` ... In turn-based (AEC) worlds a ``step`` uses the action of the agent whose turn
    it is, ignores the others' (as PettingZoo's turn-based conversion does), and plays on until
    an agent's turn comes again; an agent joins at its first turn, and its observation is the
    one it last received.

    >>> from cogym.wrappers import TrialParallelEnv
    >>> env = TrialParallelEnv({
    ...     "environment": {"implementation": "pettingzoo:cogym.envs.rendezvous_v0:parallel_env"},
    ...     "actors": [{"name": "walker_0", "implementation": "external"},
    ...                {"name": "walker_1", "implementation": "random"}]})
    >>> observations, infos = env.reset(seed=0)
    >>> env.agents
    ['walker_0']
    """

    metadata = {
        "render_modes": ["rgb_array"],
        "name": "cogym_trial_parallel_v0",
        "is_parallelizable": True,
    }

    def __init__(
        self,
        spec: TrialSpec | Mapping[str, Any] | str | Path,
        *,
        orchestrator: Orchestrator | None = None,
        datastore: Any = None,
        registry: Any = None,
    ) -> None:
        self._driver = TrialDriver(spec, orchestrator, datastore, registry, "TrialParallelEnv")
        self.trial_spec = self._driver.spec
        self.possible_agents = list(self._driver.externals)
        self.agents: list[str] = []
        self._observation_spaces = {
            a: self._driver.classes[a].observation_space for a in self.possible_agents
        }
        self._action_spaces = {a: self._action_space(a) for a in self.possible_agents}
        self.render_mode = self.trial_spec.environment.config.get("render_mode")

    def _action_space(self, agent: str) -> spaces.Space:
        space = self._driver.classes[agent].action_space
        if space is None:
            raise TrialError(f"external actor {agent!r} is an observer; external actors must act")
        return space

    @property
    def trial(self):  # noqa: ANN201  (cogym.trial.Trial | None)
        """The trial of the current episode."""
        return self._driver.trial

    def observation_space(self, agent: str) -> spaces.Space:
        return self._observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self._action_spaces[agent]

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        trial = self._driver.start(seed, options)
        self.agents = trial.live_externals
        observations, _, _, _, infos = trial.external_view(self.agents)
        return observations, infos

    def step(
        self, actions: dict[str, Any]
    ) -> tuple[
        dict[str, Any],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:
        trial = self._driver.trial
        if trial is None:
            raise TrialError("call reset() before step()")
        if trial.done and not self.agents and not actions:
            # a step with no agents, as PettingZoo's parallel envs take one after their end:
            # nothing happens (SuperSuit's black_death_v3 takes one after an episode that
            # ended truncated, before it resets)
            return {}, {}, {}, {}, {}
        before = self.agents
        trial.step(actions)
        self.agents = agents = trial.live_externals
        present = before if before == agents else list(dict.fromkeys(before + agents))
        return trial.external_view(present)

    def render(self) -> Any:
        return self._driver.render()

    def close(self) -> None:
        self._driver.close()

    def __repr__(self) -> str:
        return (
            f"TrialParallelEnv({self.trial_spec.environment.implementation}, "
            f"agents={self.possible_agents})"
        )
