"""A trial that ends is recorded whole, or it is not reported as a clean ``ended``.

Turn-based games cut short leave an actor without a final observation, or without any row at
all; environments give values that do not fit their spaces. Each trial is either read back as
it was played, or its result, the index and ``cogym run``'s exit code say why it is not.
"""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from cogym import TrialState
from cogym.cli import main
from cogym.datastore import HDF5Datastore
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
