"""Running trials on Ray: the names this package has always given, now kept elsewhere.

    >>> # orchestrator = Orchestrator(datastore=HDF5Datastore("/shared/trials"), backend="ray")
    >>> # orchestrator.run_many(spec, 10_000, workers=32)
    >>> # vec_env = RayVecEnv(spec, n_envs=8)   # an SB3 VecEnv whose sub-environments run on Ray

:class:`RayPool` is the Ray backend, :mod:`cogym.backends.ray` (``cogym run --backend ray``);
:class:`RayVecEnv` is an adapter, :mod:`cogym.wrappers.ray_vec_env`. Each is imported on first
use, so that a Ray worker running trials does not import Stable-Baselines3 (and PyTorch) for
nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cogym.backends.ray import RayPool
    from cogym.wrappers.ray_vec_env import RayVecEnv

__all__ = ["RayPool", "RayVecEnv"]


def __getattr__(name: str) -> Any:
    if name == "RayPool":
        from cogym.backends.ray import RayPool

        return RayPool
    if name == "RayVecEnv":
        from cogym.wrappers.ray_vec_env import RayVecEnv

        return RayVecEnv
    raise AttributeError(f"module 'cogym.distributed' has no attribute {name!r}")
