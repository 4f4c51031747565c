"""The page in a real browser: headless Chromium plays, rewards, errs and leaves."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from cogym import TrialSpec, TrialState
from cogym.bots import CartPoleExpert
from cogym.datastore import HDF5Datastore

from .conftest import CARTPOLE, FAST, PROBE

pytestmark = pytest.mark.filterwarnings("ignore:.*No render fps was declared")


def spec_with(
    environment: dict[str, Any], player: dict[str, Any], *others: dict[str, Any], **fields: Any
) -> TrialSpec:
    actors = [{"name": "player", "implementation": "human", "config": {**FAST, **player}}, *others]
    return TrialSpec.from_dict({"environment": environment, "actors": actors, **fields})


def wait_until(tab: Any, expression: str, timeout: float = 10.0, alive: Any = None) -> Any:
    """Poll ``expression`` in the page until it is truthy; its value.

    (Playwright's wait_for_function evaluates strings in the page, which the page's
    Content-Security-Policy forbids, as it should.)
    """
    end = time.monotonic() + timeout
    while True:
        value = tab.evaluate(expression)
        if value or (alive is not None and not alive.is_alive()):
            return value
        if time.monotonic() > end:
            raise AssertionError(f"{expression} still false after {timeout} s")
        time.sleep(0.01)


def wait_ticks(tab: Any, ticks: int) -> int:
    """Wait until the page shows the observation of ``ticks`` ticks later; that tick."""
    target = max(tab.evaluate("window.cogym.observed"), 0) + ticks
    wait_until(tab, f"window.cogym.observed >= {target}")
    return tab.evaluate("window.cogym.observed")


def test_a_person_plays_cartpole_with_keys_and_rewards_it_from_a_second_tab(
    background, browser_page, datastore_dir
) -> None:
    watcher = {
        "name": "watcher",
        "implementation": "human",
        "actor_class": "observer",
        "config": {**FAST, "feedback_to": ["player"]},
    }
    player_config = {"rate": 20, "on_timeout": "wait"}
    spec = spec_with(CARTPOLE, player_config, watcher, max_ticks=25, seed=5)
    run = background(spec, datastore=HDF5Datastore(datastore_dir))
    player = browser_page("player")
    coach = browser_page("watcher")
    wait_ticks(player, 0)
    assert player.locator("#controls button").count() == 2  # left, right
    coach.evaluate(
        "() => { const c = document.getElementById('confidence'); c.value = '0.5';"
        " c.dispatchEvent(new Event('input')); }"
    )
    assert coach.inner_text("#confidence-value") == "0.50"
    coach.click("#good")
    # the person balances the pole from what the page shows, a key press a tick
    expert = CartPoleExpert()
    pressed = []
    while run.thread.is_alive():
        seen = player.evaluate("window.cogym.observed")
        observation = json.loads(player.inner_text("#observation"))
        pressed.append(expert.act(observation))
        player.keyboard.press(["ArrowLeft", "ArrowRight"][pressed[-1]])
        wait_until(player, f"window.cogym.observed > {seen}", alive=run.thread)
    [result] = run.join()
    sent_feedback = wait_until(coach, "window.cogym.stats.feedback[0]")
    wait_until(player, "window.cogym.stats.received === 1")

    assert result.state is TrialState.ENDED
    run.orchestrator.close()  # the datastore publishes what it recorded
    stored = HDF5Datastore(datastore_dir).trial(result.trial_id)
    samples = list(stored.samples())
    assert len(samples) == result.ticks
    notes = [s.annotations["player"] for s in samples]
    actions = [int(s.actions["player"]) for s in samples]
    presses = [a for a, n in zip(actions, notes, strict=True) if n["by"] == "human"]
    # what the keys sent, in order (the last press may have come as the trial ended)
    assert presses == pressed[: len(presses)] and len(presses) >= len(pressed) - 1
    assert player.evaluate("window.cogym.stats.sent.map(s => s.action)") == pressed
    assert {n["by"] for n in notes} == {"human"}  # on_timeout wait: the trial waited for each
    assert not any(n.get("held") for n in notes)  # and each tick for a press of its own
    feedback = [(r.sender, r.receiver, r.value, r.confidence, r.tick) for r in stored.rewards_sent]
    assert feedback == [("watcher", "player", 1.0, 0.5, sent_feedback["tick"])]
    # the page showed the frames, the tick, the return and the person's lag
    assert player.evaluate("window.cogym.stats.frame.length") >= 10
    lags = player.evaluate("window.cogym.stats.action")  # key press -> environment, per press
    assert len(lags) >= len(presses) // 2 and all(-5 < lag < 5000 for lag in lags)
    assert int(player.inner_text("#tick")) == result.ticks - 1
    assert float(player.inner_text("#return")) == result.ticks - 1  # as of the last tick shown


def test_the_page_shows_the_error_when_a_message_is_refused(background, browser_page) -> None:
    run = background(spec_with(PROBE, {"on_timeout": "noop"}, max_ticks=400))
    tab = browser_page("player")
    wait_ticks(tab, 1)
    tab.evaluate("window.cogym.send({type: 'act', action: 7, tick: 0})")
    tab.wait_for_selector("#error:not([hidden])", timeout=10_000)
    assert "action 7 is not in the action space Discrete(2)" in tab.inner_text("#error")
    tab.evaluate("window.cogym.send({type: 'act', action: 1, tick: 0, key: 'x'.repeat(5000)})")
    wait_until(tab, "window.cogym.stats.errors.length === 2")
    assert "limit is 4096 bytes" in tab.inner_text("#error")
    tab.close()
    run.close()
    record = run.datastore.trials[0]
    assert {int(s.actions["player"]) for s in record.samples} == {0}  # only the no-op got through


def test_closing_the_tab_ends_the_trial_and_keeps_its_ticks(background, browser_page) -> None:
    run = background(spec_with(PROBE, {"on_disconnect": "end"}, max_ticks=1000))
    tab = browser_page("player")
    wait_ticks(tab, 5)
    tab.close()
    [result] = run.join()
    assert result.state is TrialState.TERMINATED
    assert "'player' was closed or lost its connection" in result.error
    assert len(run.datastore.trials[0].samples) == result.ticks >= 5


def test_on_screen_buttons_act_like_keys(background, browser_page) -> None:
    run = background(spec_with(PROBE, {"on_timeout": "wait"}, max_ticks=3))
    tab = browser_page("player")
    wait_ticks(tab, 0)
    buttons = tab.locator("#buttons button")
    assert buttons.all_inner_texts() == ["0 ← 1", "1 → 2"]
    for index in (1, 0, 1):
        seen = tab.evaluate("window.cogym.observed")
        buttons.nth(index).click()
        wait_until(tab, f"window.cogym.observed > {seen}", alive=run.thread)
    run.join()
    samples = run.datastore.trials[0].samples
    assert [int(s.actions["player"]) for s in samples] == [1, 0, 1]
    assert all(s.annotations["player"]["by"] == "human" for s in samples)


@pytest.mark.parametrize("name", ["localhost", "[::1]"])
def test_a_page_opened_through_another_loopback_name_plays(background, chromium, name) -> None:
    from cogym.web import wait_for_channel

    run = background(spec_with(PROBE, {"on_timeout": "wait"}, max_ticks=3))
    url = wait_for_channel("player").url.replace("127.0.0.1", name, 1)
    context = chromium.new_context()
    try:
        tab = context.new_page()
        refused: list[str] = []
        tab.on("console", lambda message: refused.append(message.text))
        tab.goto(url)
        wait_until(tab, "document.getElementById('connection').textContent === 'connected'")
        buttons = tab.locator("#buttons button")
        for index in (1, 1, 0):
            seen = tab.evaluate("window.cogym.observed")
            buttons.nth(index).click()
            wait_until(tab, f"window.cogym.observed > {seen}", alive=run.thread)
        run.join()
        assert not [text for text in refused if "Content Security Policy" in text]
    finally:
        context.close()
    assert [int(s.actions["player"]) for s in run.datastore.trials[0].samples] == [1, 1, 0]
