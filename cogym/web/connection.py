"""The page's end of a socket, and what a channel needs from the server that holds it.

Both :mod:`cogym.web.channel` and :mod:`cogym.web.server` build on this module; neither imports
the other's internals through it.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from starlette.websockets import WebSocket

__all__ = ["ChannelHost", "PageConnection", "ServedPage", "SocketOwner", "serve_socket"]


class ChannelHost(Protocol):
    """What a :class:`~cogym.web.channel.HumanChannel` needs from its server."""

    @property
    def base_url(self) -> str:
        """``http://host:port``, where the channel's page is."""
        ...

    def close_channel(self, channel: Any) -> None:
        """Forget ``channel``: its page and socket are refused from now on."""
        ...


class SocketOwner(Protocol):
    """What :func:`serve_socket` serves a page's socket for: a human actor's channel or a
    :class:`ServedPage`."""

    def attach(self, connection: PageConnection) -> PageConnection | None:
        """A page connected; return the one it replaces (to be told and closed), if any."""
        ...

    def detach(self, connection: PageConnection) -> None:
        """The page went away."""
        ...

    async def receive(self, raw: str | bytes, connection: PageConnection) -> None:
        """Handle one message from the page (refusals are the owner's to send)."""
        ...


class ServedPage(SocketOwner, Protocol):
    """A page that is not a human actor's (the preference page), served by a
    :class:`~cogym.web.server.WebServer` at ``/prefer/<id>`` with its socket at
    ``/ws/prefer/<id>``; every request must carry its :attr:`token`."""

    @property
    def id(self) -> str: ...

    @property
    def token(self) -> str: ...

    @property
    def closed(self) -> bool: ...

    def html(self) -> str:
        """The page's HTML, its token in it."""
        ...


class PageConnection:
    """One open socket to a page; other threads offer it messages, its task sends them.

    Ticks are coalesced: a page that cannot keep up gets the newest tick (a binary frame, or
    a text tick message when the environment renders nothing), not a backlog.
    """

    def __init__(self, websocket: WebSocket, loop: asyncio.AbstractEventLoop) -> None:
        self.websocket = websocket
        self._loop = loop
        self._texts: deque[str | bytes] = deque()
        self._frame: bytes | str | None = None
        self._wake = asyncio.Event()
        self._closing = False

    def offer_text(self, text: str) -> None:
        self._call(self._add_text, text)

    def offer_binary(self, data: bytes) -> None:
        """A binary message sent in turn with the texts (never coalesced, unlike frames)."""
        self._call(self._add_text, data)

    def offer_frame(self, data: bytes | str) -> None:
        self._call(self._set_frame, data)

    def close(self) -> None:
        self._call(self._close)

    def _call(self, fn: Any, *args: Any) -> None:
        if self._loop.is_closed():
            return
        try:
            self._loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:
            # the loop closed between the check and the call: the page is gone anyway
            return

    def _add_text(self, text: str | bytes) -> None:
        self._texts.append(text)
        self._wake.set()

    def _set_frame(self, data: bytes | str) -> None:
        self._frame = data
        self._wake.set()

    def _close(self) -> None:
        self._closing = True
        self._wake.set()

    async def pump(self) -> None:
        """Send what is offered, in order (texts first, then the newest frame)."""
        websocket = self.websocket
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._texts:
                queued = self._texts.popleft()
                if isinstance(queued, str):
                    await websocket.send_text(queued)
                else:
                    await websocket.send_bytes(queued)
            if self._frame is not None:
                data, self._frame = self._frame, None
                if isinstance(data, str):
                    await websocket.send_text(data)
                else:
                    await websocket.send_bytes(data)
            if self._closing:
                await websocket.close(code=1000)
                return


async def serve_socket(page: SocketOwner, websocket: WebSocket) -> None:
    """Accept a socket of ``page`` (already authorised) and serve it until it closes."""
    from starlette.websockets import WebSocketDisconnect

    await websocket.accept()
    connection = PageConnection(websocket, asyncio.get_running_loop())
    pump = asyncio.create_task(connection.pump())
    previous = page.attach(connection)
    if previous is not None:
        previous.offer_text(json.dumps({"type": "replaced"}))
        previous.close()
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            raw = message.get("text")
            await page.receive(raw if raw is not None else message.get("bytes") or b"", connection)
    except WebSocketDisconnect:
        pass  # the page went away; detaching below is all there is to do
    finally:
        page.detach(connection)
        pump.cancel()
