"""An SB3 ``VecEnv`` whose sub-environments are trials running in Ray actors.

For environments whose step is expensive: each sub-environment is a
:class:`~cogym.wrappers.TrialGymEnv` living in its own Ray actor, so the steps of all
sub-environments run at once, on as many cores (or machines) as the cluster has. It behaves as
SB3's ``SubprocVecEnv`` over the same ``TrialGymEnv``s: automatic reset with
``terminal_observation`` and ``TimeLimit.truncated`` in the step's info, ``reset_infos``,
seeds and options given to the next ``reset``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env.base_vec_env import (
    VecEnv,
    VecEnvIndices,
    VecEnvObs,
    VecEnvStepReturn,
)

from cogym.actors import EXTERNAL
from cogym.backends.ray import connect, worker_cpus
from cogym.datalog import Datalog
from cogym.errors import ArgumentError, CogymError, SpecError, WorkerLostError
from cogym.model_source import RegistryLike
from cogym.orchestrator import Orchestrator
from cogym.spec import TrialSpec
from cogym.wrappers._trial_driver import coerce_spec
from cogym.wrappers.trial_gym_env import TrialGymEnv

__all__ = ["RayVecEnv", "SubEnvironment"]

_FEATURE = "RayVecEnv (sub-environments on Ray)"


class SubEnvironment:
    """What runs inside each Ray actor of a :class:`RayVecEnv`: one ``TrialGymEnv``.

    ``step`` and ``reset`` follow SB3's ``SubprocVecEnv`` worker to the letter.
    """

    def __init__(self, spec: TrialSpec, datastore: Datalog | None, registry: RegistryLike) -> None:
        self.spec = spec
        self.datastore = datastore
        self.registry = registry
        self.env: gym.Env | None = None
        self.reset_info: dict[str, Any] = {}

    def open(self) -> tuple[spaces.Space, spaces.Space, str | None]:
        """Build the environment (errors come back as they are); return its spaces and render
        mode."""
        self.env = TrialGymEnv(self.spec, datastore=self.datastore, registry=self.registry)
        return self.env.observation_space, self.env.action_space, self.env.render_mode

    def step(self, action: Any) -> tuple[Any, float, bool, dict[str, Any], dict[str, Any]]:
        observation, reward, terminated, truncated, info = self.env.step(action)
        done = terminated or truncated
        info["TimeLimit.truncated"] = truncated and not terminated
        if done:
            info["terminal_observation"] = observation
            observation, self.reset_info = self.env.reset()
        return observation, reward, done, info, self.reset_info

    def reset(self, seed: int | None, options: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        maybe_options = {"options": options} if options else {}
        observation, self.reset_info = self.env.reset(seed=seed, **maybe_options)
        return observation, self.reset_info

    def render(self) -> Any:
        return self.env.render()

    def get_attr(self, name: str) -> Any:
        return self.env.get_wrapper_attr(name)

    def has_attr(self, name: str) -> bool:
        try:
            self.env.get_wrapper_attr(name)
        except AttributeError:
            return False
        return True

    def set_attr(self, name: str, value: Any) -> None:
        setattr(self.env, name, value)

    def env_method(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return self.env.get_wrapper_attr(name)(*args, **kwargs)

    def is_wrapped(self, wrapper_class: type[gym.Wrapper]) -> bool:
        from stable_baselines3.common.env_util import is_wrapped

        return is_wrapped(self.env, wrapper_class)

    def close(self) -> None:
        """End the running trial and publish this sub-environment's datastore shard."""
        if self.env is not None:
            self.env.close()
            self.env = None


def _stack(observations: Sequence[Any], space: spaces.Space) -> VecEnvObs:
    """One array per leaf with the sub-environment as first axis (as SB3's vector envs do)."""
    if isinstance(space, spaces.Dict):
        return {key: np.stack([o[key] for o in observations]) for key in space.spaces}
    if isinstance(space, spaces.Tuple):
        return tuple(np.stack([o[i] for o in observations]) for i in range(len(space.spaces)))
    return np.stack(observations)


