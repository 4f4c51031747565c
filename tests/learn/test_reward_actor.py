"""The ``reward:<model>@<ref>`` observer: a learnt reward sent to an actor in a trial."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from cogym import HDF5Datastore, Orchestrator
from cogym.errors import SpecError
from cogym.learn import oracle, propose_queries, reward_model
from cogym.learn.features import stacked
from cogym.spaces import space_to_dict
from cogym.wrappers import TrialGymEnv
from tests.conftest import PROBE, make_spec

PENDULUM = "gym:Pendulum-v1"


@pytest.fixture
def pendulum_reward(record, registry_dir):
    """A reward model of Pendulum's player, from oracle preferences, saved as ``rm@1``."""
    datastore, _ = record(make_spec(PENDULUM, seed=0, max_ticks=60), trials=4)
    queries = propose_queries(datastore, "player", 60, segment=15, seed=0)
    for preference in oracle().answer(queries, datastore):
        datastore.add_preference(preference)
    model = reward_model(datastore, "player", epochs=5, registry=registry_dir, model="rm", seed=0)
    assert model.ref == "rm@1"
    return model


def observed(config=None, environment=PENDULUM, env_config=None, player="random", ref="rm@latest"):
    return make_spec(
        environment,
        [
            {"name": "player", "implementation": player},
            {"name": "critic", "actor_class": "observer", "implementation": f"reward:{ref}",
             "config": config or {}},
        ],
        env_config, seed=3, max_ticks=40,
    )  # fmt: skip


def recorded(datastore_dir, registry_dir, spec):
    with Orchestrator(datastore=HDF5Datastore(datastore_dir), registry=registry_dir) as orch:
        result = orch.run(spec)
    store = HDF5Datastore(datastore_dir)
    arrays = store.arrays("player", ("observations", "actions", "rewards", "env_rewards"))
    return result, store, arrays


def test_the_learnt_reward_is_mixed_with_the_environments_by_confidence(
    pendulum_reward, tmp_path, registry_dir
):
    result, store, arrays = recorded(tmp_path / "mixed", registry_dir, observed())
    assert result.state.value == "ended", result.error
    assert result.implementations["critic"] == "reward:rm@1"  # @latest pinned
    mean, std = pendulum_reward.predict(arrays["observations"], arrays["actions"])
    confidence = 1.0 / (1.0 + std)
    expected = (arrays["env_rewards"] + mean * confidence) / (1.0 + confidence)
    np.testing.assert_allclose(arrays["rewards"], expected, rtol=1e-4, atol=1e-5)
    assert result.returns["player"] == pytest.approx(float(expected.sum()), rel=1e-4)
    sent = store.trial(result.trial_id).rewards_sent
    assert len(sent) == 40 and {(r.sender, r.receiver) for r in sent} == {("critic", "player")}


def test_replace_env_reward_leaves_only_the_learnt_reward_and_records_the_true_one_apart(
    pendulum_reward, tmp_path, registry_dir
):
    spec = observed({"receiver": "player", "replace_env_reward": True, "confidence": 0.25})
    result, _, arrays = recorded(tmp_path / "replaced", registry_dir, spec)
    assert result.state.value == "ended", result.error
    mean, _ = pendulum_reward.predict(arrays["observations"], arrays["actions"])
    np.testing.assert_allclose(arrays["rewards"], mean, rtol=1e-4, atol=1e-5)
    assert result.returns["player"] == pytest.approx(float(mean.sum()), rel=1e-4)
    # the environment's own rewards are recorded apart: those of the same trial without critic
    _, _, alone = recorded(tmp_path / "alone", registry_dir, make_spec(PENDULUM, seed=3,
                                                                       max_ticks=40))
    np.testing.assert_array_equal(alone["actions"], arrays["actions"])
    np.testing.assert_allclose(arrays["env_rewards"], alone["rewards"])


def test_trial_gym_env_hands_sb3_the_learnt_reward_alone(pendulum_reward, registry_dir):
    spec = observed({"replace_env_reward": True}, player="external")
    env = TrialGymEnv(spec, registry=registry_dir)
    observation, _ = env.reset(seed=5)
    for _ in range(10):
        action = env.action_space.sample()
        expected, _ = pendulum_reward.predict(
            stacked(env.observation_space, [observation]), stacked(env.action_space, [action])
        )
        observation, reward, terminated, truncated, _ = env.step(action)
        assert reward == pytest.approx(float(expected[0]), rel=1e-4, abs=1e-5)
        assert not (terminated or truncated)
    env.close()


def test_a_reward_model_of_other_observations_is_refused_at_trial_start_naming_both(
    pendulum_reward, registry_dir
):
    with Orchestrator(registry=registry_dir) as orch:
        result = orch.run(observed(environment="gym:CartPole-v1"))
    assert result.state.value == "failed" and result.ticks == 0
    assert "SpaceMismatchError" in result.error
    assert "observes Box([-1. -1. -8.], [1. 1. 8.], (3,), float32)" in result.error
    assert "receiver 'player' observes Box(" in result.error and "(4,), float32)" in result.error


