"""Trial -> PettingZoo ParallelEnv: conformance, seeding, mixed actors, SuperSuit and SB3."""

from __future__ import annotations

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test, parallel_seed_test

from cogym.errors import InvalidActionError, SpecError, TrialError
from cogym.wrappers import TrialParallelEnv
from tests.conftest import CARTPOLE, NIM, RENDEZVOUS, make_spec

PETTINGZOO_SPEC = make_spec(
    RENDEZVOUS,
    [
        {"name": "walker_0", "implementation": "external"},
        {"name": "walker_1", "implementation": "external"},
        {"name": "walker_2", "implementation": "python:cogym.bots:GreedyWalker"},
    ],
    {"walkers": 3, "size": 7, "max_cycles": 60},
)
GYM_SPEC = make_spec(
    CARTPOLE,
    [
        {"name": "player", "implementation": "external"},
        {
            "name": "coach",
            "actor_class": "observer",
            "implementation": "python:tests.helpers:Coach",
        },
    ],
)
NIM_SPEC = make_spec(
    NIM,
    [
        {"name": "player_0", "implementation": "external"},
        {"name": "player_1", "implementation": "external"},
    ],
)


@pytest.mark.parametrize(
    "spec", [PETTINGZOO_SPEC, GYM_SPEC, NIM_SPEC], ids=["pettingzoo", "gym+observer", "aec"]
)
def test_passes_pettingzoo_parallel_api_test(spec):
    env = TrialParallelEnv(spec)
    parallel_api_test(env, num_cycles=300)
    env.close()


@pytest.mark.parametrize("spec", [PETTINGZOO_SPEC, GYM_SPEC], ids=["pettingzoo", "gym+observer"])
def test_passes_pettingzoo_seed_test(spec):
    parallel_seed_test(lambda: TrialParallelEnv(spec), num_cycles=100)


def test_same_seed_same_episode_and_consecutive_resets_move_on():
    def episode(env, seed=None):
        observations, _ = env.reset(seed=seed)
        trace = [observations]
        rng = np.random.default_rng(0)
        while env.agents:
            observations, rewards, *_ = env.step({a: int(rng.integers(5)) for a in env.agents})
            trace.append((observations, rewards))
        return trace

    env = TrialParallelEnv(PETTINGZOO_SPEC)
    first = episode(env, seed=3)
    second = episode(env)
    again = episode(env, seed=3)
    assert repr(first) == repr(again) and repr(first) != repr(second)
    assert env.trial.seed == 3


def test_the_internal_actor_acts_inside_and_rewards_flow_to_the_external_one():
    env = TrialParallelEnv(GYM_SPEC)
    observations, _ = env.reset(seed=0)
    assert env.agents == ["player"] and env.possible_agents == ["player"]
    _, rewards, *_ = env.step({"player": 0})
    assert rewards == {"player": pytest.approx(0.75)}


def test_turn_based_trials_step_to_the_next_external_turn():
    env = TrialParallelEnv(NIM_SPEC)
    observations, _ = env.reset(seed=0)
    # an agent joins at its first turn
    assert env.agents == ["player_0"] and list(observations) == ["player_0"]
    assert env.trial.pending == {"player_0": observations["player_0"]}
    observations, *_ = env.step({"player_0": 2})
    assert env.agents == ["player_0", "player_1"]
    assert env.trial.tick == 1 and set(env.trial.pending) == {"player_1"}
    assert int(observations["player_1"]["observation"][0]) == 12
    observations, *_ = env.step({"player_0": 0, "player_1": 1})
    assert int(observations["player_0"]["observation"][0]) == 10


