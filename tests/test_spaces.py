"""Every Gymnasium space passes through trials and both adapters unchanged (property tests)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.utils.env_checker import data_equivalence
from hypothesis import given, settings
from hypothesis import strategies as st

from cogym import Orchestrator
from cogym.spaces import (
    membership_check,
    space_from_dict,
    space_from_json,
    space_to_dict,
    space_to_json,
    value_from_json,
    value_to_json,
)
from cogym.wrappers import TrialGymEnv, TrialParallelEnv
from tests.conftest import PROBE, make_spec
from tests.helpers import Recorder
from tests.strategies import any_space


def _probe_spec(observation_space, action_space, implementation="random", length=4):
    return make_spec(
        PROBE,
        [{"name": "player", "implementation": implementation}],
        {
            "observation_space": space_to_dict(observation_space),
            "action_space": space_to_dict(action_space),
            "episode_length": length,
        },
        seed=0,
    )


@given(any_space)
def test_json_form_round_trips(space):
    assert space_from_dict(space_to_dict(space)) == space
    assert space_from_json(space_to_json(space)) == space


@given(any_space, st.integers(0, 2**31))
def test_membership_check_agrees_with_contains(space, seed):
    space.seed(seed)
    check = membership_check(space)
    sample = space.sample()
    assert check(sample) and space.contains(sample)


def test_membership_check_refuses_what_contains_refuses():
    from gymnasium import spaces

    discrete = membership_check(spaces.Discrete(3, start=-1))
    assert discrete(-1) and discrete(np.int64(1)) and discrete(np.array(0))
    assert not discrete(2) and not discrete(0.0) and not discrete("1") and not discrete(True)
    box = membership_check(spaces.Box(0, 1, (2,), np.float32))
    assert box(np.array([0.5, 1.0], np.float32))
    assert not box(np.array([0.5, 1.5], np.float32))
    assert not box(np.array([0.5, 0.5], np.float64))
    assert not box(np.zeros(3, np.float32))


@settings(max_examples=25)
@given(any_space, any_space)
def test_spaces_pass_through_a_trial_unchanged(observation_space, action_space):
    Recorder.made.clear()
    with Orchestrator() as orchestrator:
        trial = orchestrator.start(
            _probe_spec(observation_space, action_space, "python:tests.helpers:Recorder")
        )
        actor_class = trial.actor_classes["player"]
        assert actor_class.observation_space == observation_space
        assert actor_class.action_space == action_space
        trial.run()
        env = trial.environment.env.unwrapped
    recorder = Recorder.made[-1]
    assert trial.result.state.value == "ended", trial.result.error
    assert len(recorder.seen) == 4
    for seen, emitted in zip(recorder.seen, env.emitted, strict=False):
        assert data_equivalence(seen, emitted, exact=True)
    for done, received in zip(recorder.done, env.received, strict=False):
        assert data_equivalence(done, received, exact=True)


@settings(max_examples=25)
@given(any_space, any_space, st.integers(0, 1000))
def test_spaces_pass_through_trial_gym_env_unchanged(observation_space, action_space, seed):
    env = TrialGymEnv(_probe_spec(observation_space, action_space, "external"))
    try:
        assert env.observation_space == observation_space and env.action_space == action_space
        observation, _ = env.reset(seed=seed)
        probe = env.trial.environment.env.unwrapped
        assert data_equivalence(observation, probe.emitted[0], exact=True)
        action_space.seed(seed)
        for t in range(4):
            action = action_space.sample()
            observation, _reward, terminated, truncated, _ = env.step(action)
            assert data_equivalence(probe.received[-1], action, exact=True)
            assert data_equivalence(observation, probe.emitted[t + 1], exact=True)
        assert terminated and not truncated
    finally:
        env.close()


@settings(max_examples=25)
@given(any_space, any_space, st.integers(0, 1000))
def test_spaces_pass_through_trial_parallel_env_unchanged(observation_space, action_space, seed):
    env = TrialParallelEnv(_probe_spec(observation_space, action_space, "external"))
    try:
        assert env.observation_space("player") == observation_space
        assert env.action_space("player") == action_space
        observations, _ = env.reset(seed=seed)
        probe = env.trial.environment.env.unwrapped
        assert data_equivalence(observations["player"], probe.emitted[0], exact=True)
        while env.agents:
            action = action_space.sample()
            observations, *_ = env.step({"player": action})
            assert data_equivalence(probe.received[-1], action, exact=True)
            assert data_equivalence(observations["player"], probe.emitted[-1], exact=True)
    finally:
        env.close()


SB3_ACTION_SPACES = [
    spaces.Discrete(5, start=-2),
    spaces.MultiDiscrete([3, 4], start=[1, -1]),
    spaces.MultiBinary([2, 3]),
    spaces.Box(-1, 1, (2, 3), np.float32),
    spaces.Box(-np.inf, np.inf, (2,), np.float64),
    spaces.Box(0, 255, (3,), np.uint8),
    spaces.Box(-2, 2, (), np.float16),
]


@pytest.mark.parametrize("space", SB3_ACTION_SPACES, ids=str)
def test_values_round_trip_through_strict_json(space):
    space.seed(0)
    for value in [space.sample() for _ in range(20)]:
        text = json.dumps(value_to_json(space, value), allow_nan=False)
        back = value_from_json(space, json.loads(text))
        assert space.contains(back)
        assert np.asarray(back).dtype == np.asarray(value).dtype
        assert np.array_equal(np.asarray(back), np.asarray(value))


def test_values_that_json_cannot_hold_round_trip_as_strings():
    space = spaces.Box(-np.inf, np.inf, (3,), np.float32)
    value = np.array([np.inf, -np.inf, np.nan], np.float32)
    text = json.dumps(value_to_json(space, value), allow_nan=False)
    back = value_from_json(space, json.loads(text))
    assert back.dtype == np.float32 and np.array_equal(back, value, equal_nan=True)
