"""Teacher labels go into notes as JSON and come back as the exact actions, for every SB3 space."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium import spaces

from cogym import Orchestrator
from cogym.datastore import HDF5Datastore
from cogym.learn.dagger import MIXED_ACTOR
from cogym.learn.rows import recorded_rows
from cogym.spaces import space_to_dict
from tests.conftest import PROBE, make_spec
from tests.test_spaces import SB3_ACTION_SPACES


@pytest.mark.parametrize("action_space", SB3_ACTION_SPACES, ids=str)
def test_labels_read_back_from_the_datastore_are_the_teachers_actions(tmp_path, action_space):
    # no learner yet: the teacher (random) acts, so its labels are the actions recorded
    spec = make_spec(
        PROBE,
        [{"name": "player", "implementation": MIXED_ACTOR, "config": {"teacher": "random"}}],
        {"action_space": space_to_dict(action_space), "episode_length": 15},
        seed=0,
    )
    with Orchestrator(datastore=HDF5Datastore(tmp_path / "trials")) as orchestrator:
        results = orchestrator.run_many(spec, 2)
    assert all(r.state.value == "ended" for r in results), results[0].error
    store = HDF5Datastore(tmp_path / "trials")
    recorded = store.arrays("player", ("observations", "actions"))
    labelled = recorded_rows(store, "player", None, labels="label")
    assert labelled.rows == recorded.rows == 30
    assert labelled.actions.dtype == recorded["actions"].dtype
    assert np.array_equal(labelled.actions, recorded["actions"])
    assert np.array_equal(labelled.observations, recorded["observations"])


def test_labels_of_a_dict_observation_keep_their_rows(tmp_path):
    observation_space = spaces.Dict({"a": spaces.Box(-1, 1, (2,)), "b": spaces.Discrete(3)})
    spec = make_spec(
        PROBE,
        [{"name": "player", "implementation": MIXED_ACTOR, "config": {"teacher": "random"}}],
        {"observation_space": space_to_dict(observation_space), "episode_length": 6},
        seed=0,
    )
    with Orchestrator(datastore=HDF5Datastore(tmp_path / "trials")) as orchestrator:
        orchestrator.run_many(spec, 2)
    store = HDF5Datastore(tmp_path / "trials")
    recorded = store.arrays("player", ("observations", "actions"))
    labelled = recorded_rows(store, "player", None, labels="label")
    assert set(labelled.observations) == {"a", "b"}
    assert np.array_equal(labelled.observations["a"], recorded["observations"]["a"])
    assert np.array_equal(labelled.actions, recorded["actions"])
