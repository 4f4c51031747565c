"""Aliases: set, move, remove, their history, and what they protect."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from cogym.errors import ModelNotFoundError, ProtectedVersionError
from cogym.registry import ModelRegistry
from cogym.registry.meta import META_FILE, MODEL_FILE
from cogym.registry.storage import open_storage

from .conftest import tiny_ppo


@pytest.fixture
def three_versions(registry: ModelRegistry, cartpole_model: Any) -> ModelRegistry:
    registry.save("cartpole-ppo", cartpole_model)
    registry.save("cartpole-ppo", tiny_ppo(seed=1))
    registry.save("cartpole-ppo", cartpole_model)
    return registry


def test_an_alias_loads_the_version_it_points_at(three_versions: ModelRegistry) -> None:
    registry = three_versions
    registry.alias("cartpole-ppo", "champion", 2)
    observation = np.zeros((1, 4), np.float32)
    expected = registry.load("cartpole-ppo@2").predict(observation, deterministic=True)[0]
    loaded = registry.load("cartpole-ppo@champion")
    np.testing.assert_array_equal(loaded.predict(observation, deterministic=True)[0], expected)
    assert registry.info("cartpole-ppo", "champion").version == 2
    assert str(registry.resolve("cartpole-ppo@champion")) == "cartpole-ppo@2"


def test_moving_an_alias_keeps_its_history(three_versions: ModelRegistry) -> None:
    registry = three_versions
    first = registry.alias("cartpole-ppo", "champion", 1)
    registry.alias("cartpole-ppo", "production", 1)
    moved = registry.alias("cartpole-ppo", "champion", 3)
    assert (first.previous, first.version) == (None, 1)
    assert (moved.previous, moved.version) == (1, 3)
    assert registry.aliases("cartpole-ppo") == {"champion": 3, "production": 1}
    history = registry.alias_history("cartpole-ppo", "champion")
    assert [(c.previous, c.version) for c in history] == [(None, 1), (1, 3)]
    assert history[0].time <= history[1].time
    assert all(c.host and c.alias == "champion" for c in history)
    assert len(registry.alias_history("cartpole-ppo")) == 3
    assert "champion: 1 -> 3" in repr(moved)


def test_unalias_removes_the_alias_but_not_its_history(three_versions: ModelRegistry) -> None:
    registry = three_versions
    registry.alias("cartpole-ppo", "champion", 2)
    removed = registry.unalias("cartpole-ppo", "champion")
    assert removed.version is None and removed.previous == 2
    assert registry.aliases("cartpole-ppo") == {}
    with pytest.raises(ModelNotFoundError, match="no alias 'champion' \\(it was removed\\)"):
        registry.load("cartpole-ppo@champion")
    assert len(registry.alias_history("cartpole-ppo", "champion")) == 2
    with pytest.raises(ModelNotFoundError, match="has no alias 'champion'"):
        registry.unalias("cartpole-ppo", "champion")


def test_an_alias_must_point_at_an_existing_version(three_versions: ModelRegistry) -> None:
    with pytest.raises(ModelNotFoundError, match="has no version 9; it has versions 1-3"):
        three_versions.alias("cartpole-ppo", "champion", 9)
    with pytest.raises(ModelNotFoundError, match="no model 'mountaincar'"):
        three_versions.alias("mountaincar", "champion", 1)
    assert three_versions.aliases("cartpole-ppo") == {}


def test_unknown_aliases_suggest_close_ones(three_versions: ModelRegistry) -> None:
    three_versions.alias("cartpole-ppo", "champion", 1)
    with pytest.raises(ModelNotFoundError, match="Did you mean 'champion'"):
        three_versions.load("cartpole-ppo@champon")
    with pytest.raises(ModelNotFoundError, match="Did you mean 'latest'"):
        three_versions.load("cartpole-ppo@lastest")


def test_an_aliased_version_cannot_be_deleted(three_versions: ModelRegistry) -> None:
    registry = three_versions
    registry.alias("cartpole-ppo", "champion", 2)
    with pytest.raises(ProtectedVersionError, match="alias\\(es\\) champion point at it"):
        registry.delete("cartpole-ppo", 2)
    registry.alias("cartpole-ppo", "champion", 3)
    registry.delete("cartpole-ppo", 2)
    assert registry.versions("cartpole-ppo") == [1, 3]


def test_an_alias_left_on_a_deleted_version_says_so(three_versions: ModelRegistry) -> None:
    # another process deleted version 2 between the alias check and the alias write
    registry = three_versions
    registry.alias("cartpole-ppo", "champion", 2)
    elsewhere = open_storage(registry.root, registry.storage_options)
    for file in (META_FILE, MODEL_FILE):
        elsewhere.remove(f"cartpole-ppo/2/{file}")
    with pytest.raises(ModelNotFoundError, match="points at version 2, which was deleted"):
        registry.load("cartpole-ppo@champion")
