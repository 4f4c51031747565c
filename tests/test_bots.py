"""The scripted actors of cogym.bots play as well as their docs say."""

from __future__ import annotations

import pytest

from cogym import Orchestrator, TrialSpec
from cogym.errors import SpecError


def test_the_lunar_lander_heuristic_lands():
    spec = TrialSpec.from_dict(
        {
            "environment": {"implementation": "gym:LunarLander-v3"},
            "actors": [
                {"name": "pilot", "implementation": "python:cogym.bots:LunarLanderHeuristic"}
            ],
            "seed": 0,
        }
    )
    with Orchestrator() as orchestrator:
        results = orchestrator.run_many(spec, 5)
    assert all(r.state.value == "ended" for r in results), results[0].error
    assert sum(r.returns["pilot"] for r in results) / 5 > 200


def _lander(continuous: bool, actor_config: dict | None = None) -> TrialSpec:
    return TrialSpec.from_dict(
        {
            "environment": {"implementation": "gym:LunarLander-v3",
                            "config": {"continuous": continuous}},
            "actors": [{"name": "pilot", "implementation": "python:cogym.bots:LunarLanderHeuristic",
                        "config": actor_config or {}}],
            "max_ticks": 300,
            "seed": 0,
        }
    )  # fmt: skip


def test_the_lunar_lander_heuristic_flies_the_continuous_lander_told_only_by_the_env():
    with Orchestrator() as orchestrator:
        results = orchestrator.run_many(_lander(True), 2)
    assert [r.state.value for r in results] == ["ended", "ended"], results[0].error
    assert min(r.returns["pilot"] for r in results) > 100


def test_the_lunar_lander_heuristic_told_the_wrong_kind_of_lander_is_refused_naming_it():
    with Orchestrator() as orchestrator, pytest.raises(SpecError) as info:
        orchestrator.run_many(_lander(False, {"continuous": True}), 1)
    message = str(info.value)
    assert "continuous=True" in message and "Discrete(4)" in message
    assert "leave continuous out" in message


def test_the_tictactoe_bot_seated_in_another_game_is_refused_naming_the_game_it_plays():
    spec = TrialSpec.from_dict(
        {
            "environment": {"implementation": "pettingzoo:pettingzoo.classic.connect_four_v3:env"},
            "actors": [
                {"name": "player_0"},
                {"name": "player_1", "implementation": "python:cogym.bots:TicTacToePerfect"},
            ],
            "seed": 0,
        }
    )  # fmt: skip
    with Orchestrator() as orchestrator, pytest.raises(SpecError) as info:
        orchestrator.run_many(spec, 1)
    message = str(info.value)
    assert "not a game observed as (6, 7, 2)" in message
