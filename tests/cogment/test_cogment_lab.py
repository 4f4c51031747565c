"""cogment-lab's published Gymnasium environment and random actor, unchanged, in cogym trials:
served or in-process, with cogym's own actors and envs, and under SB3."""

from __future__ import annotations

import pytest
from gymnasium.utils.env_checker import check_env

from cogym import Orchestrator, TrialSpec
from cogym.trial import TrialState
from tests.cogment.conftest import require_cogment

require_cogment()

from stable_baselines3.common.env_checker import check_env as sb3_check_env  # noqa: E402

from cogym.wrappers import TrialGymEnv  # noqa: E402
from tests.cogment.app import SETTINGS  # noqa: E402

COG = {"cog_settings": SETTINGS}
LOCAL = "cogment:tests.cogment.app"


def cartpole_spec(environment: str, actor: str, **fields) -> TrialSpec:
    env_config = {}
    if environment.startswith("cogment"):
        env_config = {**COG, "spaces_from": "CartPole-v1"} if "grpc" in environment else COG
    return TrialSpec.from_dict({
        "environment": {"implementation": environment, "config": env_config},
        "actors": [{
            "name": "gym",  # the name cogment-lab's GymEnvironment gives its player
            "implementation": actor,
            "config": COG if actor.startswith("cogment") else {},
        }],
        **fields,
    })


@pytest.mark.parametrize(
    ("environment", "actor"),
    [
        ("{served}/cartpole", "{served}/random"),
        (f"{LOCAL}:cartpole.impl", f"{LOCAL}:random_player.impl"),
        ("{served}/cartpole", "random"),
        ("gym:CartPole-v1", "{served}/random"),
    ],
    ids=["served", "in-process", "cogment-env-cogym-actor", "cogym-env-cogment-actor"],
)
def test_cogment_lab_cartpole_and_random_actor_play_cogym_trials(served, environment, actor):
    spec = cartpole_spec(
        environment.format(served=served), actor.format(served=served), seed=3, max_ticks=500
    )
    with Orchestrator(keep_samples=True) as orchestrator:
        results = orchestrator.run_many(spec, 3)
    for result in results:
        assert result.state is TrialState.ENDED, result.error
        # a random CartPole player falls within a few dozen ticks, rewarded 1 per tick
        assert 5 <= result.ticks < 200 and result.returns["gym"] == result.ticks


def test_trial_gym_env_over_served_cogment_cartpole_passes_both_checkers(served):
    env = TrialGymEnv(cartpole_spec(f"{served}/cartpole", "external", max_ticks=500))
    assert env.observation_space.shape == (4,) and env.action_space.n == 2
    check_env(env, skip_render_check=True)
    sb3_check_env(env)
    observation, _ = env.reset(seed=7)
    again, _ = TrialGymEnv(cartpole_spec(f"{served}/cartpole", "external")).reset(seed=7)
    assert (observation == again).all()  # the trial seed reaches cogment-lab's env reset
    env.close()


@pytest.mark.slow
def test_ppo_on_served_cogment_lab_cartpole_reaches_475(served_process, tmp_path):
    served = served_process
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.utils import LinearSchedule
    from stable_baselines3.common.vec_env import DummyVecEnv

    torch.set_num_threads(1)
    spec = cartpole_spec(f"{served}/cartpole", "external", max_ticks=500, seed=0)
    env = DummyVecEnv([lambda: TrialGymEnv(spec) for _ in range(8)])
    model = PPO(
        "MlpPolicy", env, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20,
        ent_coef=0.0, learning_rate=LinearSchedule(1e-3, 0.0, 1.0),
        clip_range=LinearSchedule(0.2, 0.0, 1.0), seed=0, device="cpu",
    )
    model.learn(60_000)
    env.close()
    model.save(tmp_path / "ppo.zip")
    # the trained policy plays the served environment as a cogym actor
    evaluation = cartpole_spec(
        f"{served}/cartpole", f"sb3:{tmp_path / 'ppo.zip'}", max_ticks=500, seed=10_000
    )
    with Orchestrator() as orchestrator:
        results = orchestrator.run_many(evaluation, 10)
    mean = sum(r.returns["gym"] for r in results) / len(results)
    assert mean >= 475, [r.returns["gym"] for r in results]


def test_replay_of_a_cogment_lab_taxi_trial_does_not_count_the_environments_rewards_as_actors(
    tmp_path,
):
    from cogym import HDF5Datastore

    spec = TrialSpec.from_dict({
        "environment": {"implementation": f"{LOCAL}:taxi.impl", "config": COG},
        "actors": [{"name": "gym", "implementation": "random"}],
        "max_ticks": 20,
        "seed": 1,
    })
    datastore = HDF5Datastore(tmp_path / "trials")
    with Orchestrator(datastore=datastore) as orchestrator:
        (result,) = orchestrator.run_many(spec, 1)
    assert result.state is TrialState.ENDED and result.ticks == 20, result.error
    stored = datastore.trial(result.trial_id)
    assert {r.sender for r in stored.rewards_sent} == {"env"}  # Taxi's, sent over Cogment
    report = datastore.replay(result.trial_id)
    assert report.reproduced, report
    assert not any("actors sent" in note for note in report.notes), report.notes


def test_cogment_lab_aec_rock_paper_scissors_plays_cogym_trials_turn_by_turn():
    # cogment-lab sends the player who waits an observation without a value (active false)
    # and a NaN reward: cogym failed decoding the first, then refusing the second
    spec = TrialSpec.from_dict({
        "environment": {"implementation": f"{LOCAL}:rock_paper_scissors.impl", "config": COG},
        "actors": [{"name": "player_0"}, {"name": "player_1"}],  # both random
        "max_ticks": 10,
        "seed": 2,
    })
    with Orchestrator(keep_samples=True) as orchestrator:
        trial = orchestrator.start(spec)
        result = trial.run()
    assert result.state is TrialState.ENDED and result.ticks == 10, result.error
    movers = [sorted(sample.actions) for sample in trial.samples]
    assert movers == [["player_0"], ["player_1"]] * 5
