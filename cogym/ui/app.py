"""The dashboard's Starlette app: its views, the page layout, JSON answers and static assets.

A view is a module with ``routes(ui: Dashboard) -> list[BaseRoute]`` listed in :data:`VIEWS`
with its nav entry. Routes are written relative to the mount prefix (``/trials``,
``/api/trials``); :meth:`Dashboard.href` turns them into links that carry the token.

    >>> dashboard = Dashboard(datastore="trials", registry=None)   # doctest: +SKIP
    >>> mounted = WebServer().mount("/ui", dashboard.app())          # doctest: +SKIP
"""

from __future__ import annotations

import html
import importlib
import json
import math
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

if TYPE_CHECKING:
    from cogym.datastore import HDF5Datastore

__all__ = ["VIEWS", "Dashboard", "NavEntry", "json_response", "plain_json"]


@dataclass(frozen=True)
class NavEntry:
    """A view of the dashboard: its module (``cogym.ui.<module>``), nav label and page path."""

    module: str
    label: str
    path: str


VIEWS: tuple[NavEntry, ...] = (
    NavEntry("trials", "Trials", "/trials"),
    NavEntry("runs", "Runs", "/runs"),
    NavEntry("models", "Models", "/models"),
)
"""The views, in nav order; each module has ``routes(ui) -> list[BaseRoute]`` (none when it has
nothing to show, e.g. no registry: it then has no nav entry)."""

MEDIA_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".txt": "text/plain",
}
_ASSET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def plain_json(value: Any) -> Any:
    """``value`` with non-finite floats as ``None`` and NumPy values as Python ones (JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(v) for v in value]
    if hasattr(value, "tolist"):
        return plain_json(value.tolist())
    return value


def json_response(data: Any, status_code: int = 200) -> Response:
    """``data`` as JSON (NaN and infinities as ``null``, NumPy values converted)."""
    body = json.dumps(plain_json(data), separators=(",", ":"), allow_nan=False, default=str)
    return Response(body, status_code=status_code, media_type="application/json")


class Dashboard:
    """What the views share: the datastore and registry, the lock around reading them, the
    layout of pages and links that carry the token."""

    def __init__(
        self, datastore: HDF5Datastore | str | Path | None, registry: str | Path | None
    ) -> None:
        from cogym.datastore import HDF5Datastore

        if datastore is not None and not isinstance(datastore, HDF5Datastore):
            datastore = HDF5Datastore(datastore)
        self.datastore = datastore
        self.registry_root: str | Path | None = registry
        """The registry's directory or fsspec URL (kept as given: a URL is no path)."""
        self.lock = threading.RLock()
        """Held while reading the datastore or registry (their caches are not thread-safe)."""
        self.views = list(VIEWS)

    def app(self) -> Starlette:
        routes: list[BaseRoute] = [
            Route("/", self._home),
            Route("/static/{name}", self._asset),
        ]
        served = []
        for view in self.views:
            found = importlib.import_module(f"cogym.ui.{view.module}").routes(self)
            if found:  # a view with nothing to show (no datastore, no registry) has no entry
                served.append(view)
                routes += found
        self.views = served
        return Starlette(routes=routes)

    # -- links and pages -----------------------------------------------------------------------

    @staticmethod
    def href(request: Request, path: str, **params: Any) -> str:
        """The link to ``path`` (relative to the mount) with the request's token and ``params``."""
        query = {k: v for k, v in params.items() if v is not None}
        query["token"] = request.query_params.get("token", "")
        return f"{request.scope.get('root_path', '')}{path}?{urlencode(query)}"

    def page(
        self,
        request: Request,
        title: str,
        body: str,
        *,
        nav: str | None = None,
        scripts: Iterable[str] = (),
        styles: Iterable[str] = (),
        status_code: int = 200,
    ) -> HTMLResponse:
        """A page of the dashboard: the nav bar, then ``body`` (HTML, already escaped).

        ``scripts`` and ``styles`` name files of ``cogym/ui/static``; ``ui.js`` and ``ui.css``
        always come first. The page's ``<body>`` carries ``data-token`` and ``data-base`` for
        the scripts (``cogym.api``, ``cogym.href`` in ``ui.js``).
        """
        esc = html.escape
        links = [
            f'<a href="{esc(self.href(request, v.path))}"'
            + (' class="current" aria-current="page"' if v.module == nav else "")
            + f">{esc(v.label)}</a>"
            for v in self.views
        ]
        css = "".join(
            f'<link rel="stylesheet" href="{esc(self.href(request, "/static/" + s))}">'
            for s in ("ui.css", *styles)
        )
        js = "".join(
            f'<script src="{esc(self.href(request, "/static/" + s))}"></script>'
            for s in ("ui.js", *scripts)
        )
        token = esc(request.query_params.get("token", ""), quote=True)
        base = esc(request.scope.get("root_path", ""), quote=True)
        text = (
            "<!doctype html><html lang=en><head><meta charset=utf-8>"
            f"<title>{esc(title)} · cogym</title>{css}</head>"
            f'<body data-token="{token}" data-base="{base}">'
            f'<nav class="top"><span class="brand">cogym</span>{"".join(links)}</nav>'
            f"<main>{body}</main>{js}</body></html>"
        )
        return HTMLResponse(text, status_code=status_code)

    def not_found(self, request: Request, what: str, name: str, hint: str = "") -> HTMLResponse:
        """The 404 page: ``what`` named ``name`` is not there (``name`` shown as text)."""
        esc = html.escape
        body = (
            f'<h1>Not found</h1><p class="error">There is no {esc(what)} '
            f"<code>{esc(name)}</code>{esc(hint)}.</p>"
        )
        return self.page(request, "Not found", body, status_code=404)

    # -- routes --------------------------------------------------------------------------------

    async def _home(self, request: Request) -> Response:
        if not self.views:
            return PlainTextResponse(
                "this dashboard has nothing to show: give it a datastore (cogym ui --datastore "
                "DIR) or a model registry (--registry DIR)",
                status_code=404,
            )
        return RedirectResponse(self.href(request, self.views[0].path), status_code=303)

    async def _asset(self, request: Request) -> Response:
        name = request.path_params["name"]
        media = MEDIA_TYPES.get(Path(name).suffix)
        asset = resources.files("cogym.ui").joinpath("static", name)
        if not _ASSET_NAME.match(name) or media is None or not asset.is_file():
            return PlainTextResponse(f"no asset named {name[:100]!r}", status_code=404)
        return Response(asset.read_bytes(), media_type=media)
