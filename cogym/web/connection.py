"""The page's end of a socket, and what a channel needs from the server that holds it.

Both :mod:`cogym.web.channel` and :mod:`cogym.web.server` build on this module; neither imports
the other's internals through it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from starlette.websockets import WebSocket

__all__ = ["ChannelHost", "PageConnection"]


class ChannelHost(Protocol):
    """What a :class:`~cogym.web.channel.HumanChannel` needs from its server."""

    @property
    def base_url(self) -> str:
        """``http://host:port``, where the channel's page is."""
        ...

    def close_channel(self, channel: Any) -> None:
        """Forget ``channel``: its page and socket are refused from now on."""
        ...


class PageConnection:
    """One open socket to a page; other threads offer it messages, its task sends them.

    Ticks are coalesced: a page that cannot keep up gets the newest tick (a binary frame, or
    a text tick message when the environment renders nothing), not a backlog.
    """

    def __init__(self, websocket: WebSocket, loop: asyncio.AbstractEventLoop) -> None:
        self.websocket = websocket
        self._loop = loop
        self._texts: deque[str] = deque()
        self._frame: bytes | str | None = None
        self._wake = asyncio.Event()
        self._closing = False

    def offer_text(self, text: str) -> None:
        self._call(self._add_text, text)

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

    def _add_text(self, text: str) -> None:
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
                await websocket.send_text(self._texts.popleft())
            if self._frame is not None:
                data, self._frame = self._frame, None
                if isinstance(data, str):
                    await websocket.send_text(data)
                else:
                    await websocket.send_bytes(data)
            if self._closing:
                await websocket.close(code=1000)
                return
