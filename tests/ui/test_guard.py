"""The dashboard's guard: the token on every page, asset, JSON route and socket; its names."""

from __future__ import annotations

import html
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from cogym.errors import InputError

from .conftest import record
from .recorded import CARTPOLE

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ui-guard") / "trials"
    record(root, CARTPOLE, 2)
    return root


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, Any]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), response.headers
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers


def routes(recorded: Path) -> list[str]:
    from cogym import HDF5Datastore

    trial_id = HDF5Datastore(recorded).trials()[0].trial_id
    return [
        "/",
        "/trials",
        f"/trials/{trial_id}",
        "/api/trials",
        "/api/trials/version",
        f"/api/trials/{trial_id}",
        f"/api/trials/{trial_id}/frames/0",
        "/static/ui.js",
        "/static/uPlot.iife.min.js",
        "/static/uPlot.LICENSE.txt",
        "/no-such-route",
    ]


def test_every_route_answers_with_the_token_and_refuses_without_it(
    recorded: Path, ui_server: Any
) -> None:
    mounted = ui_server(recorded)
    for path in routes(recorded):
        bare = f"{mounted.base_url}/ui{path}"
        for url in (bare, f"{bare}?token=", f"{bare}?token=not-{mounted.token}"):
            status, body, _ = get(url)
            assert (status, body[:9]) == (403, b"refused: "), url
        status, _, headers = get(mounted.url(path))
        assert status == (404 if path == "/no-such-route" else 200), path
        assert "script-src 'self'" in headers["Content-Security-Policy"], path


def test_a_socket_without_the_token_is_refused(recorded: Path, ui_server: Any) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    mounted = ui_server(recorded)
    socket_url = f"{mounted.base_url.replace('http', 'ws', 1)}/ui/api/trials"
    for url in (socket_url, f"{socket_url}?token=wrong"):
        with pytest.raises(InvalidStatus) as refused:
            connect(url, open_timeout=10).close()
        assert refused.value.response.status_code == 403
    with pytest.raises(InvalidStatus) as foreign:
        connect(
            f"{socket_url}?token={mounted.token}", origin="http://evil.example", open_timeout=10
        )
    assert foreign.value.response.status_code == 403


def test_another_host_name_is_refused_even_with_the_token(recorded: Path, ui_server: Any) -> None:
    mounted = ui_server(recorded)
    status, body, _ = get(mounted.url("/trials"), headers={"Host": "evil.example"})
    assert status == 421 and b"is not this server" in body


def test_a_mount_prefix_must_be_a_free_plain_name() -> None:
    from cogym.web.server import WebServer

    server = WebServer()
    try:
        with pytest.raises(InputError, match="'/play' is taken"):
            server.mount("/play", object())
        with pytest.raises(InputError, match="write it as /name"):
            server.mount("ui/../x", object())
        server.mount("/board", object())
        with pytest.raises(InputError, match="'/board/two' is taken"):
            server.mount("/board/two", object())
    finally:
        server.stop()


def cogym(*args: str, **options: Any) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen(
        [sys.executable, "-m", "cogym", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **options,
    )


def test_cogym_ui_prints_one_token_url_and_stops_on_ctrl_c(recorded: Path) -> None:
    process = cogym("ui", "--datastore", str(recorded))
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and "/ui/?token=" in url
        status, body, _ = get(url)  # redirected to the trials table
        assert status == 200 and b'id="trials"' in body
        status, _, _ = get(url.split("?")[0] + "trials")
        assert status == 403
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert out == ""


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--datastore", "{missing}"], "no datastore at"),
        (["--datastore", "{recorded}", "--host", "0.0.0.0"], "--allow-remote"),
        (["--datastore", "{recorded}", "--port", "99999"], "--port"),
    ],
)
def test_cogym_ui_bad_input_exits_2_naming_it(
    recorded: Path, tmp_path: Path, args: list[str], named: str
) -> None:
    given = [a.format(missing=tmp_path / "none", recorded=recorded) for a in args]
    process = cogym("ui", *given)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2 and named in err, err


def test_the_trials_page_links_to_the_human_pages_open_in_its_process(recorded: Path) -> None:
    from gymnasium import spaces

    from cogym.ui import mount_dashboard
    from cogym.web import shared_server

    server = shared_server()
    channel = server.open_channel("<i>player", spaces.Discrete(2))
    mounted = mount_dashboard(server, recorded)
    try:
        status, body, _ = get(mounted.url("/trials"))
        assert status == 200
        assert f'href="{html.escape(channel.url)}">&lt;i&gt;player</a>' in body.decode()
    finally:
        server.unmount(mounted)
        channel.close()
    status, body, _ = get(mounted.url("/trials"))
    assert status == 404 and b"open-pages" not in body


def test_without_a_datastore_there_is_no_trials_view(ui_server: Any) -> None:
    mounted = ui_server(None)
    status, body, _ = get(mounted.url("/trials"))
    assert status == 404
    home = get(mounted.url("/"))
    assert b">Trials</a>" not in home[1]


def test_a_dashboard_with_nothing_to_show_says_what_to_give_it(
    ui_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cogym.ui import app

    monkeypatch.setattr(app, "VIEWS", app.VIEWS[:1])  # the trials view alone
    status, body, _ = get(ui_server(None).url("/"))
    assert status == 404 and b"give it a datastore (cogym ui --datastore DIR)" in body
