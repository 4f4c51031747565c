"""A person teaches DAgger in a real browser: the keys they press are the labels learnt."""

from __future__ import annotations

import importlib
import json
import threading
import time
from typing import Any

import pytest

from cogym.bots import CartPoleExpert
from cogym.datastore import HDF5Datastore
from cogym.learn import dagger

from .conftest import CARTPOLE

pytestmark = pytest.mark.filterwarnings("ignore:.*No render fps was declared")

dagger_module = importlib.import_module("cogym.learn.dagger")  # the name is the function's
KEYS = ["ArrowLeft", "ArrowRight"]
SHOWN = """() => ({
  trial: window.cogym.trial,
  tick: window.cogym.observed,
  asked: !document.getElementById("asked").hidden,
  labelling: !document.getElementById("labelling").hidden,
  observation: document.getElementById("observation").textContent,
  over: document.getElementById("state").textContent === "session over",
})"""
"""What the person sees of the page, read at once."""


def test_a_person_labels_two_dagger_rounds_through_the_pages_keys(
    browser_page, tmp_path, monkeypatch
) -> None:
    trained_on: list[list[int]] = []
    fit = dagger_module.fit_policy

    def fit_and_keep(rows: Any, **options: Any) -> Any:
        trained_on.append(rows.actions.tolist())
        return fit(rows, **options)

    monkeypatch.setattr(dagger_module, "fit_policy", fit_and_keep)
    spec = {
        "environment": CARTPOLE,
        "actors": [{"name": "player", "implementation": "random"}],
        "max_ticks": 10,
        "seed": 3,
    }
    outcome: dict[str, Any] = {}

    def teach() -> None:
        try:
            outcome["model"] = dagger(
                spec, "player", "human",
                teacher_config={"rate": 2, "start_delay": 0, "show_url": False},
                rounds=2, trials_per_round=1, query="uncertain", threshold=0.32,
                registry=tmp_path / "models", model="cp-human", datastore=tmp_path / "trials",
                epochs=5, min_updates=100,
            )
        except BaseException as exc:  # noqa: BLE001  (re-raised in the test's thread)
            outcome["error"] = exc

    thread = threading.Thread(target=teach, daemon=True)
    thread.start()
    tab = browser_page("player", timeout=60)
    # the person labels two asked ticks in three, from what the page shows, and lets the
    # others pass
    expert = CartPoleExpert()
    pressed: dict[tuple[str, int], int] = {}
    seen: set[tuple[str, int]] = set()
    asked_seen = 0
    labelling = False
    end = time.monotonic() + 120
    while thread.is_alive() and time.monotonic() < end:
        shown = tab.evaluate(SHOWN)
        labelling = labelling or shown["labelling"]
        where = (shown["trial"], shown["tick"])
        if shown["over"] or shown["tick"] < 0 or where in seen:
            time.sleep(0.01)
            continue
        seen.add(where)
        if not shown["asked"]:
            continue
        asked_seen += 1
        if asked_seen % 3 != 0:
            action = int(expert.act(json.loads(shown["observation"])))
            tab.keyboard.press(KEYS[action])
            pressed[where] = action
    thread.join(30)
    assert not thread.is_alive(), "DAgger did not end"
    if "error" in outcome:
        raise outcome["error"]
    model = outcome["model"]

    assert labelling  # the page said it was labelling
    store = HDF5Datastore(tmp_path / "trials")
    round_ids = [stats.trial_ids[0] for stats in model.cogym_rounds]
    notes = {
        (trial_id, s.tick): s.annotations["player"]
        for trial_id in round_ids
        for s in store.trial(trial_id).samples()
    }
    # every key pressed labelled the tick it was pressed on; every other tick is unlabelled
    labels = {where: n["label"] for where, n in notes.items() if "label" in n}
    assert labels == pressed
    # and those labels, round by round, are what each round's policy was trained on
    in_round = [[a for (t, _), a in sorted(pressed.items(), key=order) if t == i]
                for i in round_ids]
    assert trained_on == [in_round[0], in_round[0] + in_round[1]]
    # round 2 asked only where the learner was unsure, and the page showed exactly those ticks
    # as asked
    asked = {where for where, n in notes.items() if n["asked"]}
    shown_asked = {(a["trial"], a["tick"]) for a in tab.evaluate("window.cogym.stats.asked")}
    assert shown_asked == asked
    second = [n for (t, _), n in notes.items() if t == round_ids[1]]
    assert any(n["asked"] for n in second) and not all(n["asked"] for n in second)
    assert model.cogym_rounds[1].labels == len(in_round[1]) < model.cogym_rounds[1].queries


def order(item: tuple[tuple[str, int], int]) -> int:
    return item[0][1]
