"""Finding trials: filters work from the index alone."""

from __future__ import annotations

import datetime
import time

import pytest

from cogym import Orchestrator
from cogym.datastore import HDF5Datastore, TrialFilter
from cogym.datastore.format.shard import HDF5Tree
from cogym.errors import InputError
from tests.conftest import CARTPOLE, PROBE, make_spec


@pytest.fixture
def mixed(datastore_dir):
    """Expert and random CartPole trials, a failing Probe trial, tagged differently."""
    datastore = HDF5Datastore(datastore_dir)
    with Orchestrator(datastore=datastore) as orchestrator:
        orchestrator.run_many(
            make_spec(
                CARTPOLE,
                [{"name": "player", "implementation": "python:cogym.bots:CartPoleExpert"}],
                seed=0,
                max_ticks=100,
                tags={"who": "expert"},
            ),
            3,
        )
        orchestrator.run_many(make_spec(CARTPOLE, seed=10, tags={"who": "random", "run": 2}), 4)
        orchestrator.run(make_spec(PROBE, config={"fail_at": 2}, seed=0, tags={"who": "probe"}))
    return HDF5Datastore(datastore_dir)


def test_filters(mixed):
    every = mixed.trials()
    assert len(every) == 8
    assert len(mixed.trials(tags={"who": "expert"})) == 3
    assert len(mixed.trials(tags={"run": 2})) == 4
    assert len(mixed.trials(tags={"run": "2"})) == 4
    assert len(mixed.trials(environment="gym:Cart*")) == 7
    assert len(mixed.trials(implementation="python:cogym.bots:*")) == 3
    assert len(mixed.trials(implementation={"player": "random"})) == 5
    assert [s.state.value for s in mixed.trials(state="failed")] == ["failed"]
    assert len(mixed.trials(state=["ended", "failed"])) == 8
    assert all(
        s.returns["player"] == 100 for s in mixed.trials(returns=(100, None), actor="player")
    )
    assert len(mixed.trials(returns=(100, 100))) == 3
    assert len(mixed.trials(returns=(None, 99))) == 5
    assert len(mixed.trials(actor="nobody")) == 0
    ids = [s.trial_id for s in every[:2]]
    assert [s.trial_id for s in mixed.trials(ids=ids)] == ids
    assert mixed.trials(ids=[every[3].trial_id[:-1]])[0].trial_id == every[3].trial_id


def test_time_window(mixed):
    every = mixed.trials()
    middle = every[4].started
    assert [s.trial_id for s in mixed.trials(started_after=middle)] == [
        s.trial_id for s in every[4:]
    ]
    assert len(mixed.trials(started_before=middle)) == 5
    when = datetime.datetime.fromtimestamp(every[2].ended)
    assert mixed.trials(started_after=when) == mixed.trials(started_after=when.timestamp())
    assert mixed.trials(started_after=when.isoformat()) == mixed.trials(
        started_after=when.timestamp()
    )
    assert 0 < len(mixed.trials(started_after=when)) < 8
    assert mixed.trials(started_after=time.time() + 60) == []


def test_filter_objects_and_dicts_are_the_same(mixed):
    a = mixed.trials(TrialFilter(tags={"who": "random"}), state="ended")
    b = mixed.trials({"tags": {"who": "random"}, "state": "ended"})
    assert a == b and len(a) == 4


def test_listing_reads_the_index_and_no_tick_data(mixed, monkeypatch):
    read = []
    original = HDF5Tree.read

    def spy(self, path, selection=None):
        read.append(path)
        return original(self, path, selection)

    monkeypatch.setattr(HDF5Tree, "read", spy)
    fresh = HDF5Datastore(mixed.path)
    assert len(fresh.trials(tags={"who": "expert"}, returns=(50, None))) == 3
    # the index, and the segments tables (a row per trial, checked against the columns' sizes)
    assert {p for p in read if not p.endswith("/segments")} <= {"index", "trial_spec", "specs"}


def test_bad_criteria_are_named():
    with pytest.raises(InputError, match="unknown trial state 'done'"):
        TrialFilter(state="done")
    with pytest.raises(InputError, match="returns"):
        TrialFilter(returns=5)
    with pytest.raises(InputError, match="not a time"):
        TrialFilter(started_after="yesterday")


def test_unknown_criteria_are_named(mixed):
    with pytest.raises(InputError, match="colour"):
        mixed.trials(colour="blue")
