"""A trial that ends is recorded whole, or it is not reported as a clean ``ended``.

Turn-based games cut short leave an actor without a final observation, or without any row at
all; environments give values that do not fit their spaces. Each trial is either read back as
it was played, or its result, the index and ``cogym run``'s exit code say why it is not.
"""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from cogym import Orchestrator, TrialState
from cogym.cli import main
from cogym.datastore import HDF5Datastore, UnrecordedTrialWarning
from cogym.wrappers import TrialGymEnv
from tests.conftest import make_spec
from tests.datastore.conftest import assert_same_samples

TICTACTOE = "pettingzoo:pettingzoo.classic.tictactoe_v3:env"
PLAYERS = [
    {"name": "player_1", "implementation": "random"},
    {"name": "player_2", "implementation": "random"},
]


def run_cli(tmp_path, spec, trials, datastore_dir):
    path = tmp_path / "spec.yaml"
    path.write_text(spec.to_yaml())
    return CliRunner().invoke(
        main, ["run", str(path), "-n", str(trials), "-q", "--datastore", str(datastore_dir)]
    )


@pytest.mark.parametrize("max_ticks", [1, 2, 3, 4])
def test_turn_based_trials_cut_short_are_recorded_from_the_command_line(
    tmp_path, datastore_dir, max_ticks
):
    spec = make_spec(TICTACTOE, PLAYERS, max_ticks=max_ticks, seed=0)
    result = run_cli(tmp_path, spec, 3, datastore_dir)
    assert result.exit_code == 0, result.output
    summaries = HDF5Datastore(datastore_dir).trials()
    assert len(summaries) == 3
    for summary in summaries:
        assert summary.state is TrialState.ENDED and summary.ticks == max_ticks
        assert summary.recording_error is None
        trial = HDF5Datastore(datastore_dir).trial(summary.trial_id)
        assert len(list(trial.samples())) == max_ticks


