"""The runs data of the dashboard: the series of `cogym trials plot`; a cheap unchanged answer."""

from __future__ import annotations

import numpy as np
import pytest

from cogym import Orchestrator
from cogym.datastore import HDF5Datastore
from cogym.datastore.plot import return_curves
from cogym.errors import InputError
from cogym.ui.api_runs import runs_json
from tests.conftest import CARTPOLE, make_spec


def _record(path, implementation: str, n: int, phase: str) -> None:
    actors = [{"name": "player", "implementation": implementation}]
    spec = make_spec(CARTPOLE, actors, seed=0, max_ticks=30, tags={"phase": phase})
    with Orchestrator(datastore=HDF5Datastore(path)) as orchestrator:
        orchestrator.run_many(spec, n)


@pytest.fixture
def store(datastore_dir):
    _record(datastore_dir, "random", 6, "random")
    _record(datastore_dir, "python:cogym.bots:CartPoleExpert", 4, "expert")
    return HDF5Datastore(datastore_dir)


def test_the_json_holds_the_numbers_of_the_png(store) -> None:
    summaries = store.trials()
    answer = runs_json(summaries, window=2, split="implementation", phase_tag="phase")
    curves = return_curves(summaries, window=2, split="implementation", phase_tag="phase")
    assert answer["count"] == 10 and answer["window"] == 2 and answer["changed"]
    assert [s["label"] for s in answer["series"]] == [s.label for s in curves.series]
    for sent, series in zip(answer["series"], curves.series, strict=True):
        assert sent["x"] == series.positions.tolist()
        assert np.allclose(sent["y"], series.returns) and np.allclose(sent["mean"], series.mean)
    expert = answer["series"][1]
    assert expert["label"] == "player · python:cogym.bots:CartPoleExpert"
    assert expert["y"] == [30.0] * 4 and expert["mean_x"] == [7, 8, 9]
    assert answer["phases"] == [["random", 0, 5], ["expert", 6, 9]]


def test_an_unchanged_datastore_answers_in_a_few_bytes_and_a_new_trial_changes_it(store) -> None:
    first = runs_json(store.trials())
    again = runs_json(store.trials(), known=first["stamp"])
    assert again == {"stamp": first["stamp"], "changed": False}
    _record(store.path, "random", 1, "random")
    later = runs_json(HDF5Datastore(store.path).trials(), known=first["stamp"])
    assert later["changed"] and later["count"] == 11 and later["stamp"] != first["stamp"]


def test_an_empty_selection_has_no_series_and_a_bad_split_is_named(store) -> None:
    assert runs_json(store.trials(tags={"phase": "none"}))["series"] == []
    with pytest.raises(InputError, match="split: 'role'.*tag:NAME"):
        runs_json(store.trials(), split="role")