def test_a_step_plays_the_internal_actors_turns_too():
    spec = make_spec(
        NIM,
        [
            {"name": "player_0", "implementation": "external"},
            {"name": "player_1", "implementation": "python:cogym.bots:NimExpert"},
        ],
        {"stones": 9},
    )
    env = TrialParallelEnv(spec)
    observations, _ = env.reset(seed=0)
    assert env.agents == ["player_0"]
    stones = [int(observations["player_0"]["observation"][0])]
    while env.agents:
        observations, rewards, terminated, truncated, _ = env.step({"player_0": 0})
        stones.append(int(observations["player_0"]["observation"][0]))
    # one stone taken, then the expert's answer, every step: 9 -1 -1=7, 7 -1 -2=4, 4 -1 -3=0
    assert stones == [9, 7, 4, 0]
    assert rewards == {"player_0": -1.0} and terminated == {"player_0": True}


def test_bad_actions_and_specs_are_refused_with_names():
    env = TrialParallelEnv(PETTINGZOO_SPEC)
    env.reset(seed=0)
    with pytest.raises(TrialError, match="walker_2' is not an external actor"):
        env.step({"walker_0": 0, "walker_1": 0, "walker_2": 0})
    with pytest.raises(TrialError, match=r"no action given for external actor\(s\) \['walker_1'\]"):
        env.step({"walker_0": 0})
    env.reset(seed=0)
    with pytest.raises(InvalidActionError, match="tick 0: actor 'walker_0' sent action 9"):
        env.step({"walker_0": 9, "walker_1": 0})
    assert env.trial.state.value == "failed"
    with pytest.raises(SpecError, match="implementation: external"):
        TrialParallelEnv(make_spec(CARTPOLE))


def test_supersuit_vector_env_and_ppo_with_parameter_sharing():
    import supersuit as ss
    from stable_baselines3 import PPO

    spec = make_spec(
        RENDEZVOUS,
        [{"name": f"walker_{i}", "implementation": "external"} for i in range(3)],
        {"walkers": 3, "size": 5, "max_cycles": 25, "leave_home": False},
        seed=0,
    )
    vec = ss.pettingzoo_env_to_vec_env_v1(TrialParallelEnv(spec))
    vec = ss.concat_vec_envs_v1(vec, 2, num_cpus=0, base_class="stable_baselines3")
    assert vec.num_envs == 6
    # no seed=: SuperSuit's SB3 wrapper has no seed() for SB3 to call
    model = PPO("MlpPolicy", vec, n_steps=64, batch_size=96, n_epochs=2, device="cpu")
    model.learn(768)
    assert model.num_timesteps >= 768
    observations = vec.reset()
    actions, _ = model.predict(observations)
    assert actions.shape == (6,)
    vec.close()


def test_supersuit_black_death_on_mpe_simple_spread_resets_after_the_truncated_end():
    # black_death_v3 resets only where every agent is terminated *and* truncated; after a
    # max_cycles end it first steps with no agents, as PettingZoo's envs allow (that step
    # raised 'trial ... is ended')
    import supersuit as ss

    spec = make_spec(
        "pettingzoo:mpe2.simple_spread_v3:parallel_env",
        [{"name": f"agent_{i}", "implementation": "external"} for i in range(2)],
        {"N": 2, "max_cycles": 5},
        seed=0,
    )
    vec = ss.pettingzoo_env_to_vec_env_v1(ss.black_death_v3(TrialParallelEnv(spec)))
    vec.reset(seed=0)
    ended_at = []
    for step in range(14):
        actions = np.array([vec.action_space.sample() for _ in range(vec.num_envs)])
        _, _, terminated, truncated, _ = vec.step(actions)
        if truncated.all():
            ended_at.append(step)
    assert ended_at == [5, 11]  # 5 ticks, the step with no agents, then the next episode
    assert vec.par_env.env.trial.tick == 2 and not vec.par_env.env.trial.done


def test_record_frames_on_mpe_without_a_render_mode_is_refused_as_the_env_is_made(tmp_path):
    spec = make_spec(
        "pettingzoo:mpe2.simple_spread_v3:parallel_env",
        [{"name": f"agent_{i}", "implementation": "external"} for i in range(3)],
        datastore=str(tmp_path / "trials"),
        record_frames=True,
    )
    with pytest.raises(SpecError, match=r"record_frames: .*render_mode is None.*rgb_array"):
        TrialParallelEnv(spec)
