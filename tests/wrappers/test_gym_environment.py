"""Gymnasium env -> trial environment: binding roles, observers, episodes."""

from __future__ import annotations

import subprocess
import sys

import gymnasium as gym
import pytest

from cogym import ActorSpec, Orchestrator
from cogym.environment import OBSERVER
from cogym.errors import BindingError, SpecError
from cogym.wrappers import GymEnvironment
from tests.conftest import CARTPOLE, make_spec


def test_the_first_actor_plays_and_others_may_watch():
    env = GymEnvironment(gym.make("CartPole-v1"))
    classes = env.bind([ActorSpec(name="pilot"), ActorSpec(name="coach", actor_class=OBSERVER)])
    assert classes["pilot"].action_space == env.action_space
    assert classes["coach"].action_space is None
    observations, infos = env.reset(seed=0)
    assert set(observations) == {"pilot", "coach"} and set(infos) == {"pilot"}
    assert env.single_actor() is None


def test_two_players_are_refused_with_advice():
    env = GymEnvironment(gym.make("CartPole-v1"))
    with pytest.raises(BindingError) as info:
        env.bind([ActorSpec(name="a"), ActorSpec(name="b")])
    assert "actor_class: observer" in str(info.value) and "actors[1]" in str(info.value)
    with pytest.raises(BindingError, match="unknown actor class 'driver'"):
        env.bind([ActorSpec(name="a"), ActorSpec(name="b", actor_class="driver")])


def test_binding_errors_fail_the_trial_at_start():
    spec = make_spec(CARTPOLE, [{"name": "a"}, {"name": "b"}], seed=0)
    with Orchestrator() as orchestrator:
        result = orchestrator.run(spec)
    assert result.state.value == "failed" and "one player" in result.error


def test_repr_shows_the_whole_stack():
    assert repr(GymEnvironment(gym.make("CartPole-v1"))) == (
        "GymEnvironment(<TimeLimit<OrderEnforcing<PassiveEnvChecker<CartPoleEnv<CartPole-v1>>>>>)"
    )
    with pytest.raises(TypeError, match="gymnasium.Env"):
        GymEnvironment(object())  # type: ignore[arg-type]


def test_an_id_of_an_unregistered_namespace_names_the_module_to_give():
    with pytest.raises(SpecError) as info:
        Orchestrator().validate(make_spec("gym:Nowhere/Thing-v0", seed=0))
    message = str(info.value)
    assert "The namespace 'Nowhere' is registered by a package as it is imported" in message
    assert "gym:<module>:Nowhere/Thing-v0" in message


def test_atari_ids_without_their_module_name_ale_py_in_cogym_run(tmp_path):
    # a fresh process, where nothing imported ale_py: Gymnasium's own advice was
    # 'Have you installed the proper package for ALE?', with ale-py installed
    spec = tmp_path / "pong.yaml"
    spec.write_text("environment: {implementation: 'gym:ALE/Pong-v5'}\nactors: [{name: p}]\n")
    command = [sys.executable, "-m", "cogym", "run", str(spec)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 2, done.stderr
    assert "gym:ale_py:ALE/Pong-v5" in done.stderr
