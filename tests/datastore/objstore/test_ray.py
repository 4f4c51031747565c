"""A Ray run recording to the S3 server: workers that share no folder with the driver (their
spool is theirs, and is gone before the driver reads) record every trial."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from cogym import Orchestrator, TrialState
from cogym.datastore import HDF5Datastore
from tests.conftest import PROBE, make_spec

pytestmark = [pytest.mark.ray, pytest.mark.slow]


@pytest.fixture
def ray_workers(s3_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[ModuleType, Path]]:
    """A local Ray whose workers spool under a folder of their own, with the S3 server's
    credentials and endpoint."""
    ray = pytest.importorskip("ray", reason="needs ray (the ray extra, in the test extra)")
    spool = tmp_path / "worker-spool"
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=200 * 1024**2,
        logging_level="WARNING",
        runtime_env={
            "env_vars": {
                **s3_env,
                "COGYM_SPOOL": str(spool),
                "COGYM_CACHE": str(tmp_path / "worker-cache"),
            }
        },
    )
    yield ray, spool
    ray.shutdown()


def test_a_ray_run_with_two_workers_records_every_trial_to_the_bucket(
    s3_url: str, ray_workers: tuple[ModuleType, Path]
) -> None:
    _, worker_spool = ray_workers
    spec = make_spec(PROBE, config={"episode_length": 8}, seed=0)
    with Orchestrator(datastore=HDF5Datastore(s3_url), backend="ray") as orchestrator:
        results = list(orchestrator.iter_run(spec, 10, workers=2))
    assert [r.state for r in results] == [TrialState.ENDED] * 10
    assert worker_spool.exists()  # the workers recorded there, not into the driver's spool
    shutil.rmtree(worker_spool)  # nothing the driver reads may be on the workers' disk
    datastore = HDF5Datastore(s3_url)
    assert {s.trial_id for s in datastore.trials()} == {r.trial_id for r in results}
    assert len(datastore.arrays("player", ("tick",))["tick"]) == 10 * 8
    writers = {s.name[: -len(".h5")].rsplit("-", 2)[1] for s in datastore.catalog().sources}
    assert len(writers) == 2  # one shard per worker process
    rows = datastore.to_ray_dataset("player", ("tick",)).take_all()
    assert sorted(int(r["tick"]) for r in rows) == sorted(
        datastore.arrays("player", ("tick",))["tick"].tolist()
    )
