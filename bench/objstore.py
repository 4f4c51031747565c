"""Benchmarks of a datastore at a URL, on an S3 server on loopback (moto), against a folder.

Publish throughput (shards of image trials uploaded and committed, against written into a
local datastore), read throughput (``arrays()`` of every trial, from a cold shard cache and a
warm one, against the same datastore in a folder), and the bytes fetched from the store to read
one trial of a 128 MiB shard. Needs s3fs and moto[server] (the test extra).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from bench.harness import Figure, Stopwatch, alternate, environ, median, per_second
from cogym import Orchestrator, TrialSpec
from cogym.datastore import HDF5Datastore


class RandomFrames(gym.Env):
    """64x64x3 frames of noise: observations that do not compress, so shard size is data size."""

    observation_space = spaces.Box(0, 255, (64, 64, 3), np.uint8)
    action_space = spaces.Discrete(2)

    def __init__(self, steps: int = 100) -> None:
        self.steps = steps
        self.t = 0

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        self.t = 0
        return self.np_random.integers(0, 256, (64, 64, 3), dtype=np.uint8), {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        self.t += 1
        frame = self.np_random.integers(0, 256, (64, 64, 3), dtype=np.uint8)
        return frame, 1.0, False, self.t >= self.steps, {}


def _spec(steps: int) -> TrialSpec:
    return TrialSpec.from_dict(
        {
            "environment": {
                "implementation": "python:bench.objstore:RandomFrames",
                "config": {"steps": steps},
            },
            "actors": [{"name": "player", "implementation": "random"}],
            "seed": 0,
        }
    )


@contextmanager
def _s3() -> Iterator[str]:
    """A moto S3 server on 127.0.0.1 with a bucket; yields the bucket's name."""
    import boto3
    import s3fs
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        with environ(
            AWS_ENDPOINT_URL=f"http://{host}:{port}",
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_EC2_METADATA_DISABLED="true",
        ):
            boto3.client("s3").create_bucket(Bucket="bench")
            s3fs.S3FileSystem.clear_instance_cache()  # one made for an earlier server is reused
            yield "bench"
    finally:
        server.stop()


@contextmanager
def _workspace() -> Iterator[Path]:
    """A temporary folder, removed afterwards, whose ``cache`` is the shard cache meanwhile
    (``COGYM_CACHE``, restored afterwards)."""
    folder = Path(tempfile.mkdtemp(prefix="cogym-bench-objstore-"))
    try:
        with environ(COGYM_CACHE=str(folder / "cache")):
            yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _shards(folder: Path, trials: int, steps: int) -> list[Path]:
    """Shards of ``trials`` image trials each (one shard per call of flush)."""
    root = folder / "source"
    datastore = HDF5Datastore(root, shard_bytes=1 << 40)
    with Orchestrator(datastore=datastore) as orchestrator:
        for _ in range(4):
            orchestrator.run_many(_spec(steps), trials)
            datastore.flush()
    return sorted(root.glob("*.h5"))


def objstore_publish(quick: bool) -> list[Figure]:
    """MB/s publishing shards to S3 on loopback (upload + commit record), against copying them
    into a local datastore folder (copy, fsync, rename)."""
    from cogym.datastore.format.shard import fsync_directory, fsync_file
    from cogym.datastore.objstore.store import ObjectStore

    rounds = 3 if quick else 5
    with _workspace() as folder, _s3() as bucket:
        shards = _shards(folder, 4 if quick else 16, 100)
        total = sum(p.stat().st_size for p in shards)
        counter = iter(range(10**6))

        def copy(target: Path) -> None:
            for shard in shards:
                tmp = target / (shard.name + ".tmp")
                shutil.copyfile(shard, tmp)
                fsync_file(tmp)
                os.replace(tmp, target / shard.name)
            fsync_directory(target)

        def baseline() -> float:
            target = folder / f"copy-{next(counter)}"
            target.mkdir()
            rate = per_second(total / 1e6, lambda: copy(target))
            shutil.rmtree(target)
            return rate

        def cogym() -> float:
            store = ObjectStore(f"s3://{bucket}/run{next(counter)}")
            store.ensure()
            return per_second(total / 1e6, lambda: [store.publish(shard) for shard in shards])

        base, ours = alternate(baseline, cogym, rounds)
    return [
        Figure(
            f"publish {len(shards)} shards ({total / 1e6:.0f} MB of image trials)",
            "MB/s",
            "copy + fsync + rename into a local folder",
            median(base),
            median(ours),
            True,
            note="S3 = moto on loopback: upload, size check, commit record with the index",
            samples={"baseline": base, "cogym": ours},
        )
    ]


