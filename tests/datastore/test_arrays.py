"""Training arrays: one actor's rows across trials, aligned row by row."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium import spaces

from cogym import Orchestrator
from cogym.datastore import HDF5Datastore
from cogym.errors import InputError, SpaceMismatchError
from cogym.spaces import space_to_dict
from tests.conftest import CARTPOLE, NIM, PROBE, RENDEZVOUS, make_spec

EXPERT = [{"name": "player", "implementation": "python:cogym.bots:CartPoleExpert"}]


def test_rows_hold_the_observation_acted_on_and_the_action_taken(kept):
    datastore, played = kept(make_spec(CARTPOLE, seed=5), trials=4)
    data = datastore.arrays(
        "player", ("observations", "actions", "rewards", "terminated", "truncated", "tick")
    )
    samples = [s for trial in played for s in trial.samples]
    assert data.rows == len(samples)
    assert data["observations"].dtype == np.float32 and data["observations"].shape == (
        len(samples),
        4,
    )
    np.testing.assert_array_equal(
        data["observations"], np.stack([s.observations["player"] for s in samples])
    )
    np.testing.assert_array_equal(data["actions"], [s.actions["player"] for s in samples])
    np.testing.assert_array_equal(data["rewards"], [s.rewards["player"] for s in samples])
    np.testing.assert_array_equal(data["tick"], [s.tick for s in samples])
    assert data["terminated"].sum() == 4 and not data["truncated"].any()
    assert list(data.trial_ids) == [t.trial_id for t in played]
    ends = data.offsets[1:] - 1
    assert data["terminated"][ends].all()


def test_final_observations_come_one_per_trial(kept):
    datastore, played = kept(make_spec(CARTPOLE, seed=5), trials=3)
    data = datastore.arrays("player", ("final_observations",))
    assert data["final_observations"].shape == (3, 4)
    np.testing.assert_array_equal(
        data["final_observations"], [t.final_observations["player"] for t in played]
    )
    assert data.has_final.all()


def test_a_trial_stopped_by_its_tick_limit_ends_truncated(record):
    datastore, _ = record(make_spec(CARTPOLE, EXPERT, seed=0, max_ticks=50), trials=2)
    data = datastore.arrays("player", ("terminated", "truncated"))
    assert data.rows == 100 and data["truncated"].sum() == 2 and not data["terminated"].any()


def test_arrays_across_many_trials_in_one_call(record):
    datastore, results = record(make_spec(CARTPOLE, seed=0), trials=200)
    data = datastore.arrays("player", ("observations", "actions"), state="ended")
    assert data.rows == sum(r.ticks for r in results)
    assert data["observations"].flags["C_CONTIGUOUS"]
    assert len(data.trial_ids) == 200


def test_filters_select_trials(datastore_dir):
    ds = HDF5Datastore(datastore_dir)
    with Orchestrator(datastore=ds) as orchestrator:
        expert = orchestrator.run_many(
            make_spec(CARTPOLE, EXPERT, seed=0, max_ticks=30, tags={"who": "expert"}), 2
        )
        orchestrator.run_many(make_spec(CARTPOLE, seed=0, tags={"who": "random"}), 5)
    data = HDF5Datastore(datastore_dir).arrays("player", ("actions",), tags={"who": "expert"})
    assert data.rows == 60 and list(data.trial_ids) == [r.trial_id for r in expert]


def test_nested_spaces_give_nested_dicts(record):
    observation_space = spaces.Dict(
        {
            "pos": spaces.Box(-1, 1, (2,), np.float32),
            "inner": spaces.Tuple([spaces.Discrete(3), spaces.MultiBinary(4)]),
        }
    )
    spec = make_spec(
        PROBE,
        config={"observation_space": space_to_dict(observation_space), "episode_length": 5},
        seed=0,
    )
    datastore, _ = record(spec, trials=2)
    data = datastore.arrays("player", ("observations", "final_observations"))
    observations = data["observations"]
    assert observations["pos"].shape == (10, 2) and observations["pos"].dtype == np.float32
    assert observations["inner"][0].shape == (10,) and observations["inner"][1].shape == (10, 4)
    assert data["final_observations"]["inner"][1].dtype == np.int8


def test_turn_based_rewards_go_to_the_row_of_the_move_they_follow(kept):
    datastore, (trial,) = kept(
        make_spec(NIM, [{"name": "player_0"}, {"name": "player_1"}], {"stones": 7}, seed=3)
    )
    for player in ("player_0", "player_1"):
        data = datastore.arrays(player, ("rewards", "terminated", "tick"))
        assert data["rewards"][-1] == trial.result.returns[player]
        assert data["rewards"].sum() == pytest.approx(trial.result.returns[player])
        assert data["terminated"][-1] and data["terminated"].sum() == 1
        assert set(np.diff(data["tick"])) == {2}


def test_agents_leaving_have_their_own_rows(kept):
    spec = make_spec(
        RENDEZVOUS,
        [
            {"name": f"walker_{i}", "implementation": "python:cogym.bots:GreedyWalker"}
            for i in range(3)
        ],
        {"walkers": 3},
        seed=1,
    )
    datastore, (trial,) = kept(spec)
    for i in range(3):
        name = f"walker_{i}"
        acted = [s.tick for s in trial.samples if name in s.actions]
        data = datastore.arrays(name, ("tick", "terminated"))
        assert list(data["tick"]) == acted and data["terminated"][-1]


def test_iter_batches_streams_every_row_once(record):
    datastore, _ = record(make_spec(CARTPOLE, seed=0), trials=30, shard_bytes=2_000)
    whole = datastore.arrays("player", ("observations", "actions"))
    batches = list(
        datastore.iter_batches(
            "player", ("observations", "actions"), batch_size=64, shuffle=True, seed=1
        )
    )
    assert all(len(b["actions"]) == 64 for b in batches[:-1])
    streamed = np.concatenate([b["observations"] for b in batches])
    assert len(streamed) == whole.rows
    assert sorted(map(tuple, streamed.tolist())) == sorted(
        map(tuple, whole["observations"].tolist())
    )
    ordered = np.concatenate(
        [b["actions"] for b in datastore.iter_batches("player", ("actions",), batch_size=50)]
    )
    np.testing.assert_array_equal(ordered, whole["actions"])
    assert (
        len(list(datastore.iter_batches("player", ("actions",), batch_size=64, drop_last=True)))
        == whole.rows // 64
    )


def test_different_spaces_under_one_actor_name_are_refused(datastore_dir):
    ds = HDF5Datastore(datastore_dir)
    with Orchestrator(datastore=ds) as orchestrator:
        orchestrator.run(make_spec(CARTPOLE, seed=0))
        orchestrator.run(make_spec(PROBE, seed=0))
    with pytest.raises(SpaceMismatchError, match="different observation spaces"):
        HDF5Datastore(datastore_dir).arrays("player")
    assert HDF5Datastore(datastore_dir).arrays("player", environment=PROBE).rows == 20


def test_unknown_actor_and_field_are_named(record):
    datastore, _ = record(make_spec(CARTPOLE, seed=0), trials=1)
    with pytest.raises(InputError, match="Did you mean 'player'"):
        datastore.arrays("playr")
    with pytest.raises(InputError, match="Did you mean 'actions'"):
        datastore.arrays("player", ("actionz",))
    assert datastore.arrays("player", state="failed").rows == 0


def test_trials_the_actor_never_acted_in_give_no_rows(record):
    # player_1 always folds: in the hands it opens, player_0 never gets a turn
    folder = {"name": "player_1", "implementation": "python:tests.helpers:Constant",
              "config": {"action": 2}}  # fmt: skip
    spec = make_spec("pettingzoo:pettingzoo.classic.texas_holdem_v4:env",
                     [{"name": "player_0"}, folder], seed=0)  # fmt: skip
    datastore, results = record(spec, trials=6)
    rows = {r.trial_id: len(datastore.trial(r.trial_id).arrays("player_0")["tick"])
            for r in results}  # fmt: skip
    unplayed = [t for t, n in rows.items() if n == 0]
    assert len(unplayed) >= 2
    data = datastore.arrays("player_0", ("observations", "actions", "tick"), ids=unplayed)
    assert data.rows == 0 and data.offsets.tolist() == [0] * (len(unplayed) + 1)
    assert data["observations"]["action_mask"].shape == (0, 4)
    everything = datastore.arrays("player_0", ("tick",))
    assert everything.rows == sum(rows.values())
