"""The preference page over its socket: clips sent, answers stored, bad answers refused."""

from __future__ import annotations

import io
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from websockets.exceptions import InvalidStatus

from cogym import HDF5Datastore
from cogym.errors import InputError, PageTimeoutError
from cogym.web.prefer import PersonJudge

from .conftest import PageClient, make_queries, record_with_frames, socket_url


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("prefer") / "trials"
    record_with_frames(root)
    return root


@pytest.fixture
def datastore(recorded: Path, tmp_path: Path) -> HDF5Datastore:
    """A copy of the recorded trials, so that each test's answers are its own."""
    import shutil

    shutil.copytree(recorded, tmp_path / "trials")
    return HDF5Datastore(tmp_path / "trials")


class Answering:
    """``judge.answer(queries, datastore)`` consumed in a thread, as ``cogym prefer`` does."""

    def __init__(self, judge: PersonJudge, queries: list[Any], datastore: Any) -> None:
        self.yielded: list[Any] = []
        self.error: BaseException | None = None

        def consume() -> None:
            try:
                for preference in judge.answer(queries, datastore):
                    self.yielded.append(preference)
            except BaseException as exc:  # noqa: BLE001  (checked by the test)
                self.error = exc

        self.thread = threading.Thread(target=consume, daemon=True)
        self.thread.start()

    def join(self, timeout: float = 20.0) -> list[Any]:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the judge did not finish"
        if self.error is not None:
            raise self.error
        return self.yielded


@pytest.fixture
def judge() -> Iterator[PersonJudge]:
    judge = PersonJudge(show_url=False, fps=20)
    yield judge
    judge.close()


@pytest.fixture
def connect() -> Iterator[Callable[[str], PageClient]]:
    clients: list[PageClient] = []

    def open_socket(url: str) -> PageClient:
        client = PageClient(url)
        clients.append(client)
        return client

    yield open_socket
    for client in clients:
        if not client.closed:
            client.close()


def query_shown(client: PageClient, query_id: str) -> dict[str, Any]:
    return client.wait_for(lambda m: m.get("type") == "query" and m["query_id"] == query_id)


def answer(client: PageClient, query_id: str, choice: str) -> dict[str, Any]:
    """Answer ``query_id`` once the page shows it (as a person does), and wait until it is saved."""
    query_shown(client, query_id)
    client.send({"type": "answer", "query_id": query_id, "answer": choice, "key": None})
    return client.wait_for(lambda m: m.get("type") == "saved" and m["query_id"] == query_id)


def bar_width(image: bytes) -> int:
    """How many columns of a Probe frame are red (the tick number, up to 32)."""
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(image)).convert("RGB"))
    return int((pixels[16, :, 0] > 128).sum())


def test_answers_are_stored_and_yielded_in_order(judge, datastore, connect) -> None:
    queries = make_queries(datastore, 4)
    answering = Answering(judge, queries, datastore)
    client = connect(judge.url)
    hello = client.wait_for(lambda m: m.get("type") == "hello")
    assert hello["judge"] == "person"
    assert hello["keys"]["left"] == ["ArrowLeft"] and hello["keys"]["unknown"] == [" "]
    choices = ["left", "right", "equal", "unknown"]
    for query, choice in zip(queries, choices, strict=True):
        shown = query_shown(client, query.query_id)
        assert shown["left"]["first"] == query.left.first
        saved = answer(client, query.query_id, choice)
        assert saved["answer"] == choice
    yielded = answering.join()
    assert [(p.query, p.answer, p.judge) for p in yielded] == [
        (q, c, "person") for q, c in zip(queries, choices, strict=True)
    ]
    stored = HDF5Datastore(datastore.path).preferences()
    assert [(p.query, p.answer) for p in stored] == [(p.query, p.answer) for p in yielded]
    assert client.wait_for(lambda m: m.get("type") == "waiting")["answered"] == 4


def test_the_clips_are_the_segments_recorded_frames(judge, datastore, connect) -> None:
    queries = make_queries(datastore, 1, length=5)
    answering = Answering(judge, queries, datastore)
    client = connect(judge.url)
    shown = query_shown(client, "q0")
    assert shown["left"]["frames"] == 5 and shown["right"]["frames"] == 5
    for side, segment in (("left", queries[0].left), ("right", queries[0].right)):
        clips = []
        for index in range(5):
            clips.append(
                client.wait_for(
                    lambda m, s=side, i=index: m.get("type") == "clip"
                    and m["side"] == s
                    and m["index"] == i
                )
            )
        # Probe's frame of tick t has a red bar t columns wide
        ticks = list(range(segment.first, segment.last + 1))
        assert [bar_width(c["image"]) for c in clips] == ticks
    answer(client, "q0", "left")
    answering.join()


