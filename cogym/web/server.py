"""The web server of human actors: Starlette on uvicorn, in a thread beside the trials.

One server serves the pages of every human actor of a process that asks for the same host and
port; each actor has its own channel, URL and token::

    http://127.0.0.1:PORT/play/<channel>?token=<token>      the page
    http://127.0.0.1:PORT/static/<file>?token=<token>        its script and style
    ws://127.0.0.1:PORT/ws/<channel>?token=<token>           its socket
    http://127.0.0.1:PORT/prefer/<page>?token=<token>        a preference page (cogym.web.prefer)
    ws://127.0.0.1:PORT/ws/prefer/<page>?token=<token>       its socket

A request without the right token is refused (HTTP 403, or the socket closed with 1008). The
server listens on 127.0.0.1 (and ::1, so that ``localhost`` works whichever address a browser
tries) unless it is given another host *and* ``allow_remote=True``, and answers only to its own
names (:mod:`cogym.web.hosts`): a request naming another ``Host`` is refused with 421, one with
none with 400.
"""

from __future__ import annotations

import asyncio
import html
import json
import secrets
import socket
import sys
import threading
import time
from importlib import resources
from typing import Any

from gymnasium import spaces

from cogym.errors import (
    MissingExtraError,
    PageMessageError,
    RemoteBindError,
    ServeAddressError,
    WebError,
)
from cogym.web.channel import HumanChannel
from cogym.web.connection import PageConnection, ServedPage, serve_socket
from cogym.web.hosts import ServedNames, is_loopback, remote_warning
from cogym.web.mounts import REFUSED, MountedApp, Mounts
from cogym.web.protocol import MAX_MESSAGE_BYTES, parse_page_message

try:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.datastructures import Headers
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, PlainTextResponse, Response
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise MissingExtraError("the human actor's web server", "web", exc.name or "starlette") from exc

__all__ = [
    "PageConnection",
    "WebServer",
    "channels",
    "is_loopback",
    "shared_server",
    "wait_for_channel",
]

ASSETS = {
    "app.js": "text/javascript",
    "style.css": "text/css",
    "prefer.js": "text/javascript",
    "prefer.css": "text/css",
}
SOCKET_LIMIT = 64 * 1024
"""Messages above this size close the socket; those between the protocol limit and this one are
refused with an error shown on the page."""

_servers: dict[tuple[str, int], WebServer] = {}
_servers_lock = threading.Lock()
_channels_changed = threading.Condition()


