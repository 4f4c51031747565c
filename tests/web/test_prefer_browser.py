"""The preference page in a real Chromium: a person answers by key presses."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cogym import HDF5Datastore
from cogym.web.prefer import PersonJudge

from .conftest import make_queries, record_with_frames

KEYS = ["ArrowLeft", "ArrowRight", "ArrowDown", "=", "Space"]
ANSWER_OF = {"ArrowLeft": "left", "ArrowRight": "right", "ArrowDown": "equal", "=": "equal",
             "Space": "unknown"}  # fmt: skip


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("prefer-browser") / "trials"
    record_with_frames(root)
    return root


@pytest.fixture
def datastore(recorded: Path, tmp_path: Path) -> HDF5Datastore:
    shutil.copytree(recorded, tmp_path / "trials")
    return HDF5Datastore(tmp_path / "trials")


@pytest.fixture
def judge() -> Iterator[PersonJudge]:
    judge = PersonJudge(show_url=False, fps=20)
    yield judge
    judge.close()


@pytest.fixture
def tab(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    yield context.new_page()
    context.close()


def consume(
    judge: PersonJudge, queries: list[Any], datastore: Any
) -> tuple[threading.Thread, list[Any]]:
    yielded: list[Any] = []

    def run() -> None:
        yielded.extend(judge.answer(queries, datastore))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, yielded


def wait_shown(tab: Any, query_id: str) -> None:
    """Until the page shows ``query_id`` with both clips loaded (selectors, not
    wait_for_function: the page's CSP forbids evaluating strings)."""
    wait_body(tab, f"[data-state='ready'][data-query='{query_id}']")


def wait_body(tab: Any, attributes: str) -> None:
    tab.wait_for_selector(f"body{attributes}", state="attached", timeout=15_000)


def test_ten_answers_by_key_presses_are_the_ten_stored(judge, datastore, tab) -> None:
    queries = make_queries(datastore, 10)
    thread, yielded = consume(judge, queries, datastore)
    tab.goto(judge.url)
    pressed = [KEYS[i % len(KEYS)] for i in range(10)]
    for i, (query, key) in enumerate(zip(queries, pressed, strict=True)):
        wait_shown(tab, query.query_id)
        assert tab.locator("#progress-text").inner_text() == f"{i} / 10 answered"
        tab.keyboard.press(key)
        wait_body(tab, f"[data-answered='{i + 1}']")
    wait_body(tab, "[data-state='waiting']")
    assert "All 10 answered" in tab.locator("#overlay").inner_text()
    thread.join(15)
    assert not thread.is_alive()
    expected = [(q.query_id, ANSWER_OF[k]) for q, k in zip(queries, pressed, strict=True)]
    stored = HDF5Datastore(datastore.path).preferences()
    assert [(p.query.query_id, p.answer) for p in stored] == expected
    assert [p.query for p in stored] == queries
    assert {p.judge for p in stored} == {"person"}
    assert [(p.query.query_id, p.answer) for p in yielded] == expected


def test_buttons_show_their_keys_and_answer(judge, datastore, tab) -> None:
    queries = make_queries(datastore, 1)
    thread, _ = consume(judge, queries, datastore)
    tab.goto(judge.url)
    wait_shown(tab, "q0")
    labels = {
        b.get_attribute("data-answer"): b.inner_text()
        for b in tab.locator("#answers button").all()
    }
    assert "←" in labels["left"] and "→" in labels["right"]
    assert "↓" in labels["equal"] and "=" in labels["equal"] and "space" in labels["unknown"]
    tab.locator("button[data-answer='right']").click()
    wait_body(tab, "[data-answered='1']")
    thread.join(15)
    assert [p.answer for p in HDF5Datastore(datastore.path).preferences()] == ["right"]


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ({"type": "answer", "query_id": "q0", "answer": "much better"}, "must be one of"),
        ({"type": "answer", "query_id": "nope", "answer": "left"}, "unknown query id"),
        ({"type": "answer", "query_id": 3, "answer": "left"}, "'query_id' must be"),
        ({"type": "answer", "query_id": "q0", "answer": "left", "key": "k" * 5000}, "limit"),
    ],
)
def test_a_bad_answer_shows_an_error_on_the_page_and_stores_nothing(
    judge, datastore, tab, raw, shown
) -> None:
    thread, _ = consume(judge, make_queries(datastore, 1), datastore)
    tab.goto(judge.url)
    wait_shown(tab, "q0")
    tab.evaluate("text => window.cogymPrefer.send(text)", json.dumps(raw))
    error = tab.locator("#error")
    error.wait_for(state="visible", timeout=10_000)
    assert shown in error.inner_text()
    assert HDF5Datastore(datastore.path).preferences() == []
    assert tab.locator("#progress-text").inner_text() == "0 / 1 answered"
    tab.keyboard.press("ArrowLeft")  # the page still takes a good answer
    wait_body(tab, "[data-answered='1']")
    thread.join(15)
    assert [p.answer for p in HDF5Datastore(datastore.path).preferences()] == ["left"]


def test_the_page_says_when_the_session_is_over(judge, datastore, tab) -> None:
    thread, _ = consume(judge, make_queries(datastore, 1), datastore)
    tab.goto(judge.url)
    wait_shown(tab, "q0")
    tab.keyboard.press("Space")
    thread.join(15)
    judge.close()
    wait_body(tab, "[data-state='closed']")
    assert "Session over: 1 answered" in tab.locator("#overlay").inner_text()