def test_progress_counts_answered_of_asked(judge, datastore, connect) -> None:
    queries = make_queries(datastore, 3)
    answering = Answering(judge, queries, datastore)
    client = connect(judge.url)
    shown = query_shown(client, "q0")
    assert (shown["answered"], shown["asked"], shown["number"]) == (0, 3, 1)
    saved = answer(client, "q0", "right")
    assert (saved["answered"], saved["asked"]) == (1, 3)
    assert query_shown(client, "q1")["number"] == 2
    answer(client, "q1", "right")
    answer(client, "q2", "right")
    answering.join()


BAD_ANSWERS = [
    ("not json", "not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    (json.dumps({"type": "act", "query_id": "q0", "answer": "left"}), "unknown message type"),
    (json.dumps({"type": "answer", "query_id": "q0"}), "missing ['answer']"),
    (json.dumps({"type": "answer", "query_id": "q0", "answer": "left", "x": 1}), "unknown ['x']"),
    (json.dumps({"type": "answer", "query_id": "q0", "answer": "better"}), "must be one of"),
    (json.dumps({"type": "answer", "query_id": "q0", "answer": 1}), "must be one of"),
    (json.dumps({"type": "answer", "query_id": 0, "answer": "left"}), "'query_id' must be"),
    (json.dumps({"type": "answer", "query_id": ["q0"], "answer": "left"}), "'query_id' must"),
    (json.dumps({"type": "answer", "query_id": "q0", "answer": "left", "key": 5}), "'key'"),
    (json.dumps({"type": "answer", "query_id": "q7", "answer": "left"}), "unknown query id"),
    (
        json.dumps({"type": "answer", "query_id": "q0", "answer": "left", "key": "x" * 9000}),
        "limit is 4096 bytes",
    ),
]


def test_malformed_answers_are_refused_and_nothing_is_stored(judge, datastore, connect) -> None:
    queries = make_queries(datastore, 2)
    answering = Answering(judge, queries, datastore)
    client = connect(judge.url)
    query_shown(client, "q0")
    seen: list[dict[str, Any]] = []
    for raw, expected in BAD_ANSWERS:
        client.send(raw)
        refusal = client.wait_for(
            lambda m: m.get("type") == "error" and all(m is not e for e in seen), timeout=10
        )
        seen.append(refusal)
        assert expected in refusal["message"], (raw[:80], refusal["message"])
    client.socket.send(b"\x00binary")
    client.wait_for(lambda m: m.get("type") == "error" and "binary" in m["message"])
    assert HDF5Datastore(datastore.path).preferences() == []
    assert answering.yielded == []
    # the page still works: the query shown takes a good answer, then refuses a second one
    answer(client, "q0", "equal")
    query_shown(client, "q1")
    client.send(json.dumps({"type": "answer", "query_id": "q0", "answer": "left"}))
    refused = client.wait_for(
        lambda m: m.get("type") == "error" and "already answered" in m["message"]
    )
    assert "nothing stored" in refused["message"]
    answer(client, "q1", "left")
    assert [p.answer for p in answering.join()] == ["equal", "left"]
    assert [p.answer for p in HDF5Datastore(datastore.path).preferences()] == ["equal", "left"]


def test_a_message_beyond_the_socket_limit_closes_the_socket_and_stores_nothing(
    judge, datastore, connect
) -> None:
    answering = Answering(judge, make_queries(datastore, 1), datastore)
    client = connect(judge.url)
    query_shown(client, "q0")
    huge = {"type": "answer", "query_id": "q0", "answer": "left", "key": "x" * 200_000}
    client.send(json.dumps(huge))
    client.wait_closed()
    assert client.socket.close_code == 1009  # message too big
    assert not [m for m in client.messages if m.get("type") == "saved"]
    assert HDF5Datastore(datastore.path).preferences() == []
    again = connect(judge.url)
    answer(again, "q0", "right")
    assert [p.answer for p in answering.join()] == ["right"]


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_the_page_its_assets_and_its_socket_need_the_token(judge) -> None:
    url = judge.url
    base, _, token = url.partition("?token=")
    server = base.rsplit("/prefer/", 1)[0]
    assert get(url) == 200
    for bad in (base, f"{base}?token=", f"{base}?token=wrong", f"{url}x"):
        assert get(bad) == 403
    for asset in ("prefer.js", "prefer.css"):
        assert get(f"{server}/static/{asset}?token={token}") == 200
        assert get(f"{server}/static/{asset}") == 403
        assert get(f"{server}/static/{asset}?token=nope") == 403
    from websockets.sync.client import connect

    socket = socket_url(base)
    for bad in (socket, f"{socket}?token=wrong"):
        with pytest.raises(InvalidStatus) as refused:
            connect(bad).close()
        assert refused.value.response.status_code == 403
    with connect(socket_url(url)) as ok:
        assert json.loads(ok.recv(timeout=5))["type"] == "hello"
    judge.close()
    assert get(url) == 403


def test_the_page_refuses_another_host_name(judge) -> None:
    request = urllib.request.Request(judge.url, headers={"Host": "evil.example"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    assert status == 421


def test_trials_without_frames_are_named(tmp_path: Path) -> None:
    from cogym import Orchestrator, TrialSpec

    spec = TrialSpec.from_dict(
        {
            "environment": {
                "implementation": "gym:cogym/Probe-v0",
                "config": {"episode_length": 9},
            },
            "actors": [{"name": "player"}],
            "seed": 0,
        }
    )
    datastore = HDF5Datastore(tmp_path / "plain")
    with Orchestrator(datastore=datastore) as orchestrator:
        orchestrator.run_many(spec, 2)
    datastore.close()
    queries = make_queries(HDF5Datastore(tmp_path / "plain"), 1, length=3)
    judge = PersonJudge(show_url=False)
    with pytest.raises(InputError, match="no recorded frames") as refused:
        list(judge.answer(queries, tmp_path / "plain"))
    assert queries[0].left.trial_id in str(refused.value)
    assert "record_frames: true" in str(refused.value)
    judge.close()


def test_a_named_judge_and_a_timeout(datastore, connect) -> None:
    with PersonJudge(name="ana", show_url=False, timeout=1.0) as judge:
        queries = make_queries(datastore, 2)
        answering = Answering(judge, queries, datastore)
        client = connect(judge.url)
        assert client.wait_for(lambda m: m.get("type") == "hello")["judge"] == "person:ana"
        answer(client, "q0", "left")
        answering.thread.join(10)
        assert isinstance(answering.error, PageTimeoutError)
        assert "1 of 2 answered and stored" in str(answering.error)
    stored = HDF5Datastore(datastore.path).preferences()
    assert [(p.query.query_id, p.judge) for p in stored] == [("q0", "person:ana")]


def test_one_page_serves_successive_rounds(judge, datastore, connect) -> None:
    first, second = make_queries(datastore, 4)[:2], make_queries(datastore, 4)[2:]
    url = judge.url
    answering = Answering(judge, first, datastore)
    client = connect(url)
    answer(client, "q0", "left")
    answer(client, "q1", "left")
    answering.join()
    client.wait_for(lambda m: m.get("type") == "waiting")
    assert judge.url == url
    answering = Answering(judge, second, datastore)
    shown = query_shown(client, "q2")
    assert (shown["answered"], shown["asked"]) == (2, 4)
    answer(client, "q2", "right")
    answer(client, "q3", "right")
    assert [p.query.query_id for p in answering.join()] == ["q2", "q3"]
    with pytest.raises(InputError, match="already asked"):
        list(judge.answer(first, datastore))


def test_rlhf_resolves_the_person_judge_to_the_page() -> None:
    from cogym.learn.judges import Judge, resolve_judge

    judge = resolve_judge("person", name="bo", show_url=False)
    try:
        assert isinstance(judge, PersonJudge) and isinstance(judge, Judge)
        assert judge.judge == "person:bo"
        assert "/prefer/" in judge.url and "token=" in judge.url
    finally:
        judge.close()
    with pytest.raises(InputError, match="judge name"):
        PersonJudge(name="  ")


def test_a_query_whose_clips_cannot_be_shown_is_skipped(judge, datastore, connect) -> None:
    from dataclasses import replace

    good = make_queries(datastore, 2)
    beyond = replace(good[0], query_id="beyond", left=replace(good[0].left, first=90, last=95))
    answering = Answering(judge, [beyond, good[1]], datastore)
    client = connect(judge.url)
    skipped = client.wait_for(lambda m: m.get("type") == "error")
    assert "'beyond' cannot be shown and is skipped" in skipped["message"]
    assert "ticks 90 to 95" in skipped["message"]
    assert query_shown(client, "q1")["asked"] == 1
    answer(client, "q1", "left")
    assert [p.query.query_id for p in answering.join()] == ["q1"]
    assert [p.query.query_id for p in HDF5Datastore(datastore.path).preferences()] == ["q1"]