class RayVecEnv(VecEnv):
    """``n_envs`` trials of ``spec`` (one ``external`` actor) as an SB3 vector env on Ray.

    >>> # from stable_baselines3 import PPO
    >>> # env = RayVecEnv("spec.yaml", n_envs=8, address="ray://head:10001")
    >>> # PPO("MlpPolicy", env, seed=0).learn(100_000)   # PPO seeds sub-env i with seed + i
    >>> # env.close()

    Each sub-environment is a :class:`~cogym.wrappers.TrialGymEnv` in its own Ray actor,
    which reserves ``cpus_per_env`` CPUs (one, or a share when the cluster has fewer CPUs than
    sub-environments); its trials are recorded into ``datastore`` (a directory that every node
    reaches), one shard per sub-environment. As with ``SubprocVecEnv``, the sub-environments
    of a spec with a fixed ``seed`` play the same trials until ``seed()`` gives each its own.
    Ray is connected as :func:`cogym.backends.ray.connect` says (``address``,
    ``init_options``). Per step, the cost of Ray is a remote call per sub-environment (a
    millisecond or so): it pays when a step costs more than that. A sub-environment whose
    process dies raises :class:`~cogym.errors.WorkerLostError`.
    """

    def __init__(
        self,
        spec: TrialSpec | Mapping[str, Any] | str | Path,
        n_envs: int = 1,
        *,
        datastore: Datalog | None = None,
        registry: RegistryLike = None,
        address: str | None = None,
        cpus_per_env: float | None = None,
        init_options: dict[str, Any] | None = None,
    ) -> None:
        if n_envs < 1:
            raise ArgumentError(f"n_envs must be at least 1, got {n_envs}")
        self.trial_spec = coerce_spec(spec)
        externals = [a.name for a in self.trial_spec.actors if a.implementation == EXTERNAL]
        if len(externals) != 1:
            raise SpecError(
                [
                    (
                        "actors",
                        "RayVecEnv needs exactly one actor with 'implementation: external' (the "
                        f"agent that SB3 trains), got {len(externals)}"
                        + (f" ({', '.join(externals)})" if externals else ""),
                    )
                ]
            )
        with Orchestrator(registry=registry) as orchestrator:
            orchestrator.check(self.trial_spec)
        self._ray = ray = connect(_FEATURE, address, **(init_options or {}))
        cpus = worker_cpus(ray, n_envs, cpus_per_env, "sub-environment")
        remote = ray.remote(SubEnvironment).options(
            num_cpus=cpus, max_restarts=0, max_task_retries=0
        )
        self.actors = [remote.remote(self.trial_spec, datastore, registry) for _ in range(n_envs)]
        self.closed = False
        self.waiting = False
        self._pending: list[Any] = []
        try:
            opened = self._gather([actor.open.remote() for actor in self.actors])
        except BaseException:
            self._end_actors()
            raise
        observation_space, action_space, _ = opened[0]
        super().__init__(n_envs, observation_space, action_space)

    # -- talking to the actors ------------------------------------------------------------------

    def _gather(self, refs: Sequence[Any], indices: Sequence[int] | None = None) -> list[Any]:
        """Results of calls to the sub-environments ``indices``, with their errors as raised
        there."""
        from ray.exceptions import RayActorError, RayTaskError

        out = []
        for position, ref in enumerate(refs):
            index = position if indices is None else indices[position]
            try:
                out.append(self._ray.get(ref))
            except RayTaskError as exc:
                cause = exc.cause
                if isinstance(cause, CogymError):
                    raise cause from None
                raise
            except RayActorError as exc:
                detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                raise WorkerLostError(
                    f"sub-environment {index} of {self!r}: its Ray worker died "
                    f"({type(exc).__name__}: {detail}); its trial is lost. Close this RayVecEnv "
                    "and make a new one to go on training"
                ) from exc
        return out

    def _call(self, method: str, *args: Any, indices: VecEnvIndices = None) -> list[Any]:
        chosen = list(self._get_indices(indices))
        refs = [getattr(self.actors[i], method).remote(*args) for i in chosen]
        return self._gather(refs, chosen)

    # -- the VecEnv interface -------------------------------------------------------------------

    def reset(self) -> VecEnvObs:
        refs = [
            actor.reset.remote(self._seeds[i], self._options[i])
            for i, actor in enumerate(self.actors)
        ]
        results = self._gather(refs)
        observations, reset_infos = zip(*results, strict=True)
        self.reset_infos = list(reset_infos)
        self._reset_seeds()
        self._reset_options()
        return _stack(observations, self.observation_space)

    def step_async(self, actions: np.ndarray) -> None:
        self._pending = [
            actor.step.remote(action) for actor, action in zip(self.actors, actions, strict=True)
        ]
        self.waiting = True

    def step_wait(self) -> VecEnvStepReturn:
        pending, self._pending = self._pending, []
        self.waiting = False
        results = self._gather(pending)
        observations, rewards, dones, infos, reset_infos = zip(*results, strict=True)
        self.reset_infos = list(reset_infos)
        return (
            _stack(observations, self.observation_space),
            np.stack(rewards),
            np.stack(dones),
            list(infos),
        )

    def close(self) -> None:
        """End every sub-environment's trial, publish their shards, and end their actors."""
        if self.closed:
            return
        self.closed = True
        if self.waiting:
            self._ray.wait(self._pending, num_returns=len(self._pending))
            self._pending = []
            self.waiting = False
        self._end_actors()

    def _end_actors(self) -> None:
        closing = [actor.close.remote() for actor in self.actors]
        self._ray.wait(closing, num_returns=len(closing), timeout=60)
        for actor in self.actors:
            self._ray.kill(actor, no_restart=True)

    def get_images(self) -> Sequence[np.ndarray | None]:
        if self.render_mode != "rgb_array":
            warnings.warn(
                f"The render mode is {self.render_mode}, but this method assumes it is "
                "`rgb_array` to obtain images.",
                stacklevel=2,
            )
            return [None for _ in self.actors]
        return self._call("render")

    def has_attr(self, attr_name: str) -> bool:
        return all(self._call("has_attr", attr_name))

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return self._call("get_attr", attr_name, indices=indices)

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        self._call("set_attr", attr_name, value, indices=indices)

    def env_method(
        self,
        method_name: str,
        *method_args: Any,
        indices: VecEnvIndices = None,
        **method_kwargs: Any,
    ) -> list[Any]:
        return self._call("env_method", method_name, method_args, method_kwargs, indices=indices)

    def env_is_wrapped(
        self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None
    ) -> list[bool]:
        return self._call("is_wrapped", wrapper_class, indices=indices)

    def __repr__(self) -> str:
        return f"RayVecEnv({self.trial_spec.environment.implementation}, n_envs={len(self.actors)})"
