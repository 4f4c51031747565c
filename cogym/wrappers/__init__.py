"""Adapters between cogym and the Gymnasium / PettingZoo / Stable-Baselines3 world.

One module per direction: ``GymEnvironment`` and ``PettingZooEnvironment`` turn envs into trial
environments; ``TrialParallelEnv`` and ``TrialGymEnv`` turn trials into envs; ``SB3Actor`` turns an
SB3 policy into an actor (Stable-Baselines3 and PyTorch are imported only when it is used).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cogym.wrappers.gym_environment import GymEnvironment
from cogym.wrappers.pettingzoo_environment import PettingZooEnvironment
from cogym.wrappers.trial_gym_env import TrialGymEnv
from cogym.wrappers.trial_parallel_env import TrialParallelEnv

if TYPE_CHECKING:
    from cogym.wrappers.sb3_actor import SB3Actor

__all__ = ["GymEnvironment", "PettingZooEnvironment", "TrialParallelEnv", "TrialGymEnv", "SB3Actor"]


def __getattr__(name: str) -> Any:
    if name == "SB3Actor":
        from cogym.wrappers.sb3_actor import SB3Actor

        return SB3Actor
    raise AttributeError(f"module 'cogym.wrappers' has no attribute {name!r}")