def objstore_read(quick: bool) -> list[Figure]:
    """Rows/s of ``arrays()`` over every trial at a URL (cold cache: downloads each shard and
    checks its SHA-256; warm: from the local cache), against the same datastore in a folder."""
    from cogym.datastore.objstore.sync import sync

    rounds = 3 if quick else 5
    with _workspace() as folder, _s3() as bucket:
        _shards(folder, 4 if quick else 16, 100)
        local = folder / "source"
        url = f"s3://{bucket}/read"
        sync(local, url)
        rows = len(HDF5Datastore(local).arrays("player", ("observations",))["observations"])
        counter = iter(range(10**6))

        def read(where: Path | str) -> float:
            fields = ("observations", "actions")
            return per_second(rows, lambda: HDF5Datastore(where).arrays("player", fields))

        def cold() -> float:
            os.environ["COGYM_CACHE"] = str(folder / f"cache-{next(counter)}")
            return read(url)

        base, cold_rates = alternate(lambda: read(local), cold, rounds)
        os.environ["COGYM_CACHE"] = str(folder / "cache-warm")
        read(url)
        _, warm = alternate(lambda: read(local), lambda: read(url), rounds, warmup=False)
    return [
        Figure(
            f"arrays() of {rows:,} image rows at s3:// (cold cache)",
            "rows/s",
            "arrays() of the same datastore in a local folder",
            median(base),
            median(cold_rates),
            True,
            note="each shard downloaded once, SHA-256 checked, then read from the cache",
            samples={"baseline": base, "cogym": cold_rates},
        ),
        Figure(
            f"arrays() of {rows:,} image rows at s3:// (warm cache)",
            "rows/s",
            "arrays() of the same datastore in a local folder",
            median(base),
            median(warm),
            True,
            note="listing commit records, then local reads",
            samples={"baseline": base, "cogym": warm},
        ),
    ]


def objstore_one_trial(quick: bool) -> list[Figure]:
    """Bytes fetched from the store to read one trial of a 128 MiB shard in place (``trial()``),
    against the shard's size."""
    from cogym.datastore.objstore.store import ObjectStore

    fetched: list[int] = []
    real_open = ObjectStore.open_data

    def counting_open(self: ObjectStore, name: str) -> Any:
        stream = real_open(self, name)
        fetch = stream.cache.fetcher

        def counted(start: int, end: int) -> bytes:
            data = fetch(start, end)
            fetched.append(len(data))
            return data

        stream.cache.fetcher = counted
        return stream

    with _workspace(), _s3() as bucket:
        url = f"s3://{bucket}/big"
        datastore = HDF5Datastore(url, shard_bytes=1 << 40)
        with Orchestrator(datastore=datastore) as orchestrator:
            orchestrator.run_many(_spec(200), 54)  # 54 x 201 frames of 12 KiB: 128 MiB
        reader = HDF5Datastore(url)
        (source,) = reader.catalog().sources
        size = source.commit.size
        middle = reader.trials()[27]
        ObjectStore.open_data = counting_open  # type: ignore[method-assign]
        try:
            with Stopwatch() as watch:
                ticks = len(reader.trial(middle.trial_id).arrays("player")["observations"])
        finally:
            ObjectStore.open_data = real_open  # type: ignore[method-assign]
        one_trial = ticks * 64 * 64 * 3
    return [
        Figure(
            f"bytes fetched to read 1 trial ({one_trial / 2**20:.1f} MiB of frames) of a "
            f"{size / 2**20:.0f} MiB shard at s3://",
            "MiB",
            "the whole shard",
            size / 2**20,
            sum(fetched) / 2**20,
            False,
            target=0.05,
            note=f"{len(fetched)} range requests in {watch.seconds * 1000:.0f} ms",
        )
    ]


BENCHMARKS = {
    "objstore_publish": objstore_publish,
    "objstore_read": objstore_read,
    "objstore_one_trial": objstore_one_trial,
}
