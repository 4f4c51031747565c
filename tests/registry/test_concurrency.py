"""Several processes writing at once, and processes killed in the middle of a save."""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from cogym.registry import ModelRegistry
from cogym.registry import store as store_module

from . import workers


@pytest.fixture(scope="module")
def context() -> Any:
    """Child processes that start from a server which has already imported SB3."""
    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    context = mp.get_context("forkserver")
    context.set_forkserver_preload(["stable_baselines3", "tests.registry.workers"])
    return context


def _run_all(context: Any, target: Any, argument_sets: list[tuple[Any, ...]]) -> None:
    processes = [context.Process(target=target, args=args) for args in argument_sets]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    codes = [p.exitcode for p in processes]
    assert codes == [0] * len(processes), f"child processes failed: exit codes {codes}"


def _check_every_version_loads(registry: ModelRegistry, name: str) -> list[int]:
    versions = registry.versions(name)
    for number in versions:
        info = registry.info(name, number)
        registry.read_model(info)  # size and sha256 match meta.json
    return versions


def test_concurrent_writers_get_distinct_versions_and_lose_none(
    context: Any, registry_dir: Path
) -> None:
    writers, each = 4, 5
    barrier = context.Barrier(writers)
    _run_all(
        context,
        workers.save_versions,
        [(str(registry_dir), "shared", w, each, barrier) for w in range(writers)],
    )
    registry = ModelRegistry(registry_dir)
    versions = _check_every_version_loads(registry, "shared")
    assert versions == list(range(1, writers * each + 1))
    labels = {
        (info.properties["writer"], info.properties["sequence"])
        for info in (registry.info("shared", v) for v in versions)
    }
    assert labels == {(w, i) for w in range(writers) for i in range(each)}
    registry.load("shared")  # the newest one loads as a model too


def test_concurrent_alias_moves_are_all_kept_in_order(
    context: Any, registry_dir: Path, cartpole_model: Any
) -> None:
    registry = ModelRegistry(registry_dir)
    for _ in range(4):
        registry.save("shared", cartpole_model)
    barrier = context.Barrier(4)
    _run_all(
        context,
        workers.move_alias,
        [(str(registry_dir), "shared", w, 10, barrier) for w in range(4)],
    )
    history = registry.alias_history("shared", "champion")
    assert sorted(c.sequence for c in history) == list(range(1, 41))
    by_sequence = sorted(history, key=lambda c: c.sequence)
    for before, after in zip(by_sequence, by_sequence[1:], strict=False):
        assert after.previous == before.version
    assert sorted(c.version for c in history) == sorted([1, 2, 3, 4] * 10)
    assert registry.aliases("shared")["champion"] == by_sequence[-1].version


def _wait_for(path: Path, process: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.is_alive(), f"the child exited early with code {process.exitcode}"
        assert time.monotonic() < deadline, "the child never reached the point to kill it at"
        time.sleep(0.01)


@pytest.mark.parametrize("killed_before", ["model.zip", "meta.json"])
def test_a_save_killed_before_publishing_leaves_no_visible_version(
    context: Any,
    registry_dir: Path,
    tmp_path: Path,
    cartpole_model: Any,
    killed_before: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry = ModelRegistry(registry_dir)
    registry.save("cartpole-ppo", cartpole_model)
    ready = tmp_path / "ready"
    child = context.Process(
        target=workers.save_and_hang,
        args=(str(registry_dir), "cartpole-ppo", killed_before, str(ready)),
    )
    child.start()
    _wait_for(ready, child)
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    assert Path(ready.read_text()).exists()  # the content was on disk when it died

    assert registry.versions("cartpole-ppo") == [1]
    assert registry.info("cartpole-ppo").version == 1
    registry.load("cartpole-ppo")
    # the half-written number is skipped, not reused
    assert registry.save("cartpole-ppo", cartpole_model).version == 3
    assert registry.versions("cartpole-ppo") == [1, 3]

    leftovers = sorted(p.name for p in (registry_dir / "cartpole-ppo" / "2").iterdir())
    assert ".claim" in leftovers and len(leftovers) > 1
    assert registry.prune("cartpole-ppo", keep_last=5) == []
    assert len(list((registry_dir / "cartpole-ppo" / "2").iterdir())) == len(
        leftovers
    )  # too recent
    monkeypatch.setattr(store_module, "ABANDONED_AFTER", 0.0)
    registry.prune("cartpole-ppo", keep_last=5)
    assert [p.name for p in (registry_dir / "cartpole-ppo" / "2").iterdir()] == [".claim"]
    assert registry.versions("cartpole-ppo") == [1, 3]


def test_saves_killed_at_random_moments_never_show_a_broken_version(
    context: Any, registry_dir: Path, tmp_path: Path
) -> None:
    rng = random.Random(5)
    registry = ModelRegistry(registry_dir)
    for attempt in range(3):
        ready = tmp_path / f"ready-{attempt}"
        child = context.Process(
            target=workers.save_forever, args=(str(registry_dir), "cartpole-ppo", str(ready))
        )
        child.start()
        _wait_for(ready, child)
        time.sleep(rng.uniform(0.05, 0.4))
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        versions = _check_every_version_loads(registry, "cartpole-ppo")
        allocated = [p for p in (registry_dir / "cartpole-ppo").iterdir() if p.name.isdigit()]
        assert len(versions) <= len(allocated)
        assert versions == sorted(versions)
    assert versions, "no version was saved in the time given; lengthen the sleeps"
    registry.load("cartpole-ppo")
