"""Finding implementations by name: built-ins, registrations, entry points, helpful misses."""

from __future__ import annotations

import sys
import textwrap
from importlib import metadata

import pytest
from gymnasium import spaces

from cogym.actors import RandomActor
from cogym.directory import Directory, EnvironmentAdapter, directory
from cogym.environment import ActorClass
from cogym.errors import ArgumentError, ImplementationError, UnknownImplementationError
from cogym.wrappers import GymEnvironment, PettingZooEnvironment

CLASS = ActorClass("player", spaces.Box(-1, 1, (2,)), spaces.Discrete(3))


def test_built_in_names():
    assert {"random", "external", "human", "python:...", "sb3:..."} <= set(directory.known_actors())
    assert {"gym:...", "pettingzoo:...", "python:..."} <= set(directory.known_environments())
    built = directory.make_actor("random", CLASS)
    assert isinstance(built.actor, RandomActor) and built.trusted
    assert isinstance(directory.make_environment("gym:CartPole-v1"), GymEnvironment)
    assert isinstance(
        directory.make_environment("pettingzoo:cogym.envs.nim_v0:env"), PettingZooEnvironment
    )


def test_unknown_names_list_the_known_ones_and_suggest():
    with pytest.raises(UnknownImplementationError) as info:
        directory.make_actor("randon", CLASS)
    message = str(info.value)
    assert "unknown actor implementation 'randon'" in message
    assert "Did you mean 'random'" in message and "Known:" in message and "external" in message
    with pytest.raises(UnknownImplementationError, match="CartPole"):
        directory.make_environment("gym:CartPol-v1")


def test_python_factories_get_config_and_optionally_the_actor_class():
    built = directory.make_actor("python:cogym.bots:CartPoleExpert", CLASS, {"gains": [1, 2, 3, 4]})
    assert list(built.actor.gains) == [1, 2, 3, 4] and not built.trusted
    with pytest.raises(ImplementationError, match="Its parameters are: gains"):
        directory.make_actor("python:cogym.bots:CartPoleExpert", CLASS, {"gainz": 1})
    with pytest.raises(ImplementationError, match="cannot import module 'no_such_module'"):
        directory.make_actor("python:no_such_module:x", CLASS)
    with pytest.raises(ImplementationError, match="Did you mean 'CartPoleExpert'"):
        directory.make_actor("python:cogym.bots:CartpoleExpert", CLASS)
    with pytest.raises(ImplementationError, match="cannot be called"):
        directory.make_actor("python:cogym.bots:np", CLASS)
    with pytest.raises(ImplementationError, match="no act"):
        directory.make_actor("python:builtins:dict", CLASS)


def test_python_environment_factories_may_return_gym_pettingzoo_or_cogym_envs():
    assert isinstance(
        directory.make_environment("python:cogym.envs.probe:ProbeEnv"), GymEnvironment
    )
    env = directory.make_environment("python:cogym.envs.rendezvous_v0:parallel_env", {"walkers": 2})
    assert isinstance(env, PettingZooEnvironment) and env.possible_agents == [
        "walker_0",
        "walker_1",
    ]
    with pytest.raises(ImplementationError, match="expected a Gymnasium env"):
        directory.make_environment("python:builtins:dict")


def test_registering_a_name():
    class AlwaysOne:
        def act(self, observation: object) -> int:
            return 1

    local = Directory()
    local.register_actor("always-one", AlwaysOne)
    assert local.make_actor("always-one", CLASS).actor.act(None) == 1
    with pytest.raises(ArgumentError, match="'bad:name' must be non-empty, without ':'"):
        local.register_actor("bad:name", lambda: None)
    with pytest.raises(ArgumentError, match="without ':' or spaces"):
        local.register_environment_scheme("my scheme", lambda rest, config: None)


class Maze:
    """An env of a kind cogym does not know."""

    def __init__(self, size: int = 3) -> None:
        self.size = size


def test_a_package_teaches_the_directory_a_new_kind_of_env_with_an_adapter():
    local = Directory()
    local.register_environment("maze", Maze)
    with pytest.raises(ImplementationError, match="built a Maze; expected .*a cogym Environment"):
        local.make_environment("maze")

    def adapt(made):
        if isinstance(made, Maze):
            from cogym.envs.probe import ProbeEnv

            return GymEnvironment(ProbeEnv(episode_length=made.size))
        return None

    local.register_environment_adapter("maze", EnvironmentAdapter("a Maze", adapt))
    environment = local.make_environment("maze", {"size": 4})
    assert isinstance(environment, GymEnvironment)
    assert environment.env.unwrapped.episode_length == 4
    with pytest.raises(ImplementationError, match="expected a Gymnasium env, a Maze, a PettingZoo"):
        local.as_environment(object(), "python:builtins:object")


def test_cogyms_own_schemes_are_found_as_another_packages_are():
    from cogym.plugins import ACTOR_SCHEME_GROUP, ENVIRONMENT_SCHEME_GROUP, entry_points

    found = entry_points([ACTOR_SCHEME_GROUP, ENVIRONMENT_SCHEME_GROUP])
    assert {"sb3"} <= set(found[ACTOR_SCHEME_GROUP])
    assert {"gym", "pettingzoo"} <= set(found[ENVIRONMENT_SCHEME_GROUP])
    local = Directory()  # nothing registered in code: the schemes come from the entry points
    assert local.has_environment("gym:CartPole-v1") and local.has_actor("sb3:model@latest")
    assert local.pins("sb3:model@latest") and not directory.pins("python:cogym.bots:CartPoleExpert")
    assert isinstance(local.make_environment("gym:CartPole-v1"), GymEnvironment)


def test_third_party_packages_add_names_through_entry_points(tmp_path, monkeypatch):
    package = tmp_path / "greedybots"
    package.mkdir()
    (package / "__init__.py").write_text(
        textwrap.dedent(
            """
            class Greedy:
                def __init__(self, choice=2):
                    self.choice = choice
                def act(self, observation):
                    return self.choice

            def grid():
                from cogym.envs.probe import ProbeEnv
                return ProbeEnv(episode_length=3)
            """
        )
    )
    info = tmp_path / "greedybots-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: greedybots\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[cogym.actors]\ngreedy = greedybots:Greedy\n\n"
        "[cogym.environments]\ngrid = greedybots:grid\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    metadata.distributions.cache_clear() if hasattr(metadata.distributions, "cache_clear") else None
    local = Directory()
    assert "greedy" in local.known_actors() and "grid" in local.known_environments()
    assert local.make_actor("greedy", CLASS, {"choice": 1}).actor.act(None) == 1
    assert isinstance(local.make_environment("grid"), GymEnvironment)
    sys.modules.pop("greedybots", None)
