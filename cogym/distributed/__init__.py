"""Running trials on Ray, for when one machine is not enough (``pip install "cogym[ray]"``).

    >>> # Orchestrator(datastore=HDF5Datastore("/shared/trials"), backend="ray").run_many(spec, 10_000, workers=32)
    >>> # vec_env = RayVecEnv(spec, n_envs=8)   # an SB3 VecEnv whose sub-environments run on Ray

:mod:`~cogym.distributed.ray_pool` runs trials in Ray actors (``cogym run --backend ray``);
:mod:`~cogym.distributed.ray_vec_env` gives SB3 a vector of trials living in Ray actors;
:mod:`~cogym.distributed.cluster` connects to Ray. Ray itself is imported only when one of them
is used, and the names here load their module on first use, so that a Ray worker running
trials does not import Stable-Baselines3 (and PyTorch) for nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cogym.distributed.ray_pool import RayPool
    from cogym.distributed.ray_vec_env import RayVecEnv

__all__ = ["RayPool", "RayVecEnv"]


def __getattr__(name: str) -> Any:
    if name == "RayPool":
        from cogym.distributed.ray_pool import RayPool

        return RayPool
    if name == "RayVecEnv":
        from cogym.distributed.ray_vec_env import RayVecEnv

        return RayVecEnv
    raise AttributeError(f"module 'cogym.distributed' has no attribute {name!r}")
