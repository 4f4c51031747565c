"""The server: loopback only unless told, and every page, asset and socket needs the token."""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from gymnasium import spaces
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from cogym.errors import RemoteBindError, WebError
from cogym.web import HumanChannel, WebServer

from .conftest import socket_url


@pytest.fixture(scope="module")
def server() -> Iterator[WebServer]:
    server = WebServer()
    yield server
    server.stop()


@pytest.fixture
def channel(server: WebServer) -> Iterator[HumanChannel]:
    channel = server.open_channel("player", spaces.Discrete(2))
    channel.set_hello({"type": "hello", "actor": "player", "feedback_to": []})
    yield channel
    channel.close()


def get(url: str) -> tuple[int, str, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), dict(error.headers)


def test_the_page_needs_its_token(channel: HumanChannel) -> None:
    base = f"{channel.server.base_url}/play/{channel.id}"
    status, body, headers = get(channel.url)
    assert status == 200
    assert f'content="{channel.token}"' in body
    assert "default-src 'none'" in headers["content-security-policy"]
    assert headers["referrer-policy"] == "no-referrer"
    assert "access-control-allow-origin" not in {k.lower() for k in headers}
    for url in (base, f"{base}?token=", f"{base}?token=wrong", f"{base}?token={channel.token}x"):
        status, body, _ = get(url)
        assert status == 403
        assert "needs the token" in body


def test_a_token_opens_only_its_own_page(server: WebServer, channel: HumanChannel) -> None:
    other = server.open_channel("walker", spaces.Discrete(5))
    try:
        status, _, _ = get(f"{server.base_url}/play/{other.id}?token={channel.token}")
        assert status == 403
        assert get(other.url)[0] == 200
    finally:
        other.close()


def test_assets_need_a_token(channel: HumanChannel) -> None:
    base = channel.server.base_url
    assert get(f"{base}/static/app.js")[0] == 403
    assert get(f"{base}/static/app.js?token=nope")[0] == 403
    status, body, headers = get(f"{base}/static/app.js?token={channel.token}")
    assert status == 200 and "new WebSocket" in body
    assert headers["content-type"].startswith("text/javascript")
    assert get(f"{base}/static/../server.py?token={channel.token}")[0] == 404
    assert get(f"{base}/static/index.html?token={channel.token}")[0] == 404


def test_the_socket_needs_the_token(channel: HumanChannel) -> None:
    url = socket_url(channel.url)
    for bad in (url.split("?")[0], url.replace(channel.token, "wrong"), url + "x"):
        with pytest.raises(InvalidStatus) as refused:
            connect(bad)
        assert refused.value.response.status_code == 403
    assert not channel.connected
    with connect(url) as socket_:
        assert json.loads(socket_.recv(timeout=5))["type"] == "hello"


def test_the_socket_refuses_pages_of_other_origins(channel: HumanChannel) -> None:
    url = socket_url(channel.url)
    with pytest.raises(InvalidStatus):
        connect(url, origin="http://evil.example")
    with connect(url, origin=channel.server.base_url) as socket_:
        assert json.loads(socket_.recv(timeout=5))["type"] == "hello"


def test_a_second_tab_replaces_the_first(channel: HumanChannel) -> None:
    url = socket_url(channel.url)
    with connect(url) as first:
        assert json.loads(first.recv(timeout=5))["type"] == "hello"
        with connect(url) as second:
            assert json.loads(second.recv(timeout=5))["type"] == "hello"
            assert json.loads(first.recv(timeout=5))["type"] == "replaced"


def test_serving_beyond_this_machine_needs_allow_remote() -> None:
    with pytest.raises(RemoteBindError, match="allow_remote=True"):
        WebServer("0.0.0.0")
    with pytest.raises(RemoteBindError):
        WebServer("example.org")


def test_a_busy_port_is_named(server: WebServer) -> None:
    with pytest.raises(WebError, match=rf"127.0.0.1:{server.port} .*choose another port"):
        WebServer(port=server.port)


def test_channels_of_one_actor_name_get_their_own_address(server: WebServer) -> None:
    first = server.open_channel("player", None)
    second = server.open_channel("player", None)
    try:
        assert first.url != second.url and first.token != second.token
        assert second.id == "player-2"
    finally:
        first.close()
        second.close()


def test_a_closed_channel_refuses_its_page(server: WebServer) -> None:
    channel = server.open_channel("gone", None)
    channel.close()
    assert get(channel.url)[0] == 403
    with socket.create_connection((server.host, server.port), timeout=5):
        pass  # the server itself still serves



def test_every_actor_must_allow_remote_pages_not_only_the_first() -> None:
    from cogym.web.server import shared_server

    first = shared_server("0.0.0.0", 0, allow_remote=True)  # a first actor serves remote pages
    try:
        assert shared_server("0.0.0.0", 0, allow_remote=True) is first
        with pytest.raises(RemoteBindError, match="refusing to serve .* on '0.0.0.0'"):
            shared_server("0.0.0.0", 0)
    finally:
        first.stop()


def test_a_slow_page_gets_the_newest_tick_not_a_backlog() -> None:
    import asyncio

    from cogym.web.server import PageConnection

    class Socket:
        def __init__(self) -> None:
            self.sent: list[object] = []

        async def send_text(self, text: str) -> None:
            self.sent.append(text)

        async def send_bytes(self, data: bytes) -> None:
            self.sent.append(data)

        async def close(self, code: int) -> None:
            self.sent.append(("close", code))

    async def scenario() -> list[object]:
        socket_ = Socket()
        connection = PageConnection(socket_, asyncio.get_running_loop())  # type: ignore[arg-type]
        for frame in (b"tick 1", b"tick 2", '{"type": "tick", "tick": 3}'):
            connection.offer_frame(frame)
        connection.offer_text('{"type": "error"}')
        connection.close()
        await asyncio.wait_for(connection.pump(), 5)
        return socket_.sent

    sent: list[object] = []
    # in a thread of its own: Playwright's sync API may be running a loop in this one
    worker = threading.Thread(target=lambda: sent.extend(asyncio.run(scenario())))
    worker.start()
    worker.join(10)
    assert sent == ['{"type": "error"}', '{"type": "tick", "tick": 3}', ("close", 1000)]
