"""The trials table and a trial's page in a real Chromium, over a datastore of two specs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cogym import HDF5Datastore

from .conftest import screenshot
from .recorded import CARTPOLE_TRIALS, HOSTILE, PROBE_TRIALS, record_two_specs

ALL = PROBE_TRIALS + CARTPOLE_TRIALS + 1
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ui") / "trials"
    record_two_specs(root)
    return root


def open_table(ui_tab: Any, url: str) -> Any:
    ui_tab.goto(url)
    ui_tab.wait_for_selector("#trials tbody tr")
    return ui_tab


def shown_total(tab: Any) -> str:
    return tab.text_content("#total")


def filter_by(tab: Any, **fields: str) -> None:
    before = tab.text_content("#range")
    for name, value in fields.items():
        tab.fill(f"#filters [name={name}]", value)
    tab.click("#filters button[type=submit]")
    tab.wait_for_function("(before) => document.querySelector('#range').textContent !== before",
                          arg=before)  # fmt: skip


def column(tab: Any, selector: str) -> list[str]:
    return tab.eval_on_selector_all(
        f"#trials tbody tr {selector}", "els => els.map(e => e.textContent)"
    )


def test_the_table_filters_sorts_and_pages_like_trials_ls(
    recorded: Path, ui_server: Any, ui_tab: Any
) -> None:
    mounted = ui_server(recorded)
    tab = open_table(ui_tab, mounted.url("/trials"))
    assert shown_total(tab) == f"{ALL} trial(s)"
    assert len(column(tab, "td:first-child")) == 50
    screenshot(tab, "trials")

    filter_by(tab, tag="experiment=probe")
    assert shown_total(tab) == f"{PROBE_TRIALS} trial(s)"
    assert set(column(tab, "td:nth-child(2) div.mono")) == {"gym:cogym/Probe-v0"}
    assert "tag=experiment%3Dprobe" in tab.url  # the filter is in the page's address

    tab.click("th[data-sort=id]")
    tab.wait_for_selector("th.sorted-desc[data-sort=id]")
    tab.click("th[data-sort=id]")
    tab.wait_for_selector("th.sorted-asc[data-sort=id]")
    tab.wait_for_function("() => document.querySelector('#range').textContent.startsWith('1–50')")
    ids = sorted(s.trial_id for s in HDF5Datastore(recorded).trials(tags={"experiment": "probe"}))
    tab.wait_for_function(
        "(first) => document.querySelector('#trials tbody tr').dataset.id === first", arg=ids[0]
    )
    assert column(tab, "td:first-child") == ids[:50]

    tab.click("#next")
    tab.wait_for_function("() => document.querySelector('#range').textContent.startsWith('51–100')")
    assert column(tab, "td:first-child") == ids[50:100]
    assert tab.text_content("#range") == f"51–100 of {PROBE_TRIALS}"


def test_a_bad_filter_is_named_on_the_page(recorded: Path, ui_server: Any, ui_tab: Any) -> None:
    tab = open_table(ui_tab, ui_server(recorded).url("/trials"))
    tab.fill("#filters [name=tag]", "experiment")
    tab.click("#filters button[type=submit]")
    tab.wait_for_selector("#error:not([hidden])")
    assert "tag 'experiment': write it as KEY=VALUE" in tab.text_content("#error")


def shown(tab: Any, name: str) -> Any:
    return json.loads(tab.text_content(f"#shown-{name}"))


def step(tab: Any, times: int) -> None:
    for _ in range(times):
        before = tab.text_content("#shown-tick")
        tab.click("#step")
        tab.wait_for_function(
            "(b) => document.querySelector('#shown-tick').textContent !== b", arg=before
        )


def test_a_trial_page_replays_its_recorded_frames_tick_by_tick(
    recorded: Path, ui_server: Any, ui_tab: Any
) -> None:
    datastore = HDF5Datastore(recorded)
    trial_id = datastore.trials(tags={"experiment": "probe"})[-4].trial_id  # on the first page
    tab = open_table(ui_tab, ui_server(recorded).url("/trials"))
    filter_by(tab, tag="experiment=probe")
    with tab.expect_navigation():
        tab.click(f"#trials tr[data-id='{trial_id}'] a")
    tab.wait_for_selector("body[data-loaded=yes]")
    assert tab.text_content("#frames-how") == "(recorded frames)"
    step(tab, 5)
    samples = list(datastore.trial(trial_id).samples())
    assert tab.text_content("#shown-tick") == "5"
    assert shown(tab, "action") == {"player": np.asarray(samples[5].actions["player"]).tolist()}
    assert shown(tab, "rewards") == pytest.approx(samples[5].rewards)
    # the canvas shows the frame of tick 5: Probe draws a red bar as wide as the tick number
    drawn = tab.eval_on_selector("#frame", "c => [c.width, c.height, window.cogymReplay.drawn]")
    assert drawn[0] > 0 and drawn[1] > 0 and drawn[2] >= 1
    sent = datastore.trial(trial_id).rewards_sent
    assert len(tab.query_selector_all("#rewards-sent tbody tr")) == len(sent) > 0
    assert len(tab.query_selector_all("#messages tbody tr")) == len(
        datastore.trial(trial_id).messages
    )
    assert len(tab.query_selector_all(".curve .uplot")) == 2
    screenshot(tab, "trial")


def test_a_trial_without_frames_is_re_rendered_and_shows_who_chose(
    recorded: Path, ui_server: Any, ui_tab: Any
) -> None:
    datastore = HDF5Datastore(recorded)
    stored = datastore.trial(datastore.trials(tags={"experiment": "cartpole"})[0].trial_id)
    assert stored.frames() is None
    ui_tab.goto(ui_server(recorded).url(f"/trials/{stored.trial_id}"))
    ui_tab.wait_for_selector("body[data-loaded=yes]")
    assert ui_tab.text_content("#frames-how") == "(re-rendered frames)"
    assert ui_tab.is_visible("#frame")
    step(ui_tab, 5)
    assert ui_tab.text_content("#shown-tick") == "5"
    assert shown(ui_tab, "action") == {"player": 1}
    assert shown(ui_tab, "notes") == {"player": {"by": "bot"}}
    rows = ui_tab.eval_on_selector_all(
        "#notes tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
    )
    by = [note["player"]["by"] for note in stored.annotations.values()]
    assert sorted(rows) == sorted(
        [name, "player", str(by.count(name))] for name in ("bot", "teacher")
    )
    screenshot(ui_tab, "trial-re-rendered")


def test_a_script_tag_from_the_datastore_is_shown_as_text(
    recorded: Path, ui_server: Any, ui_tab: Any
) -> None:
    mounted = ui_server(recorded)
    tab = open_table(ui_tab, mounted.url("/trials?tag=experiment%3Dhostile"))
    tab.wait_for_function("() => document.querySelector('#total').textContent === '1 trial(s)'")
    assert HOSTILE in tab.text_content("#trials tbody .tags")
    trial_id = tab.get_attribute("#trials tbody tr", "data-id")
    tab.goto(mounted.url(f"/trials/{trial_id}"))
    tab.wait_for_selector("body[data-loaded=yes]")
    assert HOSTILE in tab.text_content("#summary")
    assert tab.evaluate("() => document.body.dataset.hacked") is None
    assert tab.query_selector_all("script:not([src])") == []


def test_an_unknown_trial_is_a_404_page_naming_it(
    recorded: Path, ui_server: Any, ui_tab: Any
) -> None:
    response = ui_tab.goto(ui_server(recorded).url("/trials/<b>no-such-trial"))
    assert response.status == 404
    assert "There is no trial <b>no-such-trial in datastore" in ui_tab.text_content("main")
    assert ui_tab.query_selector("main b") is None
    screenshot(ui_tab, "not-found")


CHILD = """
import sys
from cogym import HDF5Datastore, Orchestrator, TrialSpec
spec = TrialSpec.from_dict({"environment": {"implementation": "gym:CartPole-v1"},
    "actors": [{"name": "player"}], "max_ticks": 3, "seed": 5, "tags": {"experiment": "live"}})
