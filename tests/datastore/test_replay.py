"""Replaying a recorded trial from its seed and recorded actions."""

from __future__ import annotations

import pytest

from cogym.datastore import HDF5Datastore
from tests.conftest import CARTPOLE, NIM, PROBE, RENDEZVOUS, make_spec


@pytest.mark.parametrize(
    "spec",
    [
        make_spec(CARTPOLE, seed=11),
        make_spec(
            CARTPOLE,
            [{"name": "player", "implementation": "python:cogym.bots:CartPoleExpert"}],
            seed=0,
            max_ticks=80,
        ),
        make_spec(RENDEZVOUS, [{"name": f"walker_{i}"} for i in range(3)], {"walkers": 3}, seed=2),
        make_spec(NIM, [{"name": "player_0"}, {"name": "player_1"}], {"stones": 11}, seed=5),
        make_spec(
            CARTPOLE,
            [
                {"name": "player"},
                {
                    "name": "critic",
                    "implementation": "python:tests.datastore.actors:Critic",
                    "actor_class": "observer",
                },
            ],
            seed=3,
        ),
    ],
    ids=["cartpole", "tick-limit", "agents-leaving", "turn-based", "with-observer"],
)
def test_recorded_trials_reproduce(record, spec):
    datastore, results = record(spec, trials=2)
    for result in results:
        report = datastore.replay(result.trial_id)
        assert report.reproduced, str(report)
        assert report.ticks == result.ticks


def test_a_failed_trial_reproduces_up_to_its_failure(record):
    datastore, (result,) = record(make_spec(PROBE, config={"fail_at": 4}, seed=0), trials=1)
    report = datastore.replay(result.trial_id)
    assert report.reproduced and report.ticks == 4
    assert any("failed at tick 4" in note for note in report.notes)


def test_a_trial_that_does_not_reproduce_names_the_first_difference(record):
    datastore, (result,) = record(
        make_spec("python:tests.datastore.actors:noisy", seed=0), trials=1
    )
    report = datastore.replay(result.trial_id)
    assert not report.reproduced
    assert report.difference.tick == 0
    assert report.difference.field == "observation"
    assert report.difference.actor == "player"
    assert "tick 0, actor 'player', observation" in str(report)


def test_replay_of_adapter_trials(datastore_dir):
    from cogym.wrappers import TrialGymEnv

    spec = make_spec(CARTPOLE, [{"name": "player", "implementation": "external"}])
    env = TrialGymEnv(spec, datastore=HDF5Datastore(datastore_dir))
    env.reset(seed=3)
    done = False
    while not done:
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        done = terminated or truncated
    env.close()
    datastore = HDF5Datastore(datastore_dir)
    (summary,) = datastore.trials()
    assert datastore.replay(summary.trial_id).reproduced


def test_replay_does_not_record_into_the_datastore(record, datastore_dir):
    datastore, (result,) = record(
        make_spec(CARTPOLE, seed=0, datastore=str(datastore_dir)), trials=1
    )
    assert datastore.replay(result.trial_id).reproduced
    assert len(HDF5Datastore(datastore_dir).trials()) == 1
