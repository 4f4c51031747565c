"""Recording trials: what each trial leaves in the datastore, and reading it back tick by tick."""

from __future__ import annotations

import numpy as np
import pytest

from cogym import Orchestrator
from cogym.datalog import MemoryDatalog
from cogym.datastore import HDF5Datastore
from cogym.errors import SpecError
from cogym.trial import TrialState
from cogym.wrappers import TrialGymEnv, TrialParallelEnv
from tests.conftest import CARTPOLE, NIM, PROBE, RENDEZVOUS, make_spec
from tests.datastore.conftest import assert_same_samples, same


def test_cartpole_trials_are_recorded_with_their_summary(record):
    spec = make_spec(CARTPOLE, seed=7, tags={"experiment": "demo", "round": 2})
    datastore, results = record(spec, trials=4)
    summaries = datastore.trials()
    assert [s.trial_id for s in summaries] == [r.trial_id for r in results]
    for summary, result in zip(summaries, results, strict=True):
        assert summary.state is TrialState.ENDED
        assert summary.seed == result.seed == 7 + result.index
        assert summary.ticks == result.ticks
        assert summary.returns == pytest.approx(result.returns)
        assert summary.started == pytest.approx(result.started)
        assert summary.ended == pytest.approx(result.ended)
        assert summary.tags == {"experiment": "demo", "round": 2}
        assert summary.environment == CARTPOLE
        assert summary.implementations == {"player": "random"}
        assert summary.spec == result.spec
        assert summary.error is None


def test_samples_read_back_equal_those_the_trial_produced(kept):
    datastore, played = kept(make_spec(CARTPOLE, seed=3), trials=3)
    for trial in played:
        stored = datastore.trial(trial.trial_id)
        assert_same_samples(list(stored.samples()), trial.samples)
        assert [s.rewards for s in stored.samples()] == [dict(s.rewards) for s in trial.samples]
        assert same(stored.final_observations["player"], trial.final_observations["player"])
        assert stored.returns() == pytest.approx(trial.result.returns)


def test_rewards_messages_and_notes_of_participants_are_recorded(kept):
    spec = make_spec(
        CARTPOLE,
        [
            {"name": "player", "implementation": "random"},
            {
                "name": "critic",
                "implementation": "python:tests.datastore.actors:Critic",
                "actor_class": "observer",
            },
        ],
        seed=1,
    )
    memory = MemoryDatalog()
    with Orchestrator(datastore=memory) as orchestrator:
        reference = orchestrator.run(spec)
    datastore, (trial,) = kept(spec)
    stored = datastore.trial(trial.trial_id)
    assert_same_samples(list(stored.samples()), trial.samples)
    # every individual reward, retroactive ones at the tick they name
    sent = stored.rewards_sent
    assert len(sent) == trial.result.ticks - 1
    assert all(r.sender == "critic" and r.receiver == "player" and r.value == 2.0 for r in sent)
    assert [r.tick for r in sent] == list(range(trial.result.ticks - 1))
    # aggregated rewards as known at the end: revisions applied
    recorded = [s.rewards["player"] for s in stored.samples()]
    assert recorded == pytest.approx(memory.trials[0].rewards("player"))
    assert sum(recorded) == pytest.approx(reference.returns["player"])
    assert [m.payload for m in stored.messages] == [{"seen": t} for t in range(trial.result.ticks)]
    assert stored.annotations[0] == {"critic": {"critic": 0}}


def test_a_failed_environment_is_recorded_with_its_error_and_every_tick_before(record):
    spec = make_spec(PROBE, config={"episode_length": 20, "fail_at": 5}, seed=0)
    datastore, _ = record(spec, trials=1)
    (summary,) = datastore.trials()
    assert summary.state is TrialState.FAILED
    assert "ProbeEnv fails at step 5" in summary.error
    assert summary.ticks == 5
    samples = list(datastore.trial(summary.trial_id).samples())
    assert [s.tick for s in samples] == [0, 1, 2, 3, 4]


