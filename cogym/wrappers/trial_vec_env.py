"""n trials of a spec in one process, in lockstep, as one Stable-Baselines3 ``VecEnv``.

Each sub-environment is a :class:`~cogym.wrappers.TrialGymEnv` (one external actor per trial)
and the vector env behaves as SB3's ``DummyVecEnv`` over them: automatic reset with
``terminal_observation`` and ``TimeLimit.truncated`` in the step's infos, ``reset_infos``,
``seed``, ``set_options``, ``env_method``, ``get_attr``, ``set_attr``, ``env_is_wrapped`` and
``render``. The difference is inside the trials: their steps (and resets) run side by side in
a :class:`~cogym.lockstep.Lockstep`, so the SB3 actors of one model (frozen opponents,
partners) across all trials act in ONE batched forward pass per tick. For Gymnasium's vector
API, see :class:`~cogym.wrappers.TrialVectorEnv` (which also wraps a ``TrialVecEnv``).
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from copy import deepcopy
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env import DummyVecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvObs, VecEnvStepReturn
from stable_baselines3.common.vec_env.util import dict_to_obs

from cogym.errors import ArgumentError
from cogym.lockstep import Lockstep
from cogym.orchestrator import Orchestrator
from cogym.spec import TrialSpec
from cogym.wrappers._trial_driver import coerce_spec
from cogym.wrappers.trial_gym_env import TrialGymEnv

__all__ = ["TrialVecEnv"]

_SEED_LIMIT = 1 << 63

Stepped = tuple[Any, float, bool, bool, dict[str, Any]]


class TrialVecEnv(DummyVecEnv):
    """``n_envs`` trials of ``spec`` in lockstep, as an SB3 ``VecEnv``; the spec has exactly
    one external actor (the agent being trained), as for :class:`TrialGymEnv`.

    Seeds: sub-environment ``i`` starts with seed ``base + i`` and each next trial of it has
    the seed of its last plus ``n_envs``, so the trials of a run never share a seed; ``base``
    is the seed given to :meth:`seed` (or the spec's seed, or a random one). A trial of seed
    ``s`` is the same, tick for tick, as ``TrialGymEnv(spec).reset(seed=s)`` stepped with the
    same actions, whether or not its SB3 actors were batched.

    >>> env = TrialVecEnv({"environment": {"implementation": "gym:CartPole-v1"},
    ...                    "actors": [{"name": "player", "implementation": "external"}],
    ...                    "seed": 0}, n_envs=4)
    >>> env.reset().shape
    (4, 4)
    >>> observations, rewards, dones, infos = env.step(np.zeros(4, dtype=np.int64))
    >>> rewards.tolist()
    [1.0, 1.0, 1.0, 1.0]
    >>> env.close()
    """

    def __init__(
        self,
        spec: TrialSpec | Mapping[str, Any] | str | Path,
        n_envs: int,
        *,
        orchestrator: Orchestrator | None = None,
        datastore: Any = None,
        registry: Any = None,
    ) -> None:
        if isinstance(n_envs, bool) or not isinstance(n_envs, int) or n_envs < 1:
            raise ArgumentError(f"TrialVecEnv needs n_envs >= 1 (an int), got {n_envs!r}")
        self.trial_spec = coerce_spec(spec)
        self._owns_orchestrator = orchestrator is None
        self.orchestrator = orchestrator or Orchestrator(datastore=datastore, registry=registry)
        envs: list[TrialGymEnv] = []
        try:
            for _ in range(n_envs):
                envs.append(TrialGymEnv(self.trial_spec, orchestrator=self.orchestrator))
            super().__init__([partial(_given, env) for env in envs])
        except BaseException:
            for env in envs:
                env.close()
            if self._owns_orchestrator:
                self.orchestrator.close()
            raise
        self.agent = envs[0].agent
        # trials with deadlines share the process's one interval timer: those run one by one
        self.lockstep = Lockstep(enabled=not self.trial_spec.has_deadlines)
        base = self.trial_spec.seed
        if base is None:
            base = secrets.randbits(31)
        self._next_seeds: list[int] = [(base + i) % _SEED_LIMIT for i in range(n_envs)]

    # -- the sub-environments, side by side ---------------------------------------------------

    def reset_call(
        self, i: int, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> partial[tuple[Any, dict[str, Any]]]:
        """The call that starts the next trial of sub-environment ``i`` (with ``seed``, or
        else the next seed of the rule above), for :attr:`lockstep` to run."""
        if seed is None:
            seed = self._next_seeds[i]
        self._next_seeds[i] = (int(seed) + self.num_envs) % _SEED_LIMIT
        return partial(self.envs[i].reset, seed=int(seed), options=options or None)

    def step_call(self, i: int, action: Any) -> partial[Stepped]:
        """The call that steps the trial of sub-environment ``i``, for :attr:`lockstep`."""
        return partial(self.envs[i].step, action)

    def reset_each(
        self,
        indices: Sequence[int],
        seeds: Sequence[int | None] | None = None,
        options: Sequence[dict[str, Any] | None] | None = None,
    ) -> list[tuple[Any, dict[str, Any]]]:
        """Start the next trial of each sub-environment in ``indices`` side by side; their
        ``(observation, info)``."""
        return self.lockstep.run(
            [
                self.reset_call(i, seeds[k] if seeds else None, options[k] if options else None)
                for k, i in enumerate(indices)
            ]
        )

    def step_each(self, indices: Sequence[int], actions: Sequence[Any]) -> list[Stepped]:
        """Step the trial of each sub-environment in ``indices`` with ``actions[k]``, side by
        side; what each ``TrialGymEnv.step`` returns."""
        pairs = zip(indices, actions, strict=True)
        return self.lockstep.run([self.step_call(i, a) for i, a in pairs])

    # -- SB3's VecEnv -------------------------------------------------------------------------

    def reset(self) -> VecEnvObs:
        indices = range(self.num_envs)
        options = [o or None for o in self._options]
        started = self.reset_each(indices, self._seeds, options)
        self.reset_infos[:] = [info for _, info in started]
        self._reset_seeds()
        self._reset_options()
        return self._observations_at_once([obs for obs, _ in started])

    def step_wait(self) -> VecEnvStepReturn:
        stepped = self.step_each(range(self.num_envs), self.actions)
        observations = [s[0] for s in stepped]
        rewards = [s[1] for s in stepped]
        dones = [s[2] or s[3] for s in stepped]
        infos = []
        ended = []
        for i, (obs, _, terminated, truncated, given) in enumerate(stepped):
            info = dict(given)
            info["TimeLimit.truncated"] = truncated and not terminated
            if dones[i]:
                info["terminal_observation"] = obs
                ended.append(i)
            infos.append(info)
        self.buf_infos[:] = infos
        if ended:
            for i, (obs, info) in zip(ended, self.reset_each(ended), strict=True):
                self.reset_infos[i] = info
                observations[i] = obs
        self.buf_rews[:] = rewards
        self.buf_dones[:] = dones
        # as DummyVecEnv's deepcopy (the infos are the step's own, each made afresh)
        infos = [deepcopy(info) if len(info) > 1 else info for info in infos]
        return (
            self._observations_at_once(observations),
            np.copy(self.buf_rews),
            np.copy(self.buf_dones),
            infos,
        )

    def _observations_at_once(self, observations: list[Any]) -> VecEnvObs:
        """Write each sub-environment's observation into DummyVecEnv's buffers (one assignment
        per key, not one per sub-environment) and return a copy of them, as ``_obs_from_buf``
        does (a shallow copy of the arrays in place of its deepcopy of the dict)."""
        buffers = self.buf_obs
        for key, buffer in buffers.items():
            buffer[:] = observations if key is None else [obs[key] for obs in observations]
        copied = OrderedDict((key, buffer.copy()) for key, buffer in buffers.items())
        return dict_to_obs(self.observation_space, copied)

    def close(self) -> None:
        super().close()
        if self._owns_orchestrator:
            self.orchestrator.close()

    def __repr__(self) -> str:
        return (
            f"<TrialVecEnv({self.trial_spec.environment.implementation}, agent={self.agent!r}, "
            f"n_envs={self.num_envs})>"
        )


def _given(env: TrialGymEnv) -> TrialGymEnv:
    return env
