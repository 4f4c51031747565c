"""SB3 policy -> actor: from a model, from a file, deterministic or stochastic, space checks."""

from __future__ import annotations

import numpy as np
import pytest
from stable_baselines3 import DQN, PPO

from cogym import Orchestrator, TrialState
from cogym.errors import ImplementationError
from cogym.wrappers import SB3Actor
from tests.conftest import CARTPOLE, PROBE, make_spec


@pytest.fixture(scope="module")
def ppo_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "cartpole-ppo.zip"
    PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=64, seed=0, device="cpu").save(path)
    return path


def test_sb3_actor_wraps_a_model():
    actor = SB3Actor(PPO("MlpPolicy", "CartPole-v1", seed=0, device="cpu"))
    action = actor.act(np.zeros(4, np.float32))
    assert isinstance(action, np.int64) and action in (0, 1)
    with pytest.raises(TypeError, match="predict"):
        SB3Actor(object())


@pytest.mark.parametrize("deterministic", [True, False])
def test_sb3_file_actors_in_trials_are_reproducible(ppo_file, deterministic):
    spec = make_spec(
        CARTPOLE,
        [
            {
                "name": "player",
                "implementation": f"sb3:{ppo_file}",
                "config": {"deterministic": deterministic},
            }
        ],
        seed=3,
    )
    with Orchestrator() as orchestrator:
        a = orchestrator.run_many(spec, 3)
    with Orchestrator() as orchestrator:
        b = orchestrator.run_many(spec, 3, workers=2)
    assert all(r.state is TrialState.ENDED for r in a + b), [r.error for r in a + b]
    assert [r.returns for r in a] == [r.returns for r in b]
    assert a[0].implementations == {"player": f"sb3:{ppo_file}"}


def test_algorithm_is_read_from_the_file(tmp_path):
    path = tmp_path / "dqn.zip"
    DQN("MlpPolicy", "CartPole-v1", device="cpu").save(path)
    assert isinstance(SB3Actor.from_file(path).model, DQN)
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    with pytest.raises(ImplementationError, match="not a Stable-Baselines3 model file"):
        SB3Actor.from_file(tmp_path / "junk.zip")
    with pytest.raises(ImplementationError, match="no SB3 model file"):
        SB3Actor.from_file(tmp_path / "missing.zip")


def test_mismatched_spaces_fail_at_trial_start_naming_both(ppo_file):
    spec = make_spec(
        PROBE,
        [{"name": "player", "implementation": f"sb3:{ppo_file}"}],
        {"episode_length": 3},
        seed=0,
    )
    with Orchestrator() as orchestrator:
        result = orchestrator.run(spec)
    assert result.state is TrialState.FAILED and result.ticks == 0
    assert (
        "observes Box([-4.8" in result.error
        and "observes Box(-1.0, 1.0, (3,), float32)" in result.error
    )


def test_gsde_policies_sample_with_the_trial_seed_reproducibly_and_apart_from_their_mode(tmp_path):
    path = tmp_path / "pendulum-gsde.zip"
    PPO("MlpPolicy", "Pendulum-v1", use_sde=True, n_steps=64, batch_size=64, seed=0,
        device="cpu").save(path)  # fmt: skip

    def returns(deterministic: bool, workers: int = 1) -> list[float]:
        actor = {"name": "player", "implementation": f"sb3:{path}",
                 "config": {"deterministic": deterministic}}  # fmt: skip
        spec = make_spec("gym:Pendulum-v1", [actor], seed=5, max_ticks=20)
        with Orchestrator() as orchestrator:
            results = orchestrator.run_many(spec, 2, workers=workers)
        assert all(r.state is TrialState.ENDED for r in results), [r.error for r in results]
        return [r.returns["player"] for r in results]

    sampled = returns(False)
    assert sampled == returns(False, workers=2)
    assert sampled != returns(True)
