"""Fixtures for the registry tests: tiny SB3 models, and registries on disk and in memory."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cogym.registry import ModelRegistry


def tiny_ppo(env_id: str = "CartPole-v1", seed: int = 0) -> Any:
    """An untrained PPO model: saving and loading it takes milliseconds."""
    from stable_baselines3 import PPO

    return PPO("MlpPolicy", env_id, n_steps=64, batch_size=64, seed=seed, device="cpu")


@pytest.fixture(scope="session")
def cartpole_model() -> Any:
    return tiny_ppo()


@pytest.fixture
def memory_root() -> Iterator[str]:
    """A fresh ``memory://`` root, emptied afterwards."""
    import fsspec

    root = f"memory://registry-{uuid.uuid4().hex}"
    yield root
    fs = fsspec.filesystem("memory")
    path = root[len("memory://") :]
    if fs.exists(path):
        fs.rm(path, recursive=True)


@pytest.fixture(params=["local", "memory"])
def registry(request: pytest.FixtureRequest, registry_dir: Path) -> ModelRegistry:
    """An empty registry, on disk (``registry_dir``) and in fsspec's memory filesystem."""
    if request.param == "local":
        return ModelRegistry(registry_dir)
    return ModelRegistry(request.getfixturevalue("memory_root"))
