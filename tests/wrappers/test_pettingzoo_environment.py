"""PettingZoo env -> trial environment: parallel and AEC, leaving agents, binding errors."""

from __future__ import annotations

import pytest

from cogym import Orchestrator, TrialState
from cogym.envs import nim_v0, rendezvous_v0
from cogym.errors import BindingError
from cogym.spec import ActorSpec
from cogym.wrappers import PettingZooEnvironment
from tests.conftest import NIM, RENDEZVOUS, make_spec


def test_parallel_agents_act_together_and_leave_when_home():
    spec = make_spec(
        RENDEZVOUS,
        [
            {"name": f"walker_{i}", "implementation": "python:cogym.bots:GreedyWalker"}
            for i in range(3)
        ],
        {"walkers": 3, "size": 9},
        seed=4,
    )
    with Orchestrator(keep_samples=True) as orchestrator:
        trial = orchestrator.start(spec)
        result = trial.run()
    assert result.state is TrialState.ENDED
    acting = [set(s.actions) for s in trial.samples]
    assert acting[0] == {"walker_0", "walker_1", "walker_2"}
    ended_at = {}
    for s in trial.samples:
        for name in s.terminated:
            ended_at[name] = s.tick
    assert set(ended_at) == {"walker_0", "walker_1", "walker_2"}
    assert len(set(ended_at.values())) > 1, (
        "walkers should arrive at different ticks in this episode"
    )
    for name, tick in ended_at.items():
        assert all(name not in s.actions for s in trial.samples if s.tick > tick)
        assert result.returns[name] == pytest.approx(1.0 - 0.01 * tick)
    assert set(trial.final_observations) == set(ended_at)


def test_aec_actors_act_one_per_tick_in_turn():
    spec = make_spec(
        NIM,
        [
            {"name": "player_0", "implementation": "random"},
            {"name": "player_1", "implementation": "python:cogym.bots:NimExpert"},
        ],
        {"stones": 10},
        seed=2,
    )
    with Orchestrator(keep_samples=True) as orchestrator:
        trial = orchestrator.start(spec)
        result = trial.run()
    turns = [list(s.actions) for s in trial.samples]
    assert all(len(t) == 1 for t in turns)
    assert [t[0] for t in turns] == [["player_0", "player_1"][i % 2] for i in range(len(turns))]
    assert result.returns == {"player_0": -1.0, "player_1": 1.0}
    last = trial.samples[-1]
    assert last.terminated == {"player_0": True, "player_1": True}


def test_every_agent_needs_an_actor_and_names_must_match():
    env = PettingZooEnvironment(rendezvous_v0.parallel_env(walkers=2))
    with pytest.raises(BindingError) as info:
        env.bind([ActorSpec(name="walker_O"), ActorSpec(name="walker_1")])
    message = str(info.value)
    assert "Did you mean 'walker_0'" in message and "walker_0 have no actor" in message


def test_observers_need_a_state():
    env = PettingZooEnvironment(nim_v0.env())
    with pytest.raises(BindingError, match="state_space"):
        env.bind(
            [
                ActorSpec(name="player_0"),
                ActorSpec(name="player_1"),
                ActorSpec(name="tv", actor_class="observer"),
            ]
        )


def test_repr():
    assert repr(PettingZooEnvironment(nim_v0.env())) == "PettingZooEnvironment(nim_v0, AEC)"