@pytest.mark.parametrize("max_ticks", [1, 2, 3])
def test_turn_based_trials_cut_short_read_back_as_played(kept, max_ticks):
    datastore, played = kept(make_spec(TICTACTOE, PLAYERS, max_ticks=max_ticks, seed=0), 3)
    assert len(datastore.trials()) == 3
    for trial in played:
        stored = datastore.trial(trial.trial_id)
        assert_same_samples(list(stored.samples()), trial.samples)
        # the player who never moved (max_ticks 1) has no rows, with its column's row shape
        rows = stored.arrays("player_2")
        observations = rows["observations"]["observation"]
        assert observations.shape == (max_ticks // 2, 3, 3, 2)
        assert rows["tick"].dtype == np.int64


def test_trial_gym_env_resets_over_a_turn_based_game_cut_short(datastore_dir):
    spec = make_spec(
        TICTACTOE,
        [{"name": "player_1", "implementation": "external"}, PLAYERS[1]],
        max_ticks=3,
        seed=0,
    )
    datastore = HDF5Datastore(datastore_dir)
    env = TrialGymEnv(spec, datastore=datastore)
    try:
        for episode in range(3):
            observation, _ = env.reset(seed=episode)
            done = False
            while not done:
                mask = observation["action_mask"]
                action = int(np.flatnonzero(mask)[0])
                observation, _, terminated, truncated, _ = env.step(action)
                done = terminated or truncated
        env.reset(seed=9)  # ends the third episode's trial, which was cut short
    finally:
        env.close()
    summaries = HDF5Datastore(datastore_dir).trials()
    assert len(summaries) >= 3
    assert all(s.recording_error is None for s in summaries)


MISFIT = "python:tests.datastore.actors:misfit"


@pytest.mark.parametrize("kind", ["shape", "none", "nan", "text"])
def test_an_observation_outside_its_space_fails_the_trial_naming_actor_tick_and_space(
    tmp_path, datastore_dir, kind
):
    spec = make_spec(MISFIT, config={"kind": kind, "at": 2}, seed=0)
    result = run_cli(tmp_path, spec, 2, datastore_dir)
    assert result.exit_code == 1, result.output
    assert "2 failed" in result.output
    summaries = HDF5Datastore(datastore_dir).trials()
    assert len(summaries) == 2
    for summary in summaries:
        assert summary.state is TrialState.FAILED
        for part in ("actor 'player'", "tick 2", "Box(0, 9, (3,), int64)"):
            assert part in summary.error and part in summary.recording_error, summary.error


def test_one_unrecordable_trial_fails_alone_and_the_others_of_its_commit_are_kept(datastore_dir):
    good = make_spec(MISFIT, config={"kind": "shape", "at": 99}, seed=0)
    bad = make_spec(MISFIT, config={"kind": "shape", "at": 2}, seed=0)
    datastore = HDF5Datastore(datastore_dir, commit_seconds=60)
    warned = pytest.warns(UnrecordedTrialWarning, match="indexed as failed.*tick 2")
    with warned, Orchestrator(datastore=datastore) as orchestrator:
        results = [orchestrator.run(spec) for spec in (good, bad, good)]
    assert [r.state for r in results] == [TrialState.ENDED] * 3  # found at the grouped commit
    stored = {s.trial_id: s for s in HDF5Datastore(datastore_dir).trials()}
    assert len(stored) == 3
    states = [stored[r.trial_id].state for r in results]
    assert states == [TrialState.ENDED, TrialState.FAILED, TrialState.ENDED]
    for result in (results[0], results[2]):
        trial = HDF5Datastore(datastore_dir).trial(result.trial_id)
        assert len(list(trial.samples())) == 5


def test_a_trial_that_cannot_be_recorded_returns_a_failed_result(datastore_dir):
    spec = make_spec(MISFIT, config={"kind": "none", "at": 0}, seed=0)
    with Orchestrator(datastore=HDF5Datastore(datastore_dir)) as orchestrator:
        result = orchestrator.run(spec)
    assert result.state is TrialState.FAILED
    assert "actor 'player'" in result.error and "tick 0" in result.error


TURNS = "pettingzoo:tests.datastore.actors:turns"
TWO = [
    {"name": "player", "implementation": "random"},
    {"name": "other", "implementation": "random"},
]
CRITIC = {
    "name": "critic",
    "implementation": "python:tests.datastore.actors:Critic",
    "actor_class": "observer",
}


@pytest.mark.parametrize("frames", [False, True], ids=["ticks", "frames"])
@pytest.mark.parametrize(
    "space", ["box", "discrete", "multidiscrete", "multibinary", "text", "tuple", "dict"]
)
@pytest.mark.parametrize("max_ticks", [1, 2, 5])
def test_odd_shapes_of_trials_cut_short_read_back_as_played(kept, space, frames, max_ticks):
    spec = make_spec(
        TURNS,
        TWO,
        {"space": space, "render_mode": "rgb_array"} if frames else {"space": space},
        max_ticks=max_ticks,
        record_frames=frames,
        seed=3,
    )
    datastore, played = kept(spec, 2)
    for trial in played:
        summary = datastore.trials()[played.index(trial)]
        assert summary.state is TrialState.ENDED and summary.recording_error is None
        assert_same_samples(list(datastore.trial(trial.trial_id).samples()), trial.samples)
    if frames:
        assert datastore.trial(played[0].trial_id).frames().shape == (max_ticks, 4, 6, 3)


def test_a_trial_of_messages_and_notes_where_one_player_never_moved(kept):
    spec = make_spec(TURNS, [*TWO, CRITIC], {"space": "dict"}, max_ticks=1, seed=0)
    datastore, (trial,) = kept(spec)
    stored = datastore.trial(trial.trial_id)
    assert datastore.trials()[0].recording_error is None
    assert_same_samples(list(stored.samples()), trial.samples)
    assert stored.arrays("other")["tick"].shape == (0,)


def test_a_trial_terminated_before_its_first_tick_is_recorded(datastore_dir):
    spec = make_spec(TURNS, [{"name": "player", "implementation": "external"}, TWO[1]], seed=0)
    with Orchestrator(datastore=HDF5Datastore(datastore_dir)) as orchestrator:
        trial = orchestrator.start(spec)
        trial.terminate()
    (summary,) = HDF5Datastore(datastore_dir).trials()
    assert summary.state is TrialState.TERMINATED and summary.ticks == 0
    assert summary.recording_error is None
    assert list(HDF5Datastore(datastore_dir).trial(summary.trial_id).samples()) == []
