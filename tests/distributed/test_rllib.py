"""RLlib on trials: PPO (shared and separate policies) on a two-agent TrialParallelEnv on a
local Ray (the separate policies sampled by a remote env runner), then the trained policies
act in cogym trials as ``rllib:`` actors."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
import yaml
from click.testing import CliRunner

from cogym import Orchestrator, TrialSpec
from cogym.cli import main
from cogym.datastore import HDF5Datastore
from cogym.errors import ImplementationError, SpecError
from cogym.trial import TrialState
from tests.conftest import RENDEZVOUS

pytest.importorskip("ray.rllib")

from ray.rllib.algorithms.ppo import PPOConfig  # noqa: E402
from ray.rllib.utils.pre_checks.env import check_multiagent_environments  # noqa: E402

from cogym.wrappers.rllib_env import (  # noqa: E402
    SEED_STREAM,
    TrialMultiAgentEnv,
    register_trial_env,
)

pytestmark = [pytest.mark.ray, pytest.mark.slow]

WALKERS = ["walker_0", "walker_1"]


def _spec(implementations: dict[str, str], walkers: int = 2, **fields) -> TrialSpec:
    return TrialSpec.from_dict(
        {
            "environment": {
                "implementation": RENDEZVOUS,
                "config": {"walkers": walkers, "size": 5, "max_cycles": 20},
            },
            "actors": [
                {"name": name, "implementation": implementation}
                for name, implementation in implementations.items()
            ],
            "seed": 0,
            **fields,
        }
    )


TRAINING = _spec(dict.fromkeys(WALKERS, "external"))


def _train(
    name: str,
    policies: set[str],
    mapping,
    checkpoint: Path,
    runners: int = 0,
    datastore: Path | None = None,
) -> dict:
    register_trial_env(name, TRAINING, datastore=datastore)
    config = (
        PPOConfig()
        .environment(name)
        .env_runners(num_env_runners=runners, rollout_fragment_length=64)
        .learners(num_learners=0)
        .training(train_batch_size_per_learner=128, minibatch_size=64, num_epochs=1)
        .rl_module(model_config={"fcnet_hiddens": [16]})
        .multi_agent(policies=policies, policy_mapping_fn=mapping)
        .debugging(seed=0)
    )
    algo = config.build_algo()
    try:
        results = [algo.train() for _ in range(2)]
        algo.save_to_path(str(checkpoint.absolute()))
    finally:
        algo.stop()
    return results[-1]


@pytest.fixture(scope="module")
def checkpoints(ray_session: ModuleType, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("rllib")
    made = {"shared": root / "shared", "separate": root / "separate"}
    shared = _train(
        "cogym-rendezvous-shared", {"shared"}, lambda agent, *a, **k: "shared", made["shared"]
    )
    # separate policies: sampled by one remote env runner, which records its trials
    made["trials"] = root / "trials"
    separate = _train(
        "cogym-rendezvous-separate",
        set(WALKERS),
        lambda agent, *a, **k: agent,
        made["separate"],
        runners=1,
        datastore=made["trials"],
    )
    for result in (shared, separate):
        assert result["env_runners"]["num_episodes_lifetime"] > 0
    return made


def test_trials_played_by_a_remote_env_runner_are_recorded_with_seeds_of_its_own(checkpoints):
    recorded = HDF5Datastore(checkpoints["trials"]).trials(state="ended")
    assert recorded, "the env runner recorded no ended trial"
    # env runner 1 adds 1000 streams to each seed: it never plays the local env's trials
    assert all(trial.seed >= 1000 * SEED_STREAM for trial in recorded)
    assert {a for trial in recorded for a in trial.returns} == set(WALKERS)


def _play(spec: TrialSpec, trials: int = 3) -> list:
    played = []
    with Orchestrator(keep_samples=True) as orchestrator:
        orchestrator.validate(spec)
        for seed in range(trials):
            trial = orchestrator.start(spec, seed=seed)
            trial.run()
            played.append(trial)
    return played


def _assert_ended_with_actions_in_spaces(trials: list) -> None:
    space = TrialMultiAgentEnv(TRAINING).action_spaces["walker_0"]
    for trial in trials:
        assert trial.state is TrialState.ENDED, trial.error
        assert trial.samples, "no tick was played"
        actions = [sample.actions[w] for sample in trial.samples for w in sample.actions]
        assert actions and all(space.contains(action) for action in actions)


def _homeward(observation) -> int:
    """The move that takes a walker one step closer to home (rendezvous' observation starts
    with the walker's own position relative to home)."""
    row, column = observation[:2]
    if row:
        return 4 if row > 0 else 3
    if column:
        return 2 if column > 0 else 1
    return 0


def test_the_trial_multi_agent_env_passes_rllib_checks_and_reports_agents_that_leave():
    env = TrialMultiAgentEnv(TRAINING)
    check_multiagent_environments(env)
    observations, _ = env.reset(seed=3)
    assert sorted(observations) == WALKERS == sorted(env.agents)
    left_at: dict[str, int] = {}
    for step in range(20):
        # as a user would: an action for each of env.agents (one that left is ignored)
        actions = {a: _homeward(observations[a]) for a in env.agents}
        observations, rewards, terminated, truncated, _ = env.step(actions)
        reported = set(terminated) - {"__all__"}
        assert reported == set(rewards) and not reported & set(left_at)  # reported once
        left_at.update({a: step for a in reported if terminated[a] or truncated[a]})
        assert sorted(env.agents) == sorted(reported)  # RLlib's check wants those of the step
        if terminated["__all__"] or truncated["__all__"]:
            break
    assert set(left_at) == set(WALKERS) and len(set(left_at.values())) == 2  # one left first
    assert terminated["__all__"] and not truncated["__all__"]


def test_ppo_with_one_shared_policy_trains_and_then_acts_as_a_cogym_actor(checkpoints):
    spec = _spec(dict.fromkeys(WALKERS, f"rllib:{checkpoints['shared']}"))
    _assert_ended_with_actions_in_spaces(_play(spec))


def test_ppo_with_separate_policies_trains_and_each_acts_in_its_seat(checkpoints):
    separate = checkpoints["separate"]
    spec = _spec({w: f"rllib:{separate}#{w}" for w in WALKERS})
    trials = _play(spec)
    _assert_ended_with_actions_in_spaces(trials)
    assert trials[0].implementations == {w: f"rllib:{separate}#{w}" for w in WALKERS}


def test_a_trained_policy_plays_beside_a_random_actor_and_samples_with_a_seeded_stream(
    checkpoints,
):
    spec = _spec({"walker_0": f"rllib:{checkpoints['shared']}", "walker_1": "random"})
    spec = TrialSpec.from_dict(
        {
            **spec.to_dict(),
            "actors": [
                {
                    "name": "walker_0",
                    "implementation": f"rllib:{checkpoints['shared']}",
                    "config": {"deterministic": False},
                },
                {"name": "walker_1", "implementation": "random"},
            ],
        }
    )
    first, second = (_play(spec, trials=2) for _ in range(2))
    _assert_ended_with_actions_in_spaces(first)
    for a, b in zip(first, second, strict=True):
        assert [s.actions for s in a.samples] == [s.actions for s in b.samples]


def test_a_checkpoint_with_several_policies_needs_one_named_and_suggests_close_names(checkpoints):
    separate = checkpoints["separate"]
    with Orchestrator() as orchestrator:
        with pytest.raises(SpecError, match=r"holds 2 policies \(walker_0, walker_1\)"):
            orchestrator.validate(_spec(dict.fromkeys(WALKERS, f"rllib:{separate}")))
        with pytest.raises(SpecError, match=r"no policy 'walker_2'.*walker_0"):
            orchestrator.validate(_spec(dict.fromkeys(WALKERS, f"rllib:{separate}#walker_2")))


def test_a_policy_whose_spaces_do_not_fit_the_seat_is_refused_with_both_spaces_named(
    checkpoints, tmp_path
):
    # three walkers: each observes 6 numbers, the policy was trained on 4
    spec = _spec(
        {"walker_0": f"rllib:{checkpoints['shared']}", "walker_1": "random", "walker_2": "random"},
        walkers=3,
    )
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec.to_dict()))
    result = CliRunner().invoke(main, ["run", str(path), "-n", "1", "-q"])
    assert result.exit_code == 2, result.output
    assert "observes Box(-1.0, 1.0, (4,), float32)" in result.output
    assert "'walker_0'" in result.output and "(6,)" in result.output


def test_a_missing_checkpoint_directory_is_named():
    from cogym.wrappers.rllib_actor import RLlibActor

    with pytest.raises(ImplementationError, match="no checkpoint directory"):
        RLlibActor.from_checkpoint("/nonexistent/checkpoint")
