"""Fixtures for the human actor: trials run in the background, a page stand-in, a real browser."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cogym import Orchestrator, TrialResult, TrialSpec
from cogym.datalog import MemoryDatalog
from cogym.web import wait_for_channel
from cogym.web.protocol import unpack_frame

CARTPOLE = {"implementation": "gym:CartPole-v1", "config": {"render_mode": "rgb_array"}}
PROBE = {
    "implementation": "gym:cogym/Probe-v0",
    "config": {"episode_length": 1000, "render_mode": "rgb_array"},
}
"""An env whose episodes do not end before max_ticks, whatever the actions."""
FAST = {"rate": 50, "start_delay": 0, "show_url": False}
"""A human actor's config for tests: 50 ticks/s, no countdown, no URL printed."""


class Background:
    """Trials of a spec played in a thread (as ``cogym play`` plays them in its main thread)."""

    def __init__(self, spec: TrialSpec, trials: int = 1, datastore: Any = None) -> None:
        self.datastore = datastore if datastore is not None else MemoryDatalog()
        self.orchestrator = Orchestrator(datastore=self.datastore)
        self.results: list[TrialResult] = []
        self.error: BaseException | None = None
        self.spec = spec

        def play() -> None:
            try:
                for i in range(trials):
                    self.results.append(self.orchestrator.run(spec, index=i))
            except BaseException as exc:  # noqa: BLE001  (re-raised by join(), in the test's thread)
                self.error = exc

        self.thread = threading.Thread(target=play, daemon=True)
        self.thread.start()

    def join(self, timeout: float = 30.0) -> list[TrialResult]:
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise AssertionError(f"the trials did not end within {timeout} s")
        if self.error is not None:
            raise self.error
        return self.results

    def close(self) -> None:
        for trial in self.orchestrator.running():
            trial.terminate("test over")
        self.thread.join(10)
        self.orchestrator.close()


@pytest.fixture
def background() -> Iterator[Callable[..., Background]]:
    """``background(spec, trials=1)`` starts trials in a thread; all are stopped at the end."""
    started: list[Background] = []

    def start(spec: TrialSpec, trials: int = 1, datastore: Any = None) -> Background:
        run = Background(spec, trials, datastore)
        started.append(run)
        return run

    yield start
    for run in started:
        run.close()


class PageClient:
    """What a page does, over a plain websocket: reads ticks and frames, sends messages."""

    def __init__(self, url: str) -> None:
        from websockets.sync.client import connect

        self.url = url
        self._stack = contextlib.ExitStack()
        self.socket = self._stack.enter_context(connect(socket_url(url), max_size=None))
        self.messages: list[dict[str, Any]] = []
        self.closed = False
        self._turns_taken = 0
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            for raw in self.socket:
                if isinstance(raw, bytes):
                    header, image = unpack_frame(raw)
                    message = dict(header, image=image)
                else:
                    message = json.loads(raw)
                with self._changed:
                    self.messages.append(message)
                    self._changed.notify_all()
        except ConnectionClosed:
            pass  # the server closed the page; `closed` says so
        with self._changed:
            self.closed = True
            self._changed.notify_all()

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10.0
    ) -> dict[str, Any]:
        """The first message (received so far or later) for which ``predicate`` holds."""
        end = time.monotonic() + timeout
        seen = 0
        with self._changed:
            while True:
                for message in self.messages[seen:]:
                    if predicate(message):
                        return message
                seen = len(self.messages)
                left = end - time.monotonic()
                if left <= 0 or self.closed:
                    kinds = [m.get("type") for m in self.messages[-10:]]
                    raise AssertionError(f"no such message within {timeout} s (last: {kinds})")
                self._changed.wait(left)

    def wait_tick(self, tick: int, timeout: float = 10.0) -> dict[str, Any]:
        return self.wait_for(lambda m: m.get("type") == "tick" and m["tick"] >= tick, timeout)

    def wait_turn(self, timeout: float = 10.0) -> dict[str, Any]:
        """The actor's next turn not yet waited for (observation, mask), from a tick message
        or a turn message."""
        wanted = self._turns_taken
        count = 0

        def next_turn(message: dict[str, Any]) -> bool:
            nonlocal count
            if not _turn(message):
                return False
            count += 1
            return count > wanted

        message = self.wait_for(next_turn, timeout)
        self._turns_taken += 1
        return dict(message.get("turn") or message, tick=message["tick"])

    @property
    def tick(self) -> int:
        ticks = [m["tick"] for m in self.messages if m.get("type") == "tick"]
        return max(ticks, default=0)

    def errors(self) -> list[str]:
        return [m["message"] for m in self.messages if m.get("type") == "error"]

    def send(self, message: dict[str, Any] | str) -> None:
        self.socket.send(message if isinstance(message, str) else json.dumps(message))

    def act(self, action: Any, *, held: bool = False, key: str | None = None) -> None:
        self.send({"type": "act", "action": action, "key": key, "held": held, "tick": self.tick})

    def release(self, key: str | None = None) -> None:
        self.send({"type": "release", "key": key})

    def feedback(self, to: str, value: float, confidence: float, tick: int | None = None) -> None:
        tick = self.tick if tick is None else tick
        self.send(
            {"type": "feedback", "to": to, "value": value, "confidence": confidence, "tick": tick}
        )

    def close(self) -> None:
        self._stack.close()
        self._reader.join(5)

    def wait_closed(self, timeout: float = 10.0) -> None:
        """Wait until the server has closed the socket (fails after ``timeout`` seconds)."""
        self._reader.join(timeout)
        if not self.closed:
            raise AssertionError(f"the server did not close the socket within {timeout} s")

    def drop(self) -> None:
        """Cut the connection without a closing handshake, as a lost network does."""
        import socket

        self.socket.socket.shutdown(socket.SHUT_RDWR)
        self.socket.socket.close()


