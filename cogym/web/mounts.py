"""Apps served by a :class:`~cogym.web.WebServer` under a path prefix, each behind its own token.

A mounted app (any ASGI app, e.g. a Starlette app with its routes, see :mod:`cogym.ui`) gets a
prefix such as ``/ui`` and a token. Every request under the prefix (page, asset, JSON route or
socket) must carry ``?token=<token>``; one without it is refused (HTTP 403, a socket closed with
1008) before the app sees it. A socket must also come from the server's own origin. Every HTTP
answer of the app gets the server's security headers (:meth:`ServedNames.headers`).

    >>> mounted = server.mount("/ui", app)          # doctest: +SKIP
    >>> mounted.url("/trials")                      # doctest: +SKIP
    'http://127.0.0.1:39211/ui/trials?token=...'
"""

from __future__ import annotations

import re
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from cogym.errors import InputError
from cogym.web.hosts import ServedNames

__all__ = ["MountedApp", "Mounts", "REFUSED"]

REFUSED = "refused: this page needs the token of the URL that cogym printed (…?token=…)"
_PREFIX = re.compile(r"^(/[a-z][a-z0-9_-]*)+$")


@dataclass(frozen=True)
class MountedApp:
    """An app served under ``prefix``; its pages, assets and sockets need ``token``."""

    prefix: str
    app: Any = field(repr=False)
    token: str = field(repr=False)
    base_url: str

    def url(self, path: str = "/") -> str:
        """The address of ``path`` (under the prefix), token included."""
        if not path.startswith("/"):
            path = "/" + path
        sep = "&" if "?" in path else "?"
        return f"{self.base_url}{self.prefix}{path}{sep}token={self.token}"


class Mounts:
    """ASGI: sends requests under a mounted prefix to its app once the token is checked, and
    every other request to ``fallback``."""

    def __init__(self, fallback: Any, names: ServedNames) -> None:
        self.fallback = fallback
        self.names = names
        self._mounted: dict[str, MountedApp] = {}
        self._lock = threading.Lock()

    def add(self, prefix: str, app: Any, base_url: str, reserved: tuple[str, ...]) -> MountedApp:
        if not _PREFIX.match(prefix):
            raise InputError(
                f"mount prefix {prefix!r}: write it as /name (lower-case letters, digits, - or _), "
                "e.g. /ui"
            )
        first = prefix.split("/")[1]
        with self._lock:
            taken = [p for p in self._mounted if p.split("/")[1] == first]
            if first in reserved or taken:
                used = sorted({*reserved, *(p.split("/")[1] for p in self._mounted)})
                raise InputError(
                    f"mount prefix {prefix!r} is taken on this server (taken: "
                    f"{', '.join('/' + u for u in used)}); choose another"
                )
            mounted = MountedApp(prefix, app, secrets.token_urlsafe(24), base_url)
            self._mounted[prefix] = mounted
        return mounted

    def remove(self, mounted: MountedApp) -> None:
        with self._lock:
            if self._mounted.get(mounted.prefix) is mounted:
                del self._mounted[mounted.prefix]

    def _find(self, path: str) -> MountedApp | None:
        with self._lock:
            for prefix, mounted in self._mounted.items():
                if path == prefix or path.startswith(prefix + "/"):
                    return mounted
        return None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.fallback(scope, receive, send)
            return
        mounted = self._find(scope["path"])
        if mounted is None:
            await self.fallback(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if not _token_matches(scope, mounted.token) or (
            scope["type"] == "websocket" and not self.names.same_origin(headers)
        ):
            await _refuse(scope, receive, send)
            return
        child = dict(scope, root_path=scope.get("root_path", "") + mounted.prefix)
        if scope["type"] == "websocket":
            await mounted.app(child, receive, send)
            return
        extra = [
            (k.lower().encode("latin-1"), v.encode("latin-1"))
            for k, v in self.names.headers(headers.get("host")).items()
        ]

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                given = {k.lower() for k, _ in message.get("headers", [])}
                added = [(k, v) for k, v in extra if k not in given]
                message = dict(message, headers=[*message.get("headers", []), *added])
            await send(message)

        await mounted.app(child, receive, send_with_headers)


def _token_matches(scope: dict[str, Any], token: str) -> bool:
    given = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [""])[-1]
    if not given:
        return False
    return secrets.compare_digest(given.encode(), token.encode())


async def _refuse(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    from starlette.responses import PlainTextResponse

    await PlainTextResponse(REFUSED, status_code=403)(scope, receive, send)
