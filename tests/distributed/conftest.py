"""One small local Ray per test module (2 CPUs, a 200 MB object store, no dashboard)."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest


@pytest.fixture(scope="module")
def ray_session() -> Iterator[ModuleType]:
    import ray

    ray.init(
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=200 * 1024**2,
        logging_level="WARNING",
    )
    yield ray
    ray.shutdown()