def test_a_reward_model_of_other_actions_is_refused_at_trial_start_naming_both(
    pendulum_reward, registry_dir
):
    same_observations = space_to_dict(gym.make("Pendulum-v1").observation_space)
    spec = observed(environment=PROBE, env_config={
        "observation_space": same_observations, "action_space": {"type": "Discrete", "n": 3}
    })  # fmt: skip
    with Orchestrator(registry=registry_dir) as orch:
        result = orch.run(spec)
    assert result.state.value == "failed" and result.ticks == 0
    assert "rates actions in Box(-2.0, 2.0, (1,), float32)" in result.error
    assert "receiver 'player' acts in Discrete(3)" in result.error


def test_a_reward_observer_that_would_act_or_has_no_registry_is_a_spec_error(
    pendulum_reward, registry_dir
):
    acting = make_spec(PENDULUM, [{"name": "player", "implementation": "reward:rm@1"}])
    with Orchestrator(registry=registry_dir) as orch, pytest.raises(SpecError, match="observer"):
        orch.validate(acting)
    with Orchestrator() as orch, pytest.raises(SpecError, match="--registry DIR"):
        orch.validate(observed())
    with Orchestrator(registry=registry_dir) as orch, pytest.raises(SpecError, match="'scale'"):
        orch.validate(observed({"scale": 2}))


def test_trials_ls_score_shows_each_trials_learnt_return(
    pendulum_reward, record, registry_dir, tmp_path
):
    from click.testing import CliRunner

    from cogym.cli import main

    datastore = pendulum_reward.lineage["datastore"]
    store = HDF5Datastore(datastore)
    expected = {}
    for summary in store.trials():
        rows = store.arrays("player", ("observations", "actions"), ids=[summary.trial_id])
        expected[summary.trial_id] = float(
            pendulum_reward.predict(rows["observations"], rows["actions"])[0].sum()
        )
    listed = CliRunner().invoke(main, [
        "trials", "ls", "--datastore", datastore, "--score", "reward:rm@latest",
        "--registry", str(registry_dir),
    ], env={"COLUMNS": "200"})  # fmt: skip
    assert listed.exit_code == 0, listed.output
    assert "reward:rm@latest" in listed.output
    for trial_id, value in expected.items():
        line = next(line for line in listed.output.splitlines() if trial_id in line)
        assert line.rstrip(" │|").split()[-1] == f"{value:.2f}"
    # a datastore of several environments: trials of other spaces are shown unscored
    _, (other,) = record(make_spec("gym:CartPole-v1", seed=0, max_ticks=5), trials=1)
    mixed = CliRunner().invoke(main, [
        "trials", "ls", "--datastore", datastore, "--score", "reward:rm@1",
        "--registry", str(registry_dir),
    ], env={"COLUMNS": "200"})  # fmt: skip
    assert mixed.exit_code == 0, mixed.output
    line = next(line for line in mixed.output.splitlines() if other.trial_id in line)
    assert line.rstrip(" │|").split()[-1] == "-"
    assert "trials of gym:CartPole-v1 not scored" in mixed.output
    cartpole = tmp_path / "cartpole"
    with Orchestrator(datastore=HDF5Datastore(cartpole)) as orch:
        orch.run(make_spec("gym:CartPole-v1", seed=0, max_ticks=5))
    refused = CliRunner().invoke(main, [
        "trials", "ls", "--datastore", str(cartpole), "--score", "reward:rm@1",
        "--registry", str(registry_dir),
    ])  # fmt: skip
    assert refused.exit_code == 2
    assert "reward model rm@1 observes Box([-1. -1. -8.]" in refused.output
    assert "actor 'player' of the recorded trials has Box(" in refused.output
    assert "--score 'sb3:rm@1'" in CliRunner().invoke(main, [
        "trials", "ls", "--datastore", datastore, "--score", "sb3:rm@1",
        "--registry", str(registry_dir),
    ]).output  # fmt: skip


def test_trials_ls_score_names_a_score_actor_that_no_trial_shown_has(pendulum_reward, registry_dir):
    from click.testing import CliRunner

    from cogym.cli import main

    datastore = pendulum_reward.lineage["datastore"]
    listed = CliRunner().invoke(main, [
        "trials", "ls", "--datastore", datastore, "--score", "reward:rm@1",
        "--score-actor", "playr", "--registry", str(registry_dir),
    ])  # fmt: skip
    assert listed.exit_code == 2, listed.output
    assert "--score-actor 'playr': no trial shown has an actor of that name" in listed.output
    assert "Did you mean 'player'?" in listed.output
