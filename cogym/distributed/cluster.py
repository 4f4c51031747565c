"""Reaching Ray: importing it lazily, connecting to a cluster, sizing workers to its CPUs."""

from __future__ import annotations

import logging
import math
from types import ModuleType
from typing import Any

from cogym.errors import InputError, MissingExtraError

__all__ = ["connect", "import_ray", "worker_cpus"]


def import_ray(feature: str) -> ModuleType:
    """The ``ray`` module, or a :class:`~cogym.errors.MissingExtraError` naming the extra."""
    try:
        import ray
    except ImportError as exc:
        raise MissingExtraError(feature, "ray", "ray") from exc
    return ray


def connect(feature: str, address: str | None = None, **init_options: Any) -> ModuleType:
    """Ray, connected to a cluster: the connection this process has, or ``ray.init(address)``.

    With no address, ``ray.init`` joins the cluster that ``RAY_ADDRESS`` or a running
    ``ray start`` on this machine names, or starts a local one. A connection this process
    already has is used as it is (``ray.shutdown()`` ends it); Ray stays connected after a run,
    so the next run does not pay its start-up again. ``init_options`` go to ``ray.init``.
    """
    ray = import_ray(feature)
    if not ray.is_initialized():
        options: dict[str, Any] = {"logging_level": logging.WARNING}
        options.update(init_options)
        ray.init(address=address, **options)
    return ray


def worker_cpus(ray: ModuleType, count: int, requested: float | None, what: str) -> float:
    """CPUs to reserve per worker: ``requested``, or one each as far as the cluster has them.

    ``min(1, cluster CPUs / count)``: a worker gets a whole core when there are enough, and
    more workers than cores share them (as local processes would) instead of waiting forever
    for cores that do not exist. Pass ``requested`` on an autoscaling cluster.
    """
    if requested is not None:
        if not requested > 0:
            raise InputError(f"CPUs per {what} must be positive, got {requested!r}")
        return float(requested)
    total = float(ray.cluster_resources().get("CPU", 0.0))
    if total <= 0:
        raise InputError(
            f"the Ray cluster has no CPUs to run {what}s on; start it with some "
            "(ray.init(num_cpus=...), `ray start --num-cpus ...`) or name CPUs per "
            f"{what} explicitly"
        )
    return min(1.0, math.floor(total / count * 10_000) / 10_000)
