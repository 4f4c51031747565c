"""Trial -> Gymnasium Env: the checkers, vector envs, seeding and actors acting inside."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

from cogym.errors import SpecError, TrialError
from cogym.wrappers import TrialGymEnv
from tests.conftest import CARTPOLE, NIM, make_spec

CARTPOLE_SPEC = make_spec(CARTPOLE, [{"name": "player", "implementation": "external"}])
COACHED_SPEC = make_spec(
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


@pytest.mark.parametrize("spec", [CARTPOLE_SPEC, COACHED_SPEC], ids=["cartpole", "coached"])
def test_passes_gymnasium_and_sb3_checkers(spec):
    env = TrialGymEnv(spec)
    check_env(env, skip_render_check=True)
    sb3_check_env(env)
    env.close()


def _make():
    return TrialGymEnv(CARTPOLE_SPEC)


@pytest.mark.parametrize("vec_class", [DummyVecEnv, SubprocVecEnv])
def test_works_inside_sb3_vector_envs(vec_class):
    vec = vec_class([_make for _ in range(2)])
    vec.seed(7)
    observations = vec.reset()
    assert observations.shape == (2, 4)
    total = np.zeros(2)
    episodes = 0
    for _ in range(50):
        observations, rewards, dones, infos = vec.step(np.array([0, 1]))
        total += rewards
        episodes += sum("terminal_observation" in info for info in infos)
    assert total.sum() == 100 and episodes >= 4
    vec.close()


def test_each_reset_is_a_new_trial_and_seeds_are_reproducible():
    env = TrialGymEnv(CARTPOLE_SPEC)
    first, _ = env.reset(seed=11)
    trial = env.trial
    again, _ = env.reset(seed=11)
    assert env.trial is not trial and trial.state.value == "terminated"
    np.testing.assert_array_equal(first, again)
    env.reset()
    assert env.trial.seed == 12


def test_actors_inside_the_trial_change_what_the_agent_gets():
    env = TrialGymEnv(COACHED_SPEC)
    env.reset(seed=0)
    _, reward, *_ = env.step(1)
    assert reward == pytest.approx(0.75)
    assert env.trial.returns["player"] == pytest.approx(0.75)


def test_exactly_one_external_actor():
    with pytest.raises(SpecError, match="exactly one actor with 'implementation: external', got 2"):
        TrialGymEnv(
            make_spec(
                NIM,
                [
                    {"name": "player_0", "implementation": "external"},
                    {"name": "player_1", "implementation": "external"},
                ],
            )
        )
    with pytest.raises(SpecError, match="needs at least one actor"):
        TrialGymEnv(make_spec(CARTPOLE))


def test_an_external_actor_in_a_turn_based_game():
    env = TrialGymEnv(
        make_spec(
            NIM,
            [
                {"name": "player_0", "implementation": "external"},
                {"name": "player_1", "implementation": "python:cogym.bots:NimExpert"},
            ],
            {"stones": 6},
        )
    )
    observation, _ = env.reset(seed=0)
    assert int(observation["observation"][0]) == 6
    observation, reward, terminated, truncated, _ = env.step(1)  # take 2, expert takes 4 % 4 -> 1
    assert int(observation["observation"][0]) == 3 and reward == 0.0 and not terminated
    observation, reward, terminated, truncated, _ = env.step(2)  # take the last 3 and win
    assert reward == 1.0 and terminated and not truncated
    assert env.trial.result.returns == {"player_0": 1.0, "player_1": -1.0}


def test_repr():
    assert repr(TrialGymEnv(CARTPOLE_SPEC)) == "<TrialGymEnv(gym:CartPole-v1, agent='player')>"


HOLDEM_AGAINST_A_FOLDER = make_spec(
    "pettingzoo:pettingzoo.classic.texas_holdem_v4:env",
    [
        {"name": "player_0", "implementation": "external"},
        {"name": "player_1", "implementation": "python:tests.helpers:Constant",
         "config": {"action": 2}},
    ],
)  # fmt: skip


def test_a_trial_ended_before_the_agents_first_turn_ends_at_its_first_step():
    # seed 1: player_1 opens and folds, so the hand is over before player_0 ever acts
    env = TrialGymEnv(HOLDEM_AGAINST_A_FOLDER)
    observation, _ = env.reset(seed=1)
    assert env.trial.done and not observation["action_mask"].any()
    _, reward, terminated, truncated, _ = env.step(0)
    assert (reward, terminated, truncated) == (0.5, True, False)
    with pytest.raises(TrialError, match="ended; start a new trial"):
        env.step(0)
    env.reset(seed=0)  # player_0 opens: the step plays the hand
    assert not env.trial.done
    assert env.step(1)[1:4] == (1.0, True, False)
    env.close()


@pytest.mark.parametrize("game", ["tictactoe_v3", "leduc_holdem_v4"])
def test_passes_gymnasium_check_env_on_pettingzoo_classic_games(game):
    # these AEC envs keep one infos dict per agent for the whole game: handed on as they were,
    # reset's and step's infos were the same object ("share an object")
    first, second = ("player_1", "player_2") if game == "tictactoe_v3" else ("player_0", "player_1")
    spec = make_spec(
        f"pettingzoo:pettingzoo.classic.{game}:env",
        [
            {"name": first, "implementation": "external"},
            {"name": second, "implementation": "random"},
        ],
        seed=0,
    )
    env = TrialGymEnv(spec)
    check_env(env, skip_render_check=True)
    _, reset_info = env.reset(seed=0)
    *_, step_info = env.step(int(np.flatnonzero(env.trial.pending[first]["action_mask"])[0]))
    assert reset_info is not step_info
    env.close()


def test_record_frames_on_mujoco_without_a_render_mode_is_refused_as_the_env_is_made(tmp_path):
    # MuJoCo's render() raised "Unexpected mode: None" at the first step of check_env or
    # training, in place of the fix that cogym run gives before any trial
    spec = make_spec(
        "gym:InvertedPendulum-v5",
        [{"name": "player", "implementation": "external"}],
        datastore=str(tmp_path / "trials"),
        record_frames=True,
    )
    with pytest.raises(SpecError) as info:
        TrialGymEnv(spec)
    assert "record_frames: the environment renders nothing (its render_mode is None)" in str(
        info.value
    )
    assert "environment.config.render_mode: rgb_array" in str(info.value)
