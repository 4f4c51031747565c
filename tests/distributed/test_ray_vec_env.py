"""RayVecEnv: SB3 vector-env semantics as SubprocVecEnv's, PPO on it, recording, lost workers."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import DummyVecEnv

from cogym.datastore import HDF5Datastore
from cogym.distributed import RayVecEnv
from cogym.errors import SpecError, WorkerLostError
from cogym.trial import TrialState
from cogym.wrappers import TrialGymEnv
from tests.conftest import CARTPOLE, PROBE, make_spec

pytestmark = pytest.mark.ray

# CartPole cut at 12 ticks: random play ends some episodes by the pole falling (terminated)
# and others at the tick limit (truncated).
SPEC = make_spec(CARTPOLE, [{"name": "player", "implementation": "external"}], max_ticks=12)


def _same(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(a, b)
    return a == b


def test_steps_resets_infos_and_seeds_are_those_of_sb3_vector_envs(ray_session: ModuleType) -> None:
    ours = RayVecEnv(SPEC, n_envs=2)
    theirs = DummyVecEnv([lambda: TrialGymEnv(SPEC) for _ in range(2)])
    rng = np.random.default_rng(0)
    try:
        for vec in (ours, theirs):
            vec.seed(7)
        assert np.array_equal(ours.reset(), theirs.reset())
        assert _same(ours.reset_infos, theirs.reset_infos)
        endings = {"terminated": 0, "truncated": 0}
        for _ in range(80):
            actions = rng.integers(0, 2, size=2)
            observations, rewards, dones, infos = ours.step(actions)
            expected = theirs.step(actions)
            assert np.array_equal(observations, expected[0])
            assert np.array_equal(rewards, expected[1]) and np.array_equal(dones, expected[2])
            assert dones.dtype == bool
            assert all(_same(a, b) for a, b in zip(infos, expected[3], strict=True))
            assert _same(ours.reset_infos, theirs.reset_infos)
            for done, info in zip(dones, infos, strict=True):
                if done:
                    assert "terminal_observation" in info
                    endings["truncated" if info["TimeLimit.truncated"] else "terminated"] += 1
        assert endings["terminated"] > 0 and endings["truncated"] > 0
        assert ours.get_attr("agent") == ["player", "player"]
        assert ours.env_is_wrapped(gym.Wrapper) == [False, False]
        assert ours.has_attr("trial_spec") and not ours.has_attr("no_such_attribute")
        ours.set_attr("note", 3, indices=[1])
        assert ours.get_attr("note", indices=1) == [3]
        assert ours.env_method("get_wrapper_attr", "agent") == ["player", "player"]
        assert repr(ours) == "RayVecEnv(gym:CartPole-v1, n_envs=2)"
    finally:
        ours.close()
        theirs.close()


class _Episodes(BaseCallback):
    def __init__(self) -> None:
        super().__init__()
        self.ended = 0

    def _on_step(self) -> bool:
        self.ended += int(np.sum(self.locals["dones"]))
        return True


def test_ppo_learns_on_sub_environments_with_an_expensive_step(
    ray_session: ModuleType, tmp_path: Path
) -> None:
    spec = make_spec(
        PROBE,
        [{"name": "player", "implementation": "external"}],
        {"episode_length": 16, "step_seconds": 0.001},
    )
    vec = RayVecEnv(spec, n_envs=2, datastore=HDF5Datastore(tmp_path / "trials"))
    episodes = _Episodes()
    try:
        model = PPO("MlpPolicy", vec, n_steps=256, batch_size=128, n_epochs=2, seed=0, device="cpu")
        model.learn(2048, callback=episodes)
    finally:
        vec.close()
    assert model.num_timesteps == 2048
    assert episodes.ended == 2048 // 16
    recorded = HDF5Datastore(tmp_path / "trials").trials()
    ended = [t for t in recorded if t.state is TrialState.ENDED]
    assert len(ended) == episodes.ended and all(t.ticks == 16 for t in ended)
    assert len({t.location.split("-")[-2] for t in recorded}) == 2  # a shard per sub-environment
    assert len(recorded) == len(ended) + 2  # and the trial each was playing when closed


def test_a_spec_without_exactly_one_external_actor_is_refused_before_ray_starts() -> None:
    with pytest.raises(SpecError, match="exactly one actor with 'implementation: external'"):
        RayVecEnv(make_spec(CARTPOLE), n_envs=2)


def test_a_sub_environment_whose_process_dies_is_named(
    ray_session: ModuleType, tmp_path: Path
) -> None:
    killer = {
        "name": "killer",
        "actor_class": "observer",
        "implementation": "python:tests.distributed.actors:KillOnce",
        "config": {"seed": 8, "marker": str(tmp_path / "killed"), "at": 3},
    }
    spec = make_spec(CARTPOLE, [{"name": "player", "implementation": "external"}, killer])
    vec = RayVecEnv(spec, n_envs=2)
    try:
        vec.seed(7)  # sub-environment 1 plays seed 8, whose killer ends its process at tick 3
        vec.reset()

        def step_five_times() -> None:
            for _ in range(5):
                vec.step(np.array([0, 1]))

        with pytest.raises(
            WorkerLostError, match="sub-environment 1 of RayVecEnv.*its trial is lost"
        ):
            step_five_times()
    finally:
        vec.close()
