"""Training existing RL libraries against trials, to the scores users expect."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _example(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_ppo_learns_cartpole_through_trial_gym_env(tmp_path):
    example = _example("train_sb3_on_trial")
    model = example.train(100_000, seed=0)
    path = tmp_path / "ppo.zip"
    model.save(path)
    summary = example.evaluate(path, trials=20, seed=50_000)
    assert summary.actor("player").mean >= 475, summary