datastore = HDF5Datastore(sys.argv[1])
with Orchestrator(datastore=datastore) as orchestrator:
    print(orchestrator.run(spec).trial_id)
datastore.close()
"""


def test_a_trial_ended_by_another_process_appears_within_two_seconds(
    recorded: Path, ui_server: Any, ui_tab: Any, tmp_path: Path
) -> None:
    root = tmp_path / "trials"
    shutil.copytree(recorded, root)
    tab = open_table(ui_tab, ui_server(root).url("/trials"))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(root)], env=env, capture_output=True, text=True,
        timeout=60, check=True,
    )  # fmt: skip
    trial_id = child.stdout.strip().splitlines()[-1]
    tab.wait_for_selector(f"#trials tr[data-id='{trial_id}']", timeout=2000)
    assert shown_total(tab) == f"{ALL + 1} trial(s)"


def test_the_replay_keys_step_and_jump_to_the_ends(
    recorded: Path, ui_server: Any, ui_tab: Any
) -> None:
    datastore = HDF5Datastore(recorded)
    summary = datastore.trials(tags={"experiment": "probe"})[0]
    ui_tab.goto(ui_server(recorded).url(f"/trials/{summary.trial_id}"))
    ui_tab.wait_for_selector("body[data-loaded=yes]")
    ui_tab.keyboard.press("End")
    assert ui_tab.text_content("#shown-tick") == str(summary.ticks - 1)
    ui_tab.keyboard.press("ArrowLeft")
    ui_tab.keyboard.press("ArrowLeft")
    assert ui_tab.text_content("#shown-tick") == str(summary.ticks - 3)
    ui_tab.keyboard.press("Home")
    ui_tab.keyboard.press("ArrowRight")
    assert ui_tab.text_content("#shown-tick") == "1"
