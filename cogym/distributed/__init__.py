"""Running trials on Ray, for when one machine is not enough (``pip install "cogym[ray]"``).

    >>> # Orchestrator(datastore=HDF5Datastore("/shared/trials"), backend="ray").run_many(spec, 10_000, workers=32)
    >>> # vec_env = RayVecEnv(spec, n_envs=8)   # an SB3 VecEnv whose sub-environments run on Ray

:mod:`~cogym.distributed.ray_pool` runs trials in Ray actors (``cogym run --backend ray``);
:mod:`~cogym.distributed.ray_vec_env` gives SB3 a vector of trials living in Ray actors;
:mod:`~cogym.distributed.cluster` connects to Ray. Ray itself is imported only when one of them
is used.
"""

from __future__ import annotations

from cogym.distributed.ray_pool import RayPool
from cogym.distributed.ray_vec_env import RayVecEnv

__all__ = ["RayPool", "RayVecEnv"]