def _turn(message: dict[str, Any]) -> bool:
    return message.get("type") == "turn" or (message.get("type") == "tick" and "turn" in message)


def socket_url(page_url: str) -> str:
    """The socket of a page: ``/play/<channel>`` -> ``/ws/<channel>``, ``/prefer/<page>`` ->
    ``/ws/prefer/<page>``."""
    url = page_url.replace("http://", "ws://", 1)
    if "/prefer/" in url:
        return url.replace("/prefer/", "/ws/prefer/", 1)
    return url.replace("/play/", "/ws/", 1)


@pytest.fixture
def page() -> Iterator[Callable[[str], PageClient]]:
    """``page(actor)``: connect a page stand-in to human actor ``actor`` once its page exists."""
    opened: list[PageClient] = []

    def open_page(actor: str, timeout: float = 10.0) -> PageClient:
        client = PageClient(wait_for_channel(actor, timeout).url)
        opened.append(client)
        return client

    yield open_page
    for client in opened:
        if not client.closed:
            client.close()


@pytest.fixture(autouse=True)
def _no_pages_left_open() -> Iterator[None]:
    """A test that leaves a human actor's page open fails; the page is closed for the next."""
    from cogym.web import channels

    yield
    left = [channel for channel in channels() if not channel.closed]
    for channel in left:
        channel.close()
    if left:
        pytest.fail(
            f"the test left {len(left)} human actor page(s) open: {left}; "
            "end its trials and close its orchestrator before it returns"
        )


# -- a real browser (the session's Chromium: the `chromium` fixture of tests/conftest.py) -------


@pytest.fixture
def browser_page(chromium: Any) -> Iterator[Callable[[str], Any]]:
    """``browser_page(actor)``: a Chromium tab on human actor ``actor``'s page."""
    contexts = []

    def open_tab(actor: str, timeout: float = 10.0) -> Any:
        url = wait_for_channel(actor, timeout).url
        context = chromium.new_context()
        contexts.append(context)
        tab = context.new_page()
        tab.goto(url)
        return tab

    yield open_tab
    for context in contexts:
        context.close()


# -- recorded trials with frames, for the preference page --------------------------------------


def record_with_frames(root: Any, trials: int = 3, ticks: int = 24, env: dict | None = None) -> Any:
    """A datastore at ``root`` holding ``trials`` trials of one random ``player`` that recorded a
    frame per tick (Probe's frames: a red bar as wide as the tick number, up to 32)."""
    from cogym import HDF5Datastore

    environment = env or {
        "implementation": "gym:cogym/Probe-v0",
        "config": {"episode_length": ticks, "render_mode": "rgb_array"},
    }
    spec = TrialSpec.from_dict(
        {
            "environment": environment,
            "actors": [{"name": "player", "implementation": "random"}],
            "max_ticks": ticks,
            "seed": 0,
            "record_frames": True,
        }
    )
    datastore = HDF5Datastore(root)
    with Orchestrator(datastore=datastore) as orchestrator:
        orchestrator.run_many(spec, trials)
    datastore.close()
    return HDF5Datastore(root)


def make_queries(datastore: Any, count: int, length: int = 6) -> list[Any]:
    """``count`` queries over the datastore's trials: query ``q<i>`` compares ticks starting at
    ``i`` of one trial with ticks starting at ``i + 1`` of the next."""
    from cogym.datastore.preferences import Query, Segment

    ids = [s.trial_id for s in datastore.trials()]
    out = []
    for i in range(count):
        left, right = ids[i % len(ids)], ids[(i + 1) % len(ids)]
        first = i % 10
        out.append(
            Query(
                f"q{i}",
                Segment(left, "player", first, first + length - 1),
                Segment(right, "player", first + 1, first + length),
            )
        )
    return out
