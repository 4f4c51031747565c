"""``RegistryCheckpointCallback``: versions saved during ``model.learn``."""

from __future__ import annotations

from pathlib import Path

import pytest

from cogym.errors import InputError
from cogym.registry import ModelRegistry, RegistryCheckpointCallback

from .conftest import tiny_ppo


def test_learning_saves_a_version_every_n_steps_and_at_the_end(registry_dir: Path) -> None:
    registry = ModelRegistry(registry_dir)
    model = tiny_ppo()
    callback = RegistryCheckpointCallback(
        registry,
        "cartpole-ppo",
        every=128,
        properties={"run": "test"},
        lineage={"trial_ids": ["t1"]},
        metrics=lambda m: {"learning_rate": m.learning_rate},
    )
    model.learn(320, callback=callback)  # PPO collects 64 steps at a time: stops at 320
    steps = [v.metrics["num_timesteps"] for v in callback.saved]
    assert steps == [128, 256, 320]
    assert registry.versions("cartpole-ppo") == [1, 2, 3]
    last = registry.info("cartpole-ppo")
    assert last.properties == {"run": "test"} and last.lineage == {"trial_ids": ["t1"]}
    assert last.metrics["learning_rate"] == model.learning_rate
    assert "episode_return_mean" in last.metrics and last.metrics["episode_length_mean"] > 0
    reloaded = registry.load("cartpole-ppo")
    assert reloaded.num_timesteps == 320


def test_keep_last_prunes_while_training_and_the_end_save_can_be_off(memory_root: str) -> None:
    registry = ModelRegistry(memory_root)
    callback = RegistryCheckpointCallback(
        memory_root, "cartpole-ppo", every=64, keep_last=2, save_at_end=False
    )
    tiny_ppo().learn(256, callback=callback)
    assert [v.version for v in callback.saved] == [1, 2, 3, 4]
    assert registry.versions("cartpole-ppo") == [3, 4]


@pytest.mark.parametrize(("every", "name"), [(0, "ok"), (True, "ok"), (10, "../x")])
def test_bad_arguments_are_refused(registry_dir: Path, every: int, name: str) -> None:
    with pytest.raises(InputError):
        RegistryCheckpointCallback(registry_dir, name, every=every)
