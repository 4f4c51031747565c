"""Running trials on Ray, for when one machine is not enough (``pip install "cogym[ray]"``).

    >>> # Orchestrator(datastore=HDF5Datastore("/shared/trials"), backend="ray").run_many(spec, 10_000, workers=32)

:mod:`~cogym.distributed.ray_pool` runs trials in Ray actors (``cogym run --backend ray``);
:mod:`~cogym.distributed.cluster` connects to Ray. Ray itself is imported only when one of them
is used.
"""

from __future__ import annotations

from cogym.distributed.ray_pool import RayPool

__all__ = ["RayPool"]
