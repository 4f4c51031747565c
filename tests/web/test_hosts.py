"""The Host a request names: only this server's own names are served, and nothing of it is echoed.

Against DNS rebinding (a page of evil.example whose name now points at 127.0.0.1) and header
injection into the Content-Security-Policy; the page works from each name that reaches it.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from gymnasium import spaces
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

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


def request(
    server: WebServer, path: str, host: str | None, address: str = "127.0.0.1"
) -> tuple[int, str, dict[str, str]]:
    """GET ``path`` from the server with the Host header ``host`` (none if ``None``)."""
    connection = http.client.HTTPConnection(address, server.port, timeout=5)
    try:
        connection.putrequest("GET", path, skip_host=True)
        if host is not None:
            connection.putheader("Host", host)
        connection.endheaders()
        response = connection.getresponse()
        return (
            response.status,
            response.read().decode(),
            {k.lower(): v for k, v in response.getheaders()},
        )
    finally:
        connection.close()


def _path(channel: HumanChannel) -> str:
    return f"/play/{channel.id}?token={channel.token}"


def test_a_host_header_cannot_rewrite_the_content_security_policy(server, channel) -> None:
    status, _, headers = request(server, _path(channel), 'x"; script-src *; connect-src *')
    assert status == 421
    status, _, headers = request(server, _path(channel), f"127.0.0.1:{server.port}")
    assert status == 200
    policy = headers["content-security-policy"]
    assert "script-src 'self';" in policy and "*" not in policy
    assert f"ws://127.0.0.1:{server.port}" in policy


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:{port}",
        "127.0.0.1:1",
        "127.0.0.1",
        "localhost.evil.example:{port}",
    ],
)
def test_requests_naming_another_host_are_refused(server, channel, host) -> None:
    """What a DNS-rebound page sends: its own name, resolved to this machine."""
    host = host.format(port=server.port)
    for path in (_path(channel), f"/static/app.js?token={channel.token}", "/nothing-here"):
        status, body, headers = request(server, path, host)
        assert status == 421, (path, status)
        assert "Host" in body and f"127.0.0.1:{server.port}" in body
        assert (
            "content-security-policy" not in headers
            or host not in headers["content-security-policy"]
        )


def test_a_request_without_a_host_is_refused(server, channel) -> None:
    assert request(server, _path(channel), None)[0] == 400  # HTTP/1.1 needs one
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        raw.sendall(f"GET {_path(channel)} HTTP/1.0\r\n\r\n".encode())  # HTTP/1.0 does not
        response = b""
        while chunk := raw.recv(4096):
            response += chunk
    assert response.startswith(b"HTTP/1.1 400") and b"no Host header" in response


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "LOCALHOST", "[::1]"])
def test_the_page_is_served_through_each_loopback_name(server, channel, name) -> None:
    status, body, headers = request(server, _path(channel), f"{name}:{server.port}")
    assert status == 200 and f'content="{channel.token}"' in body
    policy = headers["content-security-policy"]
    assert "connect-src 'self' " in policy  # 'self' covers the page's own ws: origin
    for listed in ("127.0.0.1", "localhost"):  # for browsers before CSP level 3
        assert f"ws://{listed}:{server.port}" in policy


def test_the_socket_refuses_another_host(server, channel) -> None:
    handshake = (
        f"GET /ws/{channel.id}?token={channel.token} HTTP/1.1\r\n"
        "Host: evil.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        raw.sendall(handshake.encode())
        status_line = raw.recv(200).split(b"\r\n")[0]
    assert b" 101 " not in status_line and b" 4" in status_line
    assert not channel.connected


def test_the_socket_works_through_localhost(server, channel) -> None:
    url = socket_url(channel.url).replace("127.0.0.1", "localhost")
    with connect(url, origin=f"http://localhost:{server.port}") as page:
        assert json.loads(page.recv(timeout=5))["type"] == "hello"
    with pytest.raises(InvalidStatus) as refused:  # another origin than the page's
        connect(url, origin=f"http://127.0.0.1:{server.port}")
    assert refused.value.response.status_code == 403


def test_the_loopback_server_also_listens_on_ipv6_loopback(server, channel) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        probe = socket.create_connection(("::1", server.port), timeout=2)
    except OSError:
        pytest.skip("IPv6 loopback is not available here")
    probe.close()
    status, _, _ = request(server, _path(channel), f"[::1]:{server.port}", address="::1")
    assert status == 200


# -- serving beyond this machine ----------------------------------------------------------------


def test_a_remote_server_serves_its_own_names_and_warns(capfd) -> None:
    server = WebServer("0.0.0.0", allow_remote=True)
    try:
        warning = capfd.readouterr().err
        assert "0.0.0.0" in warning and "token" in warning and "TLS" in warning
        channel = server.open_channel("player", None)
        name = socket.gethostname()
        assert request(server, _path(channel), f"{name}:{server.port}")[0] == 200
        assert request(server, _path(channel), f"localhost:{server.port}")[0] == 200
        assert request(server, _path(channel), f"evil.example:{server.port}")[0] == 421
    finally:
        server.stop()


def test_a_loopback_server_does_not_warn(capfd) -> None:
    server = WebServer("127.0.0.1")
    server.stop()
    assert "TLS" not in capfd.readouterr().err


def test_cogym_play_with_allow_remote_prints_what_it_exposes(tmp_path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cogym",
            "play",
            "CartPole-v1",
            "--host",
            "0.0.0.0",
            "--allow-remote",
            "--no-record",
            "--trials",
            "1",
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break
            lines.append(line)
            if "open http://" in line:
                break
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    text = "".join(lines)
    assert "warning" in text.lower() and "token" in text and "TLS" in text, text
    assert text.lower().index("warning") < text.index("open http://")
