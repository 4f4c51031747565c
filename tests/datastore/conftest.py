"""Fixtures of the datastore tests: recording a few trials into a fresh datastore."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cogym import Orchestrator, TrialResult, TrialSpec
from cogym.datastore import HDF5Datastore


@pytest.fixture
def record(datastore_dir: Path) -> Callable[..., tuple[HDF5Datastore, list[TrialResult]]]:
    """``record(spec, trials=3, **datastore_options)`` runs trials into ``datastore_dir``."""

    def run(
        spec: TrialSpec, trials: int = 3, **options: Any
    ) -> tuple[HDF5Datastore, list[TrialResult]]:
        datastore = HDF5Datastore(datastore_dir, **options)
        with Orchestrator(datastore=datastore) as orchestrator:
            results = orchestrator.run_many(spec, trials)
        return HDF5Datastore(datastore_dir), results

    return run


@pytest.fixture
def kept(datastore_dir: Path) -> Callable[..., tuple[HDF5Datastore, list[Any]]]:
    """``kept(spec, trials)`` records trials and keeps them in memory: ``(datastore, trials)``."""

    def run(spec: TrialSpec, trials: int = 1, **options: Any) -> tuple[HDF5Datastore, list[Any]]:
        datastore = HDF5Datastore(datastore_dir, **options)
        played = []
        with Orchestrator(datastore=datastore, keep_samples=True) as orchestrator:
            for index in range(trials):
                trial = orchestrator.start(spec, index=index)
                trial.run()
                played.append(trial)
        return HDF5Datastore(datastore_dir), played

    return run


def same(a: Any, b: Any) -> bool:
    """Exact equality of recorded values (arrays element-wise, NaN equal to NaN, dtypes too)."""
    from cogym.datastore.replay import same_value

    return same_value(a, b)


def assert_same_samples(recorded: list[Any], played: list[Any]) -> None:
    """The samples read back equal those the trial produced, field by field."""
    assert [s.tick for s in recorded] == [s.tick for s in played]
    for r, p in zip(recorded, played, strict=True):
        where = f"tick {p.tick}"
        assert r.observations.keys() == p.observations.keys(), where
        for name in p.observations:
            assert same(r.observations[name], p.observations[name]), (where, name)
        assert r.actions.keys() == p.actions.keys(), where
        for name in p.actions:
            assert same(r.actions[name], p.actions[name]), (where, name)
        assert r.terminated == p.terminated, where
        assert r.truncated == p.truncated, where
        assert r.rewards_sent == p.rewards_sent, where
        assert r.messages == p.messages, where
        assert (r.annotations or None) == (p.annotations or None), where
        assert {k: float(v) for k, v in r.env_rewards.items()} == {
            k: float(v) for k, v in (p.env_rewards or {}).items()
        }, where
