"""Adapters between cogym and the Gymnasium / PettingZoo / Stable-Baselines3 world.

One module per direction: ``GymEnvironment`` and ``PettingZooEnvironment`` turn envs into trial
environments (and give the directory its ``gym:`` and ``pettingzoo:`` schemes); ``TrialParallelEnv``
and ``TrialGymEnv`` turn trials into envs; ``RayVecEnv`` turns trials living in Ray actors into an
SB3 vector env; ``SB3Actor`` turns an SB3 policy into an actor. Stable-Baselines3, PyTorch and
Ray are imported only when ``SB3Actor`` or ``RayVecEnv`` is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cogym.wrappers.gym_environment import GymEnvironment
from cogym.wrappers.pettingzoo_environment import PettingZooEnvironment
from cogym.wrappers.trial_gym_env import TrialGymEnv
from cogym.wrappers.trial_parallel_env import TrialParallelEnv

if TYPE_CHECKING:
    from cogym.wrappers.ray_vec_env import RayVecEnv
    from cogym.wrappers.sb3_actor import SB3Actor

__all__ = [
    "GymEnvironment",
    "PettingZooEnvironment",
    "RayVecEnv",
    "SB3Actor",
    "TrialGymEnv",
    "TrialParallelEnv",
]


def __getattr__(name: str) -> Any:
    # these import Stable-Baselines3 (and torch): only when asked for
    if name == "SB3Actor":
        from cogym.wrappers.sb3_actor import SB3Actor

        return SB3Actor
    if name == "RayVecEnv":
        from cogym.wrappers.ray_vec_env import RayVecEnv

        return RayVecEnv
    raise AttributeError(f"module 'cogym.wrappers' has no attribute {name!r}")
