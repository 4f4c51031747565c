"""n trials of a spec in lockstep as a Gymnasium ``VectorEnv``, with Gymnasium's semantics.

The same sub-environments as :class:`~cogym.wrappers.TrialVecEnv` (which it may wrap), behind
Gymnasium 1.x's vector API as ``gymnasium.vector.SyncVectorEnv`` gives it: batched
``observation_space`` and ``action_space`` beside ``single_observation_space`` and
``single_action_space``, separate ``terminations`` and ``truncations``, infos as a dict of
arrays with ``_key`` masks, and the ``autoreset_mode`` of ``metadata`` (``NEXT_STEP`` by
default: the step after an episode ends resets that sub-environment, ignoring its action and
returning reward 0; ``SAME_STEP``: the step that ends it resets it at once, with
``final_obs`` and ``final_info`` in the infos; ``DISABLED``: reset it yourself with
``reset(options={"reset_mask": mask})``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from copy import deepcopy
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space, concatenate, create_empty_array, iterate

from cogym.errors import ArgumentError, TrialError
from cogym.spec import TrialSpec
from cogym.wrappers.trial_vec_env import TrialVecEnv

__all__ = ["TrialVectorEnv"]


class TrialVectorEnv(VectorEnv):
    """``n_envs`` trials of ``spec`` in lockstep as a Gymnasium ``VectorEnv`` (or a
    :class:`TrialVecEnv`'s, given instead of a spec); SB3 actors of one model act in one
    batched forward pass per tick. Seeds: ``reset(seed=s)`` gives sub-environment ``i`` seed
    ``s + i``, and its later trials follow :class:`TrialVecEnv`'s rule.

    >>> envs = TrialVectorEnv({"environment": {"implementation": "gym:CartPole-v1"},
    ...                        "actors": [{"name": "player", "implementation": "external"}]},
    ...                       n_envs=3)
    >>> observations, infos = envs.reset(seed=0)
    >>> observations.shape, envs.single_observation_space.shape
    ((3, 4), (4,))
    >>> envs.close()
    """

    def __init__(
        self,
        spec: TrialSpec | Mapping[str, Any] | str | Path | TrialVecEnv,
        n_envs: int | None = None,
        *,
        autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
        copy: bool = True,
        **options: Any,
    ) -> None:
        if isinstance(spec, TrialVecEnv):
            if n_envs is not None and n_envs != spec.num_envs:
                raise ArgumentError(
                    f"TrialVectorEnv over a TrialVecEnv of {spec.num_envs} sub-environments "
                    f"was given n_envs={n_envs}; leave n_envs out"
                )
            self.trials, self._owns_trials = spec, False
        else:
            if n_envs is None:
                raise ArgumentError("TrialVectorEnv(spec, n_envs): give n_envs")
            self.trials, self._owns_trials = TrialVecEnv(spec, n_envs, **options), True
        try:
            self.autoreset_mode = AutoresetMode(autoreset_mode)
        except ValueError:
            known = ", ".join(repr(m.value) for m in AutoresetMode)
            raise ArgumentError(
                f"autoreset_mode must be one of {known} (or gymnasium.vector.AutoresetMode), "
                f"got {autoreset_mode!r}"
            ) from None
        trials = self.trials
        self.num_envs = n = trials.num_envs
        self.copy = copy
        self.single_observation_space = trials.observation_space
        self.single_action_space = trials.action_space
        self.observation_space = batch_space(self.single_observation_space, n)
        self.action_space = batch_space(self.single_action_space, n)
        self.render_mode = trials.render_mode
        self.metadata = {
            "render_modes": [self.render_mode] if self.render_mode else [],
            "autoreset_mode": self.autoreset_mode,
        }
        self.spec = None
        self._observations = create_empty_array(self.single_observation_space, n)
        self._env_obs: list[Any] = [None] * n
        self._rewards = np.zeros((n,), dtype=np.float64)
        self._terminations = np.zeros((n,), dtype=np.bool_)
        self._truncations = np.zeros((n,), dtype=np.bool_)
        self._autoreset_envs = np.zeros((n,), dtype=np.bool_)

    def reset(
        self,
        *,
        seed: int | Sequence[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[Any, dict[str, Any]]:
        n = self.num_envs
        if seed is None:
            seeds: list[int | None] = [None] * n
        elif isinstance(seed, (int, np.integer)):
            seeds = [int(seed) + i for i in range(n)]
        else:
            seeds = list(seed)
        if len(seeds) != n:
            raise ArgumentError(
                f"reset(seed=[...]) needs one seed per sub-environment ({n}), got {len(seeds)}"
            )
        options = dict(options) if options else None
        mask = options.pop("reset_mask", None) if options else None
        indices = list(range(n)) if mask is None else _masked(mask, n)
        self._terminations[indices] = False
        self._truncations[indices] = False
        self._autoreset_envs[indices] = False
        reset = self.trials.reset_each(indices, [seeds[i] for i in indices], [options] * n)
        infos: dict[str, Any] = {}
        for i, (obs, info) in zip(indices, reset, strict=True):
            self._env_obs[i] = obs
            infos = self._add_info(infos, info, i)
        return self._gathered(), infos

    def step(self, actions: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict]:
        trials, mode = self.trials, self.autoreset_mode
        chosen = list(iterate(self.action_space, actions))
        resetting = [i for i in range(self.num_envs) if self._autoreset_envs[i]]
        if resetting and mode is AutoresetMode.DISABLED:
            raise TrialError(
                f"sub-environment(s) {resetting} ended and autoreset_mode is DISABLED: reset "
                "them with reset(options={'reset_mask': mask}) before stepping again"
            )
        stepping = [i for i in range(self.num_envs) if not self._autoreset_envs[i]]
        calls = [trials.reset_call(i) for i in resetting]
        calls += [trials.step_call(i, chosen[i]) for i in stepping]
        outcomes = dict(zip(resetting + stepping, trials.lockstep.run(calls), strict=True))
        infos: dict[str, Any] = {}
        ended = []
        for i in range(self.num_envs):
            if i in resetting:
                self._env_obs[i], info = outcomes[i]
                self._rewards[i] = 0.0
                self._terminations[i] = self._truncations[i] = False
            else:
                obs, reward, terminated, truncated, info = outcomes[i]
                self._env_obs[i], self._rewards[i] = obs, reward
                self._terminations[i], self._truncations[i] = terminated, truncated
                if mode is AutoresetMode.SAME_STEP and (terminated or truncated):
                    infos = self._add_info(infos, {"final_obs": obs, "final_info": info}, i)
                    ended.append(i)
                    continue
            infos = self._add_info(infos, info, i)
        if ended:
            for i, (obs, info) in zip(ended, trials.reset_each(ended), strict=True):
                self._env_obs[i] = obs
                infos = self._add_info(infos, info, i)
        if mode is not AutoresetMode.SAME_STEP:
            self._autoreset_envs = np.logical_or(self._terminations, self._truncations)
        return (
            self._gathered(),
            np.copy(self._rewards),
            np.copy(self._terminations),
            np.copy(self._truncations),
            infos,
        )

    def _gathered(self) -> Any:
        self._observations = concatenate(
            self.single_observation_space, self._env_obs, self._observations
        )
        return deepcopy(self._observations) if self.copy else self._observations

    def render(self) -> tuple[Any, ...]:
        return tuple(env.render() for env in self.trials.envs)

    def call(self, name: str, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        """Call method ``name`` of every sub-environment (a ``TrialGymEnv``), or get the
        attribute if it is not callable."""
        results = []
        for env in self.trials.envs:
            function = env.get_wrapper_attr(name)
            results.append(function(*args, **kwargs) if callable(function) else function)
        return tuple(results)

    def get_attr(self, name: str) -> tuple[Any, ...]:
        return self.call(name)

    def set_attr(self, name: str, values: list[Any] | tuple[Any, ...] | Any) -> None:
        envs = self.trials.envs
        if not isinstance(values, (list, tuple)):
            values = [values] * len(envs)
        if len(values) != len(envs):
            raise ArgumentError(
                f"set_attr({name!r}, values) needs one value per sub-environment ({len(envs)}), "
                f"got {len(values)}"
            )
        for env, value in zip(envs, values, strict=True):
            env.set_wrapper_attr(name, value)

    def close_extras(self, **kwargs: Any) -> None:
        if self._owns_trials:
            self.trials.close()

    def __repr__(self) -> str:
        return f"<TrialVectorEnv({self.trials!r}, autoreset_mode={self.autoreset_mode.value})>"


def _masked(mask: Any, n: int) -> list[int]:
    mask = np.asarray(mask)
    if mask.shape != (n,) or mask.dtype != np.bool_ or not mask.any():
        raise ArgumentError(
            f"options['reset_mask'] must be a bool array of shape ({n},) with a True, got "
            f"{mask.dtype} {mask.shape}"
        )
    return [int(i) for i in np.flatnonzero(mask)]
