"""Functions that the concurrency tests run in child processes (importable by spawn/forkserver)."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path
from typing import Any

from cogym.registry import ModelRegistry


def save_versions(root: str, name: str, writer: int, count: int, barrier: Any) -> list[int]:
    """Save ``count`` versions, each labelled with the writer and its sequence number."""
    from tests.registry.conftest import tiny_ppo

    model = tiny_ppo(seed=writer)
    registry = ModelRegistry(root)
    barrier.wait()
    return [
        registry.save(name, model, properties={"writer": writer, "sequence": i}).version
        for i in range(count)
    ]


def move_alias(root: str, name: str, writer: int, count: int, barrier: Any) -> None:
    """Point alias ``champion`` at version ``writer + 1``, ``count`` times."""
    registry = ModelRegistry(root)
    barrier.wait()
    for _ in range(count):
        registry.alias(name, "champion", writer + 1)


def save_and_hang(root: str, name: str, published_file: str, ready: str) -> None:
    """Save a version, but stop for good just before ``published_file`` is put in place.

    The file's content is written and synced (as ``save`` does); the parent kills this process
    while it waits, as ``kill -9`` would at that moment.
    """
    from tests.registry.conftest import tiny_ppo

    real_replace = os.replace

    def replace_then_hang(src: Any, dst: Any) -> None:
        if Path(dst).name == published_file:
            Path(ready).write_text(str(src))
            time.sleep(600)
        real_replace(src, dst)

    os.replace = replace_then_hang  # this process only
    ModelRegistry(root).save(name, tiny_ppo(seed=7))


def save_forever(root: str, name: str, ready: str) -> None:
    """Save versions in a loop until killed."""
    from tests.registry.conftest import tiny_ppo

    model = tiny_ppo(seed=3)
    registry = ModelRegistry(root)
    Path(ready).write_text("ready")
    rng = random.Random(os.getpid())
    while True:
        registry.save(name, model, metrics={"noise": rng.random()})