def test_a_failed_actor_is_recorded_with_its_error(record):
    spec = make_spec(
        CARTPOLE,
        [{"name": "player", "implementation": "python:tests.helpers:Crash", "config": {"at": 3}}],
        seed=0,
    )
    datastore, _ = record(spec, trials=1)
    (summary,) = datastore.trials(state="failed")
    assert "crash at tick 3" in summary.error
    assert len(list(datastore.trial(summary.trial_id).samples())) == 3


def test_observations_of_an_env_that_reuses_its_buffer_are_copied(record):
    spec = make_spec("python:tests.datastore.actors:reusing", seed=0)
    datastore, _ = record(spec, trials=1)
    (summary,) = datastore.trials()
    observations = [s.observations["player"] for s in datastore.trial(summary.trial_id).samples()]
    assert [float(o[0]) for o in observations] == [0, 1, 2, 3, 4, 5]


def test_parallel_env_with_agents_leaving(kept):
    spec = make_spec(
        RENDEZVOUS,
        [
            {"name": f"walker_{i}", "implementation": "python:cogym.bots:GreedyWalker"}
            for i in range(3)
        ],
        {"walkers": 3, "size": 7},
        seed=4,
    )
    datastore, (trial,) = kept(spec)
    stored = datastore.trial(trial.trial_id)
    samples = list(stored.samples())
    assert_same_samples(samples, trial.samples)
    ended = {name: s.tick for s in samples for name in s.terminated}
    assert sorted(ended) == ["walker_0", "walker_1", "walker_2"]
    assert len(set(ended.values())) > 1, "walkers should leave at different ticks"


def test_turn_based_env(kept):
    spec = make_spec(NIM, [{"name": "player_0"}, {"name": "player_1"}], {"stones": 9}, seed=2)
    datastore, (trial,) = kept(spec)
    samples = list(datastore.trial(trial.trial_id).samples())
    assert_same_samples(samples, trial.samples)
    assert all(len(s.actions) == 1 for s in samples)


