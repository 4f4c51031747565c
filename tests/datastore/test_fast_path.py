"""Which recorded trials take the fast path (plain one-actor columns), decided in one place."""

from __future__ import annotations

import pytest

from cogym import Orchestrator
from cogym.datastore import HDF5Datastore
from cogym.datastore.write import writer
from tests.conftest import CARTPOLE, RENDEZVOUS, make_spec
from tests.datastore.conftest import assert_same_samples

LATE_NOTE = {
    "name": "player",
    "implementation": "python:tests.datastore.actors:LateNote",
    "config": {"at": 3},
}


@pytest.fixture
def forms(monkeypatch):
    """The forms each commit of the writer chose: ``[(form type names, plain of the others)]``."""
    chosen = []
    decide = writer.plain_forms

    def spy(buffers, schemas):
        plain, others = decide(buffers, schemas)
        chosen.append(([type(f).__name__ for f, _ in plain], [b.plain for b in others]))
        return plain, others

    monkeypatch.setattr(writer, "plain_forms", spy)
    return chosen


def _record(datastore_dir, spec, trials, **options):
    with Orchestrator(datastore=HDF5Datastore(datastore_dir, **options)) as orchestrator:
        return orchestrator.run_many(spec, trials)


def test_a_plain_trial_is_journaled_alone_as_raw_columns(forms, datastore_dir):
    _record(datastore_dir, make_spec(CARTPOLE, seed=0), 2)
    assert forms == [(["SoloTrial"], []), (["SoloTrial"], [])]


def test_plain_trials_committed_together_are_stacked_into_one_group(forms, datastore_dir):
    results = _record(datastore_dir, make_spec(CARTPOLE, seed=0), 3, commit_seconds=3600)
    assert forms == [(["PlainTrials"], [])]
    assert len(HDF5Datastore(datastore_dir).trials()) == len(results) == 3


def test_a_trial_that_leaves_the_solo_path_is_laid_out_on_its_own(forms, datastore_dir):
    spec = make_spec(CARTPOLE, [LATE_NOTE], seed=0)
    with Orchestrator(datastore=HDF5Datastore(datastore_dir), keep_samples=True) as orchestrator:
        trial = orchestrator.start(spec)
        trial.run()
    assert forms == [([], [False])]
    stored = HDF5Datastore(datastore_dir).trial(trial.trial_id)
    assert_same_samples(list(stored.samples()), trial.samples)


def test_a_trial_of_several_actors_never_takes_the_fast_path(forms, datastore_dir):
    walkers = [{"name": f"walker_{i}", "implementation": "random"} for i in range(2)]
    (result,) = _record(datastore_dir, make_spec(RENDEZVOUS, walkers, {"walkers": 2}, seed=0), 1)
    assert result.state.value == "ended"
    assert forms == [([], [False])]