class WebServer:
    """Serves human actors' pages on ``host``:``port`` (0: a free port) from a background thread.

    Most code never builds one: :class:`~cogym.web.HumanActor` uses :func:`shared_server`.

    >>> server = WebServer()                      # doctest: +SKIP
    >>> channel = server.open_channel("player", spaces.Discrete(2))  # doctest: +SKIP
    >>> channel.url                               # doctest: +SKIP
    'http://127.0.0.1:39211/play/player?token=...'
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        allow_remote: bool = False,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
    ) -> None:
        if not is_loopback(host) and not allow_remote:
            self._refuse(host)
        self.host = host
        self.allow_remote = allow_remote
        self.max_message_bytes = max_message_bytes
        self._channels: dict[str, HumanChannel] = {}
        self._pages: dict[str, ServedPage] = {}
        self._lock = threading.Lock()
        try:
            self._sockets = [_listen(host, port)]
        except OSError as exc:
            raise ServeAddressError(
                f"cannot serve cogym's pages on {host}:{port} ({exc.strerror or exc}); "
                "choose another port (--port, or the port of the actor's config), or port 0 "
                "for any free one"
            ) from None
        self.port = self._sockets[0].getsockname()[1]
        twin = _LOOPBACK_TWINS.get(host)
        if twin is not None:
            # localhost may resolve to either loopback address first: serve both
            try:
                self._sockets.append(_listen(twin, self.port))
            except OSError:
                pass  # no IPv6 (or the port is taken there): 127.0.0.1 still serves
        self.names = ServedNames(host, self.port, allow_remote=allow_remote)
        """The ``host:port`` names requests may give in their ``Host`` header."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._start()
        if not is_loopback(host):
            print(
                f"cogym: {remote_warning(self.base_url, host, self.port)}",
                file=sys.stderr,
                flush=True,
            )

    @staticmethod
    def _refuse(host: str) -> None:
        raise RemoteBindError(
            f"refusing to serve cogym's pages on {host!r}: anyone who can reach it and learns "
            "a page's URL could act in your trials or read them. Use 127.0.0.1, or pass "
            "allow_remote=True (config 'allow_remote: true', or --allow-remote) to mean it"
        )

    # -- addresses -----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host = self.host
        if host in ("0.0.0.0", "::"):
            host = socket.gethostname()
        elif ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def __repr__(self) -> str:
        return f"WebServer({self.base_url}, {len(self._channels)} page(s))"

    # -- channels ------------------------------------------------------------------------------

    def open_channel(self, actor: str, action_space: spaces.Space | None) -> HumanChannel:
        """A new page for ``actor``, at ``/play/<actor>`` (``<actor>-2``... if that is taken)."""
        with self._lock:
            channel_id = actor
            n = 1
            while channel_id in self._channels:
                n += 1
                channel_id = f"{actor}-{n}"
            channel = HumanChannel(self, channel_id, actor, action_space)
            self._channels[channel_id] = channel
        with _channels_changed:
            _channels_changed.notify_all()
        return channel

    def close_channel(self, channel: HumanChannel) -> None:
        with self._lock:
            if self._channels.get(channel.id) is channel:
                del self._channels[channel.id]

    def channels(self) -> list[HumanChannel]:
        with self._lock:
            return list(self._channels.values())

    def open_page(self, name: str, make: Any) -> Any:
        """Serve the page ``make(page_id)`` builds (a :class:`ServedPage`) at ``/prefer/<id>``,
        the id being ``name`` (``name-2``... if that is taken)."""
        with self._lock:
            page_id, n = name, 1
            while page_id in self._pages:
                n += 1
                page_id = f"{name}-{n}"
            page = make(page_id)
            self._pages[page_id] = page
        return page

    def close_page(self, page: ServedPage) -> None:
        with self._lock:
            if self._pages.get(page.id) is page:
                del self._pages[page.id]

    def _authorised_page(self, page_id: str, token: str | None) -> ServedPage | None:
        if not token:
            return None
        with self._lock:
            page = self._pages.get(page_id)
        if page is None or page.closed:
            secrets.compare_digest(token.encode(), b"-" * len(token.encode()))
            return None
        return page if secrets.compare_digest(token.encode(), page.token.encode()) else None

    def _authorised(self, channel_id: str, token: str | None) -> HumanChannel | None:
        if not token:
            return None
        with self._lock:
            channel = self._channels.get(channel_id)
        if channel is None or channel.closed:
            # compare anyway, so that timing says nothing about which channels exist
            secrets.compare_digest(token.encode(), b"-" * len(token.encode()))
            return None
        return channel if secrets.compare_digest(token.encode(), channel.token.encode()) else None

    def _any_token(self, token: str | None) -> bool:
        if not token:
            return False
        with self._lock:
            pages = [p for p in self._pages.values() if not p.closed]
        found = False
        for holder in [*self.channels(), *pages]:
            found |= secrets.compare_digest(token.encode(), holder.token.encode())
        return found

    # -- HTTP ----------------------------------------------------------------------------------

    def mount(self, prefix: str, app: Any) -> MountedApp:
        """Serve the ASGI ``app`` under ``prefix`` (e.g. ``/ui``) behind a token of its own
        (:mod:`cogym.web.mounts`); the app's routes see ``root_path`` set to the prefix."""
        return self._mounts.add(prefix, app, self.base_url, _RESERVED)

    def unmount(self, mounted: MountedApp) -> None:
        self._mounts.remove(mounted)

    def _app(self) -> _OwnNamesOnly:
        routes = Starlette(
            routes=[
                Route("/play/{channel}", self._page),
                Route("/static/{name}", self._asset),
                WebSocketRoute("/ws/{channel}", self._socket_endpoint),
                Route("/prefer/{page}", self._served_page),
                WebSocketRoute("/ws/prefer/{page}", self._served_socket),
            ]
        )
        self._mounts = Mounts(routes, self.names)
        return _OwnNamesOnly(self._mounts, self.names)

    async def _page(self, request: Request) -> Response:
        token = request.query_params.get("token")
        channel = self._authorised(request.path_params["channel"], token)
        if channel is None:
            return PlainTextResponse(REFUSED, status_code=403)
        page = _asset_text("index.html")
        for name, value in (
            ("__TOKEN__", channel.token),
            ("__CHANNEL__", channel.id),
            ("__ACTOR__", channel.actor),
        ):
            page = page.replace(name, html.escape(value, quote=True))
        return HTMLResponse(page, headers=self._headers(request))

    async def _served_page(self, request: Request) -> Response:
        page = self._authorised_page(request.path_params["page"], request.query_params.get("token"))
        if page is None:
            return PlainTextResponse(REFUSED, status_code=403)
        return HTMLResponse(page.html(), headers=self._headers(request))

    async def _asset(self, request: Request) -> Response:
        name = request.path_params["name"]
        if not self._any_token(request.query_params.get("token")):
            return PlainTextResponse(REFUSED, status_code=403)
        if name not in ASSETS:
            return PlainTextResponse("not found", status_code=404)
        return Response(_asset_text(name), media_type=ASSETS[name], headers=self._headers(request))

    def _headers(self, request: Request) -> dict[str, str]:
        return self.names.headers(request.headers.get("host"))

    # -- the sockets ---------------------------------------------------------------------------

    def _same_origin(self, websocket: WebSocket) -> bool:
        return self.names.same_origin(websocket.headers)

    async def _served_socket(self, websocket: WebSocket) -> None:
        page = self._authorised_page(
            websocket.path_params["page"], websocket.query_params.get("token")
        )
        if page is None or not self._same_origin(websocket):
            await websocket.close(code=1008)
            return
        await serve_socket(page, websocket)

    async def _socket_endpoint(self, websocket: WebSocket) -> None:
        channel = self._authorised(
            websocket.path_params["channel"], websocket.query_params.get("token")
        )
        if channel is None or not self._same_origin(websocket):
            await websocket.close(code=1008)
            return
        await serve_socket(_ChannelSocket(channel, self.max_message_bytes), websocket)

    # -- lifecycle -----------------------------------------------------------------------------

    def _start(self) -> None:
        config = uvicorn.Config(
            self._app(),
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws_max_size=SOCKET_LIMIT,
            ws_ping_interval=5.0,
            ws_ping_timeout=5.0,
        )
        self._server = uvicorn.Server(config)
        ready = threading.Event()

        async def serve() -> None:
            self._loop = asyncio.get_running_loop()
            ready.set()
            await self._server.serve(sockets=self._sockets)

        self._thread = threading.Thread(
            target=asyncio.run, args=(serve(),), name=f"cogym-web-{self.port}", daemon=True
        )
        self._thread.start()
        ready.wait(10)
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise WebError(f"the web server on {self.host}:{self.port} did not start")
            time.sleep(0.005)

    def stop(self) -> None:
        """Close every page and stop serving."""
        for channel in self.channels():
            channel.close()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(5)
        for sock in self._sockets:
            sock.close()
        with _servers_lock:
            for key, server in list(_servers.items()):
                if server is self:
                    del _servers[key]


