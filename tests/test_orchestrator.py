"""Running many trials: determinism across workers, events, hooks, dead workers, lookups."""

from __future__ import annotations

import pytest

from cogym import Orchestrator, TrialState
from cogym.errors import SpecError
from cogym.orchestrator import TrialEvent
from tests.conftest import PROBE, RENDEZVOUS, make_spec


def _fingerprints(workers: int, trials: int = 8):
    spec = make_spec(
        PROBE,
        [{"name": "player", "implementation": "random"}],
        {"episode_length": 12, "reward": "fingerprint"},
        seed=123,
    )
    with Orchestrator() as orchestrator:
        results = orchestrator.run_many(spec, trials, workers=workers)
    return [(r.index, r.seed, r.ticks, r.returns["player"]) for r in results]


def test_same_spec_and_seed_give_the_same_trials_with_one_or_two_workers():
    one = _fingerprints(1)
    assert one == _fingerprints(1)
    assert one == _fingerprints(2)
    assert [seed for _, seed, _, _ in one] == [123 + i for i in range(8)]
    assert len({ret for *_, ret in one}) == 8


def test_multi_agent_trials_are_deterministic_too():
    spec = make_spec(
        RENDEZVOUS,
        [{"name": f"walker_{i}", "implementation": "random"} for i in range(3)],
        seed=7,
    )
    with Orchestrator() as orchestrator:
        a = orchestrator.run_many(spec, 4)
        b = orchestrator.run_many(spec, 4, workers=2)
    assert [(r.ticks, r.returns) for r in a] == [(r.ticks, r.returns) for r in b]


def test_events_come_from_callbacks_and_iterators():
    spec = make_spec(PROBE, config={"episode_length": 3}, seed=0)
    seen: list[TrialEvent] = []
    with Orchestrator() as orchestrator:
        orchestrator.subscribe(seen.append)
        stream = orchestrator.events()
        orchestrator.run_many(spec, 3)
        stream.close()
        streamed = list(stream)
    kinds = [e.kind for e in seen]
    assert kinds == ["started", "ended"] * 3
    assert [e.kind for e in streamed] == kinds
    assert seen[1].result is not None and seen[1].result.state is TrialState.ENDED


def test_events_from_worker_processes():
    spec = make_spec(
        PROBE,
        [
            {
                "name": "player",
                "implementation": "python:tests.helpers:CrashOnSeed",
                "config": {"seed": 1},
            }
        ],
        {"episode_length": 3},
        seed=0,
    )
    seen: list[TrialEvent] = []
    with Orchestrator() as orchestrator:
        orchestrator.subscribe(seen.append)
        orchestrator.run_many(spec, 4, workers=2)
    assert sorted(e.kind for e in seen) == sorted(["started"] * 4 + ["ended"] * 3 + ["failed"])
    assert {e.worker for e in seen} <= {0, 1}
    failed = next(e for e in seen if e.kind == "failed")
    assert failed.index == 1 and "crash on seed 1" in failed.error


def test_pre_trial_hooks_rewrite_each_spec():
    def vary(spec, index):
        return spec.replace(
            environment={"implementation": PROBE, "config": {"episode_length": 2 + index}}
        )

    with Orchestrator(hooks=[vary]) as orchestrator:
        results = orchestrator.run_many(make_spec(PROBE, seed=0), 3)
    assert [r.ticks for r in results] == [2, 3, 4]
    assert [r.spec.environment.config["episode_length"] for r in results] == [2, 3, 4]

    with (
        Orchestrator(hooks=[lambda spec, index: None]) as orchestrator,
        pytest.raises(TypeError, match="must return a TrialSpec"),
    ):
        orchestrator.run(make_spec(PROBE, seed=0))


def test_a_worker_that_dies_loses_only_its_trial():
    spec = make_spec(
        PROBE,
        [
            {
                "name": "player",
                "implementation": "python:tests.helpers:DieOnSeed",
                "config": {"seed": 22},
            }
        ],
        {"episode_length": 3},
        seed=20,
    )
    with Orchestrator() as orchestrator:
        results = orchestrator.run_many(spec, 6, workers=2)
    states = [r.state.value for r in results]
    assert states == ["ended", "ended", "failed", "ended", "ended", "ended"]
    assert "died" in results[2].error and "exit code 9" in results[2].error


def test_every_unknown_implementation_is_named_before_anything_runs():
    spec = make_spec(
        "gym:CartPol-v1",
        [{"name": "p", "implementation": "randm"}, {"name": "q", "implementation": "humn"}],
    )
    with Orchestrator() as orchestrator, pytest.raises(SpecError) as info:
        list(orchestrator.iter_run(spec, 2))
    paths = [p for p, _ in info.value.problems]
    assert paths == ["actors[0].implementation", "actors[1].implementation"]
    assert "Did you mean 'random'" in str(info.value)
    assert "Known:" in str(info.value)


def test_unknown_gym_ids_fail_the_trial_with_gymnasiums_suggestion():
    with Orchestrator() as orchestrator:
        result = orchestrator.run(make_spec("gym:CartPol-v1"))
    assert result.state is TrialState.FAILED
    assert "CartPole" in result.error


def test_environments_and_actors_are_built_once_per_process_and_reused():
    spec = make_spec(PROBE, config={"episode_length": 2}, seed=0)
    with Orchestrator() as orchestrator:
        first = orchestrator.start(spec)
        first.run()
        second = orchestrator.start(spec, index=1)
        assert second.cast is first.cast
        concurrent = orchestrator.start(spec, index=2)
        assert concurrent.cast is not second.cast
        second.run()
        concurrent.run()


def test_casts_of_a_superseded_pin_are_closed(monkeypatch):
    from cogym.directory import BuiltActor, Directory
    from cogym.wrappers.gym_environment import make_gym_environment

    closed = []

    class Versioned:
        def __init__(self, version):
            self.version = version

        def act(self, observation):
            return 0

        def close(self):
            closed.append(self.version)

    latest = {"v": 1}
    local = Directory()
    local.register_actor_scheme(
        "versioned",
        lambda rest, actor_class, config, registry: BuiltActor(
            Versioned(rest), f"versioned:{rest}"
        ),
        pin=lambda rest, registry: str(latest["v"]) if rest == "latest" else rest,
    )
    local.register_environment_scheme("gym", make_gym_environment)
    spec = make_spec(
        PROBE,
        [{"name": "player", "implementation": "versioned:latest"}],
        {"episode_length": 2},
        seed=0,
    )
    with Orchestrator(directory=local) as orchestrator:
        first = orchestrator.run(spec)
        latest["v"] = 2
        second = orchestrator.run(spec, index=1)
        assert closed == ["1"]
        assert [first.implementations["player"], second.implementations["player"]] == [
            "versioned:1",
            "versioned:2",
        ]
        running = orchestrator.start(spec, index=2)
        latest["v"] = 3
        orchestrator.run(spec, index=3)
        running.run()
        assert closed == ["1", "2"]
