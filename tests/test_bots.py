"""The scripted actors of cogym.bots play as well as their docs say."""

from __future__ import annotations

from cogym import Orchestrator, TrialSpec


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