class _OwnNamesOnly:
    """ASGI: refuse requests whose ``Host`` is not one of the server's names (DNS rebinding)."""

    def __init__(self, app: Any, names: ServedNames) -> None:
        self.app = app
        self.names = names

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            host = Headers(scope=scope).get("host")
            if not self.names.allows(host):
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                served = ", ".join(sorted(self.names.hosts))
                if host:
                    text, status = (
                        f"refused: Host {host[:100]!r} is not this server ({served})",
                        421,
                    )
                else:
                    text, status = f"refused: the request has no Host header ({served})", 400
                await PlainTextResponse(text, status_code=status)(scope, receive, send)
                return
        await self.app(scope, receive, send)


_RESERVED = ("play", "static", "ws", "prefer")
"""The first path segments of the server's own routes, which no mounted app may take."""
_LOOPBACK_TWINS = {"127.0.0.1": "::1", "localhost": "::1", "::1": "127.0.0.1"}


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        sock.listen(64)
    except OSError:
        sock.close()
        raise
    return sock


def _asset_text(name: str) -> str:
    return resources.files("cogym.web").joinpath("static", name).read_text(encoding="utf-8")


def shared_server(
    host: str = "127.0.0.1", port: int = 0, *, allow_remote: bool = False
) -> WebServer:
    """The process's server on ``host``:``port``, started on first use (port 0: any free port,
    the same one for every caller that asks for 0)."""
    with _servers_lock:
        server = _servers.get((host, port))
        if server is None or server._thread is None or not server._thread.is_alive():
            server = WebServer(host, port, allow_remote=allow_remote)
            _servers[(host, port)] = server
            if port == 0:
                _servers[(host, server.port)] = server
        elif not allow_remote and not is_loopback(host):
            # every caller must mean it, not only the first one
            WebServer._refuse(host)
        return server


def channels(actor: str | None = None) -> list[HumanChannel]:
    """The open human-actor pages of this process (of one actor, if named)."""
    with _servers_lock:
        servers = list(dict.fromkeys(_servers.values()))
    found = [c for s in servers for c in s.channels()]
    return [c for c in found if actor is None or c.actor == actor]


def wait_for_channel(actor: str, timeout: float = 30.0) -> HumanChannel:
    """The page of human actor ``actor`` once it exists (for scripts that open the page).

    Raises :class:`~cogym.errors.PageTimeoutError` after ``timeout`` seconds.
    """
    from cogym.errors import PageTimeoutError

    end = time.monotonic() + timeout
    with _channels_changed:
        while True:
            found = channels(actor)
            if found:
                return found[-1]
            left = end - time.monotonic()
            if left <= 0:
                raise PageTimeoutError(
                    f"no human actor named {actor!r} opened a page within {timeout} s "
                    f"(open pages: {[c.actor for c in channels()] or 'none'})"
                )
            _channels_changed.wait(min(left, 0.25))


def print_url(channel: HumanChannel, what: str) -> None:
    """Tell the person where to go (on stderr, so that stdout stays the command's output)."""
    print(f"cogym: {what}: open {channel.url}", file=sys.stderr, flush=True)


class _ChannelSocket:
    """A human actor's channel as the owner of its page's socket: each message parsed, and a
    malformed one answered with an error on the page."""

    def __init__(self, channel: HumanChannel, max_message_bytes: int) -> None:
        self._channel = channel
        self._limit = max_message_bytes

    def attach(self, connection: PageConnection) -> PageConnection | None:
        return self._channel.attach(connection)

    def detach(self, connection: PageConnection) -> None:
        self._channel.detach(connection)

    async def receive(self, raw: str | bytes, connection: PageConnection) -> None:
        try:
            self._channel.receive(parse_page_message(raw, self._limit))
        except PageMessageError as exc:
            connection.offer_text(json.dumps({"type": "error", "message": str(exc)}))
