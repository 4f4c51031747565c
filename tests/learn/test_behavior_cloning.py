"""Behaviour cloning from recorded trials: the scores users expect, every space kind, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium import spaces

from cogym import ModelRegistry, Orchestrator, TrialState
from cogym.bots import GreedyWalker
from cogym.datastore import HDF5Datastore
from cogym.errors import InputError, SpaceMismatchError
from cogym.learn import behavior_cloning, dagger
from cogym.spaces import space_to_dict
from cogym.wrappers import TrialGymEnv
from tests.conftest import CARTPOLE, PROBE, RENDEZVOUS, make_spec


def _record(path, spec, trials, workers=2):
    with Orchestrator(datastore=HDF5Datastore(path)) as orchestrator:
        return orchestrator.run_many(spec, trials, workers=workers)


def _mean_return(spec, actor, trials, seed):
    with Orchestrator() as orchestrator:
        results = orchestrator.run_many(spec.replace(seed=seed), trials)
    assert all(r.state.value == "ended" for r in results), results[0].error
    return float(np.mean([r.returns[actor] for r in results]))


@pytest.fixture(scope="module")
def cartpole_experts(tmp_path_factory):
    path = tmp_path_factory.mktemp("cartpole") / "trials"
    spec = make_spec(
        CARTPOLE,
        [{"name": "player", "implementation": "python:cogym.bots:CartPoleExpert"}],
        seed=0,
        tags={"who": "expert"},
    )
    _record(path, spec, 50)
    return path, spec


@pytest.mark.slow
def test_cartpole_clone_of_50_expert_trials_scores_475(cartpole_experts, tmp_path):
    path, spec = cartpole_experts
    epochs = []
    model = behavior_cloning(
        path,
        actor="player",
        tags={"who": "expert"},
        epochs=40,
        batch_size=256,
        on_epoch=epochs.append,
    )
    assert len(model.cogym_trial_ids) == 50
    assert epochs[-1].score_name == "accuracy" and max(e.validation_score for e in epochs) > 0.95
    model.save(tmp_path / "clone.zip")
    clone = spec.replace_actor("player", implementation=f"sb3:{tmp_path / 'clone.zip'}")
    assert _mean_return(clone, "player", 20, seed=777_000) >= 475


@pytest.mark.slow
def test_pendulum_clone_reaches_80_percent_of_the_expert(tmp_path):
    """80% of the way from a random policy's mean return to the expert's (returns are negative)."""
    spec = make_spec(
        "gym:Pendulum-v1",
        [{"name": "pilot", "implementation": "python:cogym.bots:PendulumExpert"}],
        seed=0,
    )
    _record(tmp_path / "trials", spec, 50)
    model = behavior_cloning(tmp_path / "trials", actor="pilot", epochs=150, patience=20)
    model.save(tmp_path / "clone.zip")
    expert = _mean_return(spec, "pilot", 20, seed=10_000)
    random = _mean_return(
        spec.replace_actor("pilot", implementation="random"), "pilot", 20, seed=10_000
    )
    clone = _mean_return(
        spec.replace_actor("pilot", implementation=f"sb3:{tmp_path / 'clone.zip'}"),
        "pilot",
        20,
        seed=10_000,
    )
    assert (clone - random) / (expert - random) >= 0.8, (clone, expert, random)


def test_one_actor_of_a_multi_agent_trial_is_cloned_from_its_own_data(tmp_path):
    spec = make_spec(
        RENDEZVOUS,
        [
            {"name": "walker_0", "implementation": "python:cogym.bots:GreedyWalker"},
            {"name": "walker_1", "implementation": "random"},
            {"name": "walker_2", "implementation": "random"},
        ],
        {"walkers": 3, "size": 7},
        seed=0,
    )
    _record(tmp_path / "trials", spec, 100)
    store = HDF5Datastore(tmp_path / "trials")
    rows = store.arrays("walker_0", ("observations", "actions"))
    model = behavior_cloning(store, actor="walker_0", epochs=100, patience=10)
    predicted, _ = model.predict(rows["observations"], deterministic=True)
    greedy = np.array([GreedyWalker().act(o) for o in rows["observations"]])
    assert np.array_equal(greedy, rows["actions"])
    assert (predicted == rows["actions"]).mean() > 0.85
    # the random walkers' actions agree with the greedy policy far less often
    others = store.arrays("walker_1", ("observations", "actions"))
    assert (
        model.predict(others["observations"], deterministic=True)[0] == others["actions"]
    ).mean() < 0.5


@pytest.mark.parametrize(
    ("observation_space", "action_space"),
    [
        (
            spaces.Dict({"pos": spaces.Box(-1, 1, (3,), np.float32), "id": spaces.Discrete(4)}),
            spaces.Discrete(3),
        ),
        (spaces.Box(-1, 1, (4,), np.float32), spaces.MultiDiscrete([3, 2])),
        (spaces.Box(-1, 1, (4,), np.float32), spaces.MultiBinary(3)),
        (spaces.Box(-1, 1, (2,), np.float32), spaces.Box(-2, 2, (2,), np.float32)),
    ],
    ids=["dict-obs", "multi-discrete", "multi-binary", "continuous"],
)
def test_every_sb3_space_kind_trains(tmp_path, observation_space, action_space):
    spec = make_spec(
        PROBE,
        [{"name": "player", "implementation": "random"}],
        {
            "observation_space": space_to_dict(observation_space),
            "action_space": space_to_dict(action_space),
            "episode_length": 20,
        },
        seed=0,
    )
    _record(tmp_path / "trials", spec, 10, workers=1)
    epochs = []
    model = behavior_cloning(tmp_path / "trials", actor="player", epochs=2, on_epoch=epochs.append)
    assert model.observation_space == observation_space and model.action_space == action_space
    assert len(epochs) == 2 and np.isfinite(epochs[-1].train_loss)
    action, _ = model.predict(observation_space.sample(), deterministic=True)
    assert (
        action_space.contains(action.astype(action_space.dtype))
        if action_space.shape
        else action in range(3)
    )


def test_the_clone_fine_tunes_with_ppo(cartpole_experts):
    path, spec = cartpole_experts
    model = behavior_cloning(path, actor="player", epochs=3)
    before = {k: v.clone() for k, v in model.policy.state_dict().items()}
    model.set_env(TrialGymEnv(spec.replace_actor("player", implementation="external")))
    model.learn(512)
    after = model.policy.state_dict()
    assert model.num_timesteps >= 512
    assert any(not (before[k] == after[k]).all() for k in before)
    # learning went on from the cloned weights, not from new ones
    assert all((before[k] - after[k]).abs().max() < 1.0 for k in before)


def test_bad_input_is_refused_before_training(cartpole_experts, tmp_path):
    path, _ = cartpole_experts
    called = []
    with pytest.raises(InputError, match="no recorded rows for actor 'player'.*tags"):
        behavior_cloning(path, actor="player", tags={"who": "nobody"}, on_epoch=called.append)
    with pytest.raises(InputError, match="an actor 'playr'. Did you mean 'player'"):
        behavior_cloning(path, actor="playr", on_epoch=called.append)
    with pytest.raises(InputError, match="algo 'dqn'"):
        behavior_cloning(path, actor="player", algo="dqn")
    with pytest.raises(InputError, match="epochs"):
        behavior_cloning(path, actor="player", epochs=0)
    spec = make_spec(
        PROBE,
        [{"name": "player", "implementation": "random"}],
        {"action_space": space_to_dict(spaces.Discrete(3, start=1)), "episode_length": 5},
        seed=0,
    )
    _record(tmp_path / "trials", spec, 2, workers=1)
    with pytest.raises(SpaceMismatchError, match="starts at 1"):
        behavior_cloning(tmp_path / "trials", actor="player", on_epoch=called.append)
    assert called == []


def test_cloning_only_the_ticks_noted_as_a_persons(tmp_path):
    from click.testing import CliRunner

    from cogym import ModelRegistry
    from cogym.cli import main

    spec = make_spec(
        PROBE,
        [{"name": "player", "implementation": "python:tests.helpers:Corrected"}],
        {"episode_length": 40},
        seed=0,
    )
    _record(tmp_path / "trials", spec, 10, workers=1)
    model = behavior_cloning(
        tmp_path / "trials",
        actor="player",
        notes={"by": "human"},
        epochs=60,
        learning_rate=0.01,
        validation=0,
    )
    observations = np.random.default_rng(0).uniform(-1, 1, (50, 3)).astype(np.float32)
    assert (model.predict(observations, deterministic=True)[0] == 1).all()
    with pytest.raises(InputError, match="annotated with a note holding"):
        behavior_cloning(tmp_path / "trials", actor="player", notes={"by": "nobody"})
    result = CliRunner().invoke(
        main,
        [
            "bc",
            "-q",
            "--datastore",
            str(tmp_path / "trials"),
            "--actor",
            "player",
            "--model",
            "me",
            "--registry",
            str(tmp_path / "models"),
            "--note",
            "by=human",
            "--epochs",
            "2",
            "--eval-trials",
            "0",
            "--validation",
            "0",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "200" in result.output  # rows: half of 10 trials of 40 ticks
    assert ModelRegistry(tmp_path / "models").versions("me") == [1]


@pytest.mark.parametrize(
    "observation_space",
    [
        spaces.Discrete(5, start=1),
        spaces.MultiDiscrete([3, 4], start=[0, -2]),
        spaces.Dict({"pos": spaces.Box(-1, 1, (2,), np.float32),
                     "cell": spaces.Discrete(4, start=2)}),
    ],
    ids=["discrete", "multi-discrete", "in-a-dict"],
)  # fmt: skip
def test_observations_not_starting_at_0_are_refused_before_training(tmp_path, observation_space):
    spec = make_spec(
        PROBE,
        [{"name": "player", "implementation": "random"}],
        {"observation_space": space_to_dict(observation_space), "episode_length": 5},
        seed=0,
    )
    _record(tmp_path / "trials", spec, 2, workers=1)
    called = []
    with pytest.raises(SpaceMismatchError, match="which starts at .*shift them to start at 0"):
        behavior_cloning(tmp_path / "trials", actor="player", epochs=2, on_epoch=called.append)
    assert called == []


def test_a_clone_of_an_actor_observing_images_acts_in_trials_and_dagger_rounds(tmp_path):
    # SB3 clones images with a CnnPolicy observing them channels-first
    image = spaces.Box(0, 255, (36, 36, 3), np.uint8)
    spec = make_spec(
        PROBE,
        [{"name": "player", "implementation": "random"}],
        {"observation_space": space_to_dict(image), "episode_length": 5},
        seed=0,
    )
    _record(tmp_path / "trials", spec, 2, workers=1)
    model = behavior_cloning(tmp_path / "trials", actor="player", epochs=1)
    assert model.observation_space.shape == (3, 36, 36)
    ModelRegistry(tmp_path / "models").save("pixels", model)
    with Orchestrator(registry=tmp_path / "models") as orchestrator:
        result = orchestrator.run(spec.replace_actor("player", implementation="sb3:pixels@1"))
    assert result.state is TrialState.ENDED and result.ticks == 5, result.error
    dagger(spec, "player", "random", registry=tmp_path / "models", model="learner",
           datastore=tmp_path / "dagger", rounds=2, trials_per_round=1, epochs=1,
           min_updates=0)  # fmt: skip
    assert ModelRegistry(tmp_path / "models").info("learner").version == 2
