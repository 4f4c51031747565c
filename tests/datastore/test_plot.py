"""Plots of returns: the phases of a run named on the plot, the legend beside the data."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from cogym import Orchestrator
from cogym.cli import main
from cogym.datastore import HDF5Datastore
from cogym.datastore.plot import draw_returns, phases_of
from tests.conftest import make_spec

MPE = "pettingzoo:mpe2.simple_adversary_v3:parallel_env"


@pytest.fixture
def phased(datastore_dir):
    """Trials in three phases (tag ``role``) of a three-actor environment."""
    actors = [{"name": n} for n in ("adversary_0", "agent_0", "agent_1")]
    store = HDF5Datastore(datastore_dir)
    with Orchestrator(datastore=store) as orchestrator:
        for role, count in (("random", 4), ("expert", 6), ("clone", 3)):
            spec = make_spec(MPE, actors, seed=1, max_ticks=5, tags={"role": role})
            orchestrator.run_many(spec, count)
    return HDF5Datastore(datastore_dir)


def test_phases_are_the_runs_of_one_tag_value(phased) -> None:
    summaries = phased.trials()
    assert phases_of(summaries, "role") == [("random", 0, 3), ("expert", 4, 9), ("clone", 10, 12)]
    assert phases_of(summaries, "absent") == [("-", 0, 12)]


def test_the_plot_names_its_phases_and_keeps_the_legend_off_the_data(phased) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    draw_returns(phased.trials(), axes, phase_tag="role", window=2)
    assert [t.get_text() for t in axes.texts] == ["random", "expert", "clone"]
    renderer = figure.canvas.get_renderer()
    legend = axes.get_legend()
    names = [t.get_text() for t in legend.get_texts()]
    assert names[:2] == ["adversary_0", "adversary_0 (mean of 2)"] and len(names) == 6
    assert legend.get_window_extent(renderer).x0 >= axes.get_window_extent(renderer).x1


def test_trials_plot_takes_the_phase_tag(phased, tmp_path) -> None:
    out = tmp_path / "returns.png"
    args = ["trials", "plot", "--datastore", str(phased.path), "--phases", "role", "-o", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "plotted the returns of 13 trials" in result.output and out.stat().st_size > 1000


def test_the_png_draws_the_numbers_of_return_curves(phased) -> None:
    from matplotlib.figure import Figure

    from cogym.datastore.plot import return_curves

    summaries = phased.trials()
    curves = return_curves(summaries, window=3, split="tag:role")
    axes = Figure().add_subplot()
    draw_returns(summaries, axes, window=3, split="tag:role")
    drawn = {line.get_label(): line.get_xydata() for line in axes.get_lines()}
    for series in curves.series:
        dots = drawn[series.label]
        assert dots[:, 0].tolist() == series.positions.tolist()
        assert np.allclose(dots[:, 1], series.returns)
        if len(series.mean):
            mean = drawn[f"{series.label} (mean of 3)"]
            assert np.allclose(mean[:, 1], series.mean)
    expert = next(s for s in curves.series if s.label == "agent_0 · expert")
    returns = [s.returns["agent_0"] for s in summaries[4:10]]
    assert expert.positions.tolist() == list(range(4, 10))
    assert np.allclose(expert.mean, np.convolve(returns, np.ones(3) / 3, mode="valid"))
    assert {s.group for s in curves.series} == {"random", "expert", "clone"}


def test_trials_plot_refuses_an_unknown_split_naming_the_option(phased, tmp_path) -> None:
    out = tmp_path / "returns.png"
    args = ["trials", "plot", "--datastore", str(phased.path), "--split", "bogus", "-o", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "--split" in result.output and "tag:NAME" in result.output and not out.exists()
