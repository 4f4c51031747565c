"""Every Gymnasium space round-trips exactly, through the journal and through a shard."""

from __future__ import annotations

import tempfile
from typing import Any

import numpy as np
import pytest
from gymnasium import spaces
from hypothesis import given
from hypothesis import strategies as st

from cogym import Orchestrator
from cogym.datastore import HDF5Datastore
from cogym.datastore.format import spaces as leafs
from cogym.errors import UnrecordableSpaceError
from cogym.spaces import space_to_dict
from tests.conftest import PROBE, make_spec
from tests.datastore.conftest import assert_same_samples, same
from tests.strategies import any_space

texts = st.integers(1, 6).map(lambda n: spaces.Text(max_length=n, min_length=0, charset="abc xyz"))
recordable = st.recursive(
    st.one_of(any_space, texts),
    lambda children: st.one_of(
        st.dictionaries(
            st.text("ab/%c", min_size=1, max_size=3), children, min_size=1, max_size=2
        ).map(spaces.Dict),
        st.lists(children, min_size=1, max_size=2).map(spaces.Tuple),
    ),
    max_leaves=5,
)


def _check(observation_space: spaces.Space, action_space: spaces.Space) -> None:
    spec = make_spec(
        PROBE,
        config={
            "observation_space": space_to_dict(observation_space),
            "action_space": space_to_dict(action_space),
            "episode_length": 3,
        },
        seed=0,
    )
    with tempfile.TemporaryDirectory() as root:
        with Orchestrator(
            datastore=HDF5Datastore(root, commit_seconds=0), keep_samples=True
        ) as orchestrator:
            trial = orchestrator.start(spec)
            trial.run()
            assert trial.error is None, trial.error
            from_journal = HDF5Datastore(root).trial(trial.trial_id)
            assert from_journal.summary.recording_error is None, (
                from_journal.summary.recording_error
            )
            assert from_journal.summary.location.endswith(".journal")
            assert_same_samples(list(from_journal.samples()), trial.samples)
        from_shard = HDF5Datastore(root).trial(trial.trial_id)
        assert from_shard.summary.location.endswith(".h5")
        assert_same_samples(list(from_shard.samples()), trial.samples)
        assert from_shard.actor_classes["player"].observation_space == observation_space
        assert from_shard.actor_classes["player"].action_space == action_space
        assert same(from_shard.final_observations["player"], trial.final_observations["player"])
        # values come back with the dtype of their space
        observations = from_shard.arrays("player")["observations"]
        for leaf, column in zip(
            leafs.leaves(observation_space),
            _columns(observation_space, observations),
            strict=True,
        ):
            assert column.dtype == leaf.dtype


def _columns(space: spaces.Space, nested: Any) -> list[Any]:
    """The arrays of ``nested`` (as :meth:`StoredTrial.arrays` nests them: a Tuple as a dict
    with int keys), depth first."""
    if isinstance(space, spaces.Dict):
        return [c for key, sub in space.spaces.items() for c in _columns(sub, nested[key])]
    if isinstance(space, spaces.Tuple):
        return [c for i, sub in enumerate(space.spaces) for c in _columns(sub, nested[i])]
    return [nested]


@given(recordable, any_space)
def test_every_space_round_trips_exactly(observation_space, action_space):
    _check(observation_space, action_space)


@pytest.mark.parametrize(
    "space",
    [
        spaces.Box(0, 255, (64, 64, 3), np.uint8),
        spaces.Box(-np.inf, np.inf, (2, 2), np.float64),
        spaces.Box(0, 1, (3,), np.bool_),
        spaces.Box(0, 2**60, (2,), np.uint64),
        spaces.Dict(
            {"a/b": spaces.Discrete(3, start=-1), "%": spaces.Tuple([spaces.MultiBinary([2, 2])])}
        ),
    ],
    ids=["image", "infinite-floats", "bool", "uint64", "awkward-keys"],
)
def test_named_spaces_round_trip(space):
    _check(space, spaces.Discrete(2))


def test_spaces_without_a_fixed_shape_are_refused_by_name():
    with pytest.raises(UnrecordableSpaceError, match="Sequence"):
        leafs.check_recordable(spaces.Sequence(spaces.Discrete(2)), "actor 'x'")
