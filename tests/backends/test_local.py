"""Local worker processes behind the pool protocol: what a pool refuses, a worker lost outside
any trial, and the orchestrator choosing backends by name."""

from __future__ import annotations

from typing import Any

import pytest

from cogym import Orchestrator
from cogym.backends import BACKENDS, check_backend, make_pool
from cogym.backends.local import LocalPool
from cogym.directory import Directory
from cogym.errors import ArgumentError, WorkerLostError
from tests.backends.runners import IdleActor, lander_for_workers, unbuildable
from tests.conftest import PROBE, make_spec


def _tasks(count: int):
    with Orchestrator() as orchestrator:
        return [orchestrator.prepare(make_spec(PROBE, seed=0), i) for i in range(count)]


def test_a_worker_that_fails_outside_any_trial_is_reported_with_its_traceback():
    pool = LocalPool(2, runner=unbuildable)
    events = []
    with pytest.raises(WorkerLostError) as info:
        list(pool.run(_tasks(3), events.append))
    message = str(info.value)
    assert "failed outside any trial" in message
    assert "OSError: no room left on the worker's disk" in message  # the worker's traceback
    assert events == []
    pool.close()  # the run closed it already: closing again is harmless


def test_pools_refuse_what_they_cannot_do_with_errors_that_are_value_errors():
    with pytest.raises(ArgumentError, match="keep_samples works in-process only"):
        LocalPool(2, runner=Orchestrator, keep_samples=True)
    with pytest.raises(ValueError, match="workers must be at least 1, got 0"):
        make_pool("local", 0, runner=Orchestrator)
    with pytest.raises(ArgumentError, match="retries must be 0 or more"):
        make_pool("ray", 2, runner=Orchestrator, retries=-1)


def test_backends_are_named_and_a_misspelt_one_is_suggested():
    assert BACKENDS == ("local", "ray")
    assert check_backend("ray") == "ray"
    with pytest.raises(ArgumentError, match="unknown backend 'rya'.*Did you mean 'ray'"):
        check_backend("rya")


def test_bad_run_arguments_are_cogym_errors_and_still_value_errors():
    spec = make_spec(PROBE, seed=0)
    with Orchestrator() as orchestrator:
        with pytest.raises(ArgumentError, match="trials must be at least 1, got 0"):
            list(orchestrator.iter_run(spec, 0))
        with pytest.raises(ValueError, match="workers must be at least 1, got 0"):
            list(orchestrator.iter_run(spec, 2, workers=0))
        with pytest.raises(ArgumentError, match="unknown backend 'spark'"):
            list(orchestrator.iter_run(spec, 2, backend="spark"))


def test_a_pool_runs_what_the_orchestrator_prepared_and_reports_each_trial():
    pool = make_pool("local", 2, runner=Orchestrator)
    events = []
    try:
        results = list(pool.run(_tasks(4), events.append))
    finally:
        pool.close()
    assert sorted(r.index for r in results) == [0, 1, 2, 3]
    assert all(r.state.value == "ended" for r in results)
    assert sorted(e.kind for e in events) == ["ended"] * 4 + ["started"] * 4
    assert {e.worker for e in events} == {0, 1}



def _own_directory(environment_factory: Any) -> Directory:
    directory = Directory()
    directory.register_environment("lander", environment_factory)
    directory.register_actor("idle", IdleActor)
    return directory


_LANDER = make_spec("lander", [{"name": "pilot", "implementation": "idle"}], max_ticks=5, seed=0)


def test_workers_build_trials_from_the_orchestrators_own_directory():
    with Orchestrator(directory=_own_directory(lander_for_workers)) as orchestrator:
        alone = orchestrator.run_many(_LANDER, 2)
        pooled = orchestrator.run_many(_LANDER, 2, workers=2)
    assert [r.state.value for r in pooled] == ["ended", "ended"], [r.error for r in pooled]
    assert [r.returns for r in pooled] == [r.returns for r in alone]


def test_a_directory_that_cannot_reach_worker_processes_is_refused_naming_the_fix():
    def lander(**config: Any) -> Any:  # defined in a function: pickle cannot name it
        return lander_for_workers(**config)

    directory = _own_directory(lander)
    expected = "with its directory of implementations, cannot be sent to worker processes"
    with Orchestrator(directory=directory) as orchestrator, pytest.raises(ArgumentError) as info:
        orchestrator.run_many(_LANDER, 2, workers=2)
    assert expected in str(info.value)
    assert "not lambdas" in str(info.value)
