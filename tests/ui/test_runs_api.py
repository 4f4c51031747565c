"""The runs data of the dashboard: the series of `cogym trials plot`, thinned when long."""

from __future__ import annotations

import numpy as np
import pytest

from cogym import Orchestrator
from cogym.datastore import HDF5Datastore
from cogym.datastore.plot import return_curves
from cogym.errors import InputError
from cogym.ui.api_runs import runs_json, thin
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


def test_a_long_series_is_thinned_to_points_of_the_series_keeping_its_extremes() -> None:
    positions = np.arange(10_000)
    values = np.sin(positions / 300.0) + (positions == 4321) * 5.0
    x, y = thin(positions, values, 200, extremes=True)
    assert len(x) <= 200 and np.array_equal(y, values[x]) and np.all(np.diff(x) > 0)
    assert 4321 in x and y.max() == values.max() and y.min() == values.min()
    mx, my = thin(positions, values, 200, extremes=False)
    assert len(mx) <= 200 and mx[-1] == 9999 and np.array_equal(my, values[mx])
    assert thin(positions[:50], values[:50], 200, extremes=True)[0].tolist() == list(range(50))


def test_an_empty_selection_has_no_series_and_a_bad_split_is_named(store) -> None:
    assert runs_json(store.trials(tags={"phase": "none"}))["series"] == []
    with pytest.raises(InputError, match="split: 'role'.*tag:NAME"):
        runs_json(store.trials(), split="role")
