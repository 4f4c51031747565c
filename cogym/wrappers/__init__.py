"""Adapters between cogym and the Gymnasium / PettingZoo / Stable-Baselines3 world.

One module per direction: ``GymEnvironment`` and ``PettingZooEnvironment`` turn envs into trial
environments (and give the directory its ``gym:`` and ``pettingzoo:`` schemes); ``TrialParallelEnv``
and ``TrialGymEnv`` turn trials into envs; ``RayVecEnv`` turns trials living in Ray actors into an
SB3 vector env; ``TrialVecEnv`` (an SB3 ``VecEnv``) and ``TrialVectorEnv`` (a Gymnasium
``VectorEnv``) run n trials in lockstep in one process, their SB3 actors batched; ``SB3Actor``
turns an SB3 policy into an actor; ``TrialMultiAgentEnv`` turns trials into an RLlib
multi-agent env and ``RLlibActor`` a trained RLlib policy into an actor. Stable-Baselines3,
PyTorch, Ray and RLlib are imported only when ``SB3Actor``, ``RayVecEnv``, ``TrialVecEnv``,
``TrialVectorEnv``, ``TrialMultiAgentEnv`` or ``RLlibActor`` is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cogym.wrappers.gym_environment import GymEnvironment
from cogym.wrappers.pettingzoo_environment import PettingZooEnvironment
from cogym.wrappers.trial_gym_env import TrialGymEnv
from cogym.wrappers.trial_parallel_env import TrialParallelEnv

if TYPE_CHECKING:
    from cogym.wrappers.ray_vec_env import RayVecEnv
    from cogym.wrappers.rllib_actor import RLlibActor
    from cogym.wrappers.rllib_env import TrialMultiAgentEnv
    from cogym.wrappers.sb3_actor import SB3Actor
    from cogym.wrappers.trial_vec_env import TrialVecEnv
    from cogym.wrappers.trial_vector_env import TrialVectorEnv

__all__ = [
    "GymEnvironment",
    "PettingZooEnvironment",
    "RLlibActor",
    "RayVecEnv",
    "SB3Actor",
    "TrialGymEnv",
    "TrialMultiAgentEnv",
    "TrialParallelEnv",
    "TrialVecEnv",
    "TrialVectorEnv",
]


def __getattr__(name: str) -> Any:
    # these import Stable-Baselines3 (and torch): only when asked for
    if name == "SB3Actor":
        from cogym.wrappers.sb3_actor import SB3Actor

        return SB3Actor
    if name == "RayVecEnv":
        from cogym.wrappers.ray_vec_env import RayVecEnv

        return RayVecEnv
    if name == "TrialVecEnv":
        from cogym.wrappers.trial_vec_env import TrialVecEnv

        return TrialVecEnv
    if name == "TrialVectorEnv":
        from cogym.wrappers.trial_vector_env import TrialVectorEnv

        return TrialVectorEnv
    if name == "TrialMultiAgentEnv":
        from cogym.wrappers.rllib_env import TrialMultiAgentEnv

        return TrialMultiAgentEnv
    if name == "RLlibActor":
        from cogym.wrappers.rllib_actor import RLlibActor

        return RLlibActor
    raise AttributeError(f"module 'cogym.wrappers' has no attribute {name!r}")