def test_frames_are_recorded_when_the_spec_asks(record):
    spec = make_spec(
        PROBE, config={"episode_length": 6, "render_mode": "rgb_array"}, seed=0, record_frames=True
    )
    datastore, _ = record(spec, trials=2)
    for summary in datastore.trials():
        assert summary.frames
        frames = datastore.trial(summary.trial_id).frames()
        assert frames.shape == (6, 32, 32, 3) and frames.dtype == np.uint8
        assert [int(f[0, :, 0].sum() // 255) for f in frames] == [0, 1, 2, 3, 4, 5]


def test_a_spec_that_names_a_datastore_is_recorded_by_any_orchestrator(datastore_dir):
    spec = make_spec(CARTPOLE, seed=0, datastore=str(datastore_dir))
    with Orchestrator() as orchestrator:
        results = orchestrator.run_many(spec, 3)
    assert sorted(s.trial_id for s in HDF5Datastore(datastore_dir).trials()) == sorted(
        r.trial_id for r in results
    )


def test_trials_played_through_the_gym_adapter_are_recorded(datastore_dir):
    spec = make_spec(
        CARTPOLE, [{"name": "player", "implementation": "external"}], datastore=str(datastore_dir)
    )
    env = TrialGymEnv(spec)
    env.reset(seed=0)
    steps = 0
    for _ in range(60):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        steps += 1
        if terminated or truncated:
            env.reset()
    env.close()
    summaries = HDF5Datastore(datastore_dir).trials()
    assert sum(s.ticks for s in summaries) == steps
    assert summaries[-1].state is TrialState.TERMINATED  # the episode cut short by close()


def test_trials_played_through_the_parallel_adapter_are_recorded(datastore_dir):
    spec = make_spec(
        RENDEZVOUS,
        [
            {"name": "walker_0", "implementation": "external"},
            {"name": "walker_1", "implementation": "random"},
        ],
        {"walkers": 2},
    )
    env = TrialParallelEnv(spec, datastore=HDF5Datastore(datastore_dir))
    env.reset(seed=0)
    while env.agents:
        env.step({a: env.action_space(a).sample() for a in env.agents})
    env.close()
    (summary,) = HDF5Datastore(datastore_dir).trials()
    assert summary.implementations == {"walker_0": "external", "walker_1": "random"}


def test_an_unrecordable_space_fails_the_trial_with_a_clear_error(datastore_dir):
    spec = make_spec("python:tests.datastore.actors:sequences", seed=0)
    with Orchestrator(datastore=HDF5Datastore(datastore_dir)) as orchestrator:
        result = orchestrator.run(spec)
    assert result.state is TrialState.FAILED
    assert "actor 'player'" in result.error and "Sequence" in result.error


def test_a_one_actor_trial_that_starts_plain_and_then_sends_keeps_every_tick(kept):
    spec = make_spec(
        CARTPOLE,
        [
            {
                "name": "player",
                "implementation": "python:tests.datastore.actors:LateNote",
                "config": {"at": 3},
            }
        ],
        seed=0,
    )
    datastore, (trial,) = kept(spec)
    stored = datastore.trial(trial.trial_id)
    samples = list(stored.samples())
    assert_same_samples(samples, trial.samples)
    assert samples[3].annotations == {"player": {"late": True}}
    rewards = [s.rewards["player"] for s in samples]
    assert rewards[2] == pytest.approx(3.0)  # the env's 1 and the player's 5, weighted equally
    assert sum(rewards) == pytest.approx(trial.result.returns["player"])


def test_text_with_line_breaks_round_trips(kept):
    from gymnasium import spaces

    from cogym.spaces import space_to_dict

    space = spaces.Text(max_length=6, min_length=1, charset="a\nb")
    spec = make_spec(
        PROBE, config={"observation_space": space_to_dict(space), "episode_length": 8}, seed=0
    )
    datastore, (trial,) = kept(spec)
    assert any("\n" in s.observations["player"] for s in trial.samples)
    datastore.close()
    assert_same_samples(
        list(HDF5Datastore(datastore.path).trial(trial.trial_id).samples()), trial.samples
    )


@pytest.mark.slow
def test_an_sb3_training_run_leaves_a_datastore_behind(datastore_dir):
    from stable_baselines3 import PPO

    spec = make_spec(
        CARTPOLE, [{"name": "player", "implementation": "external"}], datastore=str(datastore_dir)
    )
    env = TrialGymEnv(spec)
    model = PPO(
        "MlpPolicy", env, n_steps=128, batch_size=64, n_epochs=1, seed=0, device="cpu", verbose=0
    )
    model.learn(256)
    env.close()
    datastore = HDF5Datastore(datastore_dir)
    assert sum(s.ticks for s in datastore.trials()) >= 256
    assert datastore.arrays("player", ("observations", "actions")).rows >= 256


def test_record_frames_on_frozen_lake_rendering_text_is_refused_naming_the_render_mode(record):
    spec = make_spec(
        "gym:FrozenLake-v1", config={"render_mode": "ansi"}, seed=0, record_frames=True
    )
    with pytest.raises(SpecError, match=r"record_frames: .*render_mode is 'ansi'.*rgb_array"):
        record(spec, trials=1)


def test_text_frames_fail_their_trial_and_the_trials_recorded_beside_it_stay_readable(
    datastore_dir,
):
    # a text frame made the shard's write raise h5py's 'No conversion path for dtype', losing
    # every trial the writer held
    good = make_spec(
        PROBE, config={"episode_length": 3, "render_mode": "rgb_array"}, seed=0, record_frames=True
    )
    text = make_spec("python:tests.datastore.actors:TextFrames", seed=0, record_frames=True)
    with Orchestrator(datastore=HDF5Datastore(datastore_dir)) as orchestrator:
        (kept,) = orchestrator.run_many(good, 1)
        (failed,) = orchestrator.run_many(text, 1)
    assert failed.state is TrialState.FAILED
    assert "record_frames needs frames that are arrays of numbers" in failed.error
    assert "rendered a str ('tick 0\\n')" in failed.error
    datastore = HDF5Datastore(datastore_dir)
    assert [s.trial_id for s in datastore.trials()] == [kept.trial_id, failed.trial_id]
    assert datastore.trial(kept.trial_id).frames().shape == (3, 32, 32, 3)
