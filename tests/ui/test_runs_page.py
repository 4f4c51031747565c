"""The runs page in Chromium: the curves of a datastore; trials of another process as they end."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest
import yaml

from cogym.datastore import HDF5Datastore
from cogym.datastore.plot import return_curves
from tests.ui.conftest import record, screenshot
from tests.ui.lineages import shared_lineages

SPEC = {
    "environment": {"implementation": "gym:CartPole-v1"},
    "max_ticks": 40,
    "seed": 0,
}


def _spec(implementation: str, phase: str) -> dict:
    actors = [{"name": "player", "implementation": implementation}]
    return {**SPEC, "actors": actors, "tags": {"phase": phase}}


@pytest.fixture
def runs(tmp_path):
    root = tmp_path / "trials"
    record(root, _spec("random", "random"), 24)
    record(root, _spec("python:cogym.bots:CartPoleExpert", "expert"), 16)
    return root


def _shown(tab) -> dict:
    return tab.evaluate(
        """() => ({count: Number(document.getElementById('runs-count').textContent),
                   points: Number(document.getElementById('runs-chart').dataset.points),
                   series: Number(document.getElementById('runs-chart').dataset.series)})"""
    )


def _wait_for_count(tab, count: int, within: float = 15.0) -> None:
    """Wait until the page shows ``count`` trials (read from the page, as a person would)."""
    deadline = time.monotonic() + within
    while _shown(tab)["count"] != count:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"the page shows {_shown(tab)} after {within} s, not {count} trials"
            )
        tab.wait_for_timeout(50)


def test_the_page_draws_the_curves_of_trials_plot(runs, ui_server, ui_tab):
    dashboard = ui_server(runs)
    ui_tab.goto(dashboard.url("/runs") + "&split=implementation&phases=phase&window=4")
    _wait_for_count(ui_tab, 40)
    assert _shown(ui_tab) == {"count": 40, "points": 40, "series": 2}
    legend = ui_tab.locator(".u-legend .u-series .u-label").all_inner_texts()
    curves = return_curves(HDF5Datastore(runs).trials(), window=4, split="implementation")
    expected = [s.label for s in curves.series]
    assert legend[1:] == [n for label in expected for n in (label, f"{label} (mean of 4)")]
    assert ui_tab.locator("#runs-window").inner_text() == "4 trials"
    screenshot(ui_tab, "runs")


def test_a_filter_from_the_form_narrows_the_curves(runs, ui_server, ui_tab):
    dashboard = ui_server(runs)
    ui_tab.goto(dashboard.url("/runs"))
    _wait_for_count(ui_tab, 40)
    ui_tab.fill("input[name=tag]", "phase=expert")
    ui_tab.click("#runs-form button")
    _wait_for_count(ui_tab, 16)
    assert _shown(ui_tab) == {"count": 16, "points": 16, "series": 1}
    assert "tag=phase%3Dexpert" in ui_tab.url


def test_a_bad_split_is_shown_on_the_page_naming_it(runs, ui_server, chromium):
    dashboard = ui_server(runs)
    context = chromium.new_context()  # the refused request is logged: not ui_tab, which fails on it
    try:
        tab = context.new_page()
        tab.goto(dashboard.url("/runs") + "&split=role")
        error = tab.locator("#runs-error")
        error.wait_for()
        assert "400" in error.inner_text() and "split: 'role'" in error.inner_text()
    finally:
        context.close()


def test_a_trial_recorded_by_another_process_appears_within_two_seconds(
    runs, ui_server, ui_tab, tmp_path
):
    dashboard = ui_server(runs)
    ui_tab.goto(dashboard.url("/runs"))
    _wait_for_count(ui_tab, 40)
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(_spec("random", "later")))
    command = [sys.executable, "-m", "cogym", "run", str(spec), "--datastore", str(runs)]
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    _wait_for_count(ui_tab, 41, within=2.0)
    assert _shown(ui_tab)["points"] == 41


def test_a_curve_of_a_model_links_to_its_version(ui_server, ui_tab, tmp_path_factory):
    lineages = shared_lineages(tmp_path_factory)
    dashboard = ui_server(lineages.datastore, lineages.registry)
    ui_tab.goto(dashboard.url("/runs") + "&split=implementation")
    _wait_for_count(ui_tab, 7)
    rows = ui_tab.locator("#runs-series tbody tr")
    assert rows.locator("td:first-child").all_inner_texts() == [
        "player · random",
        "player · sb3:clone@1",
    ]
    assert rows.locator("td:nth-child(2)").all_inner_texts() == ["4", "3"]
    rows.locator("a.model-link").click()
    ui_tab.wait_for_url(re.compile(r"/ui/models/clone/1\?"))
    assert ui_tab.locator("section.version h2").inner_text().startswith("clone@1")
