"""The models view: a registry's models, their versions, aliases and lineage as links.

``GET /models`` lists the models; ``GET /models/{name}`` is one model (aliases, their history,
every version with its metrics and lineage); ``GET /models/{name}/{ref}`` one version (a number,
an alias or ``latest``) with all the trials it came from. ``GET /api/models``,
``/api/models/{name}`` and ``/api/models/{name}/{ref}`` answer the same as JSON
(:mod:`cogym.ui.api_models`). An unknown model, version or alias is a 404 page naming it.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cogym.errors import InputError, RegistryError
from cogym.registry import ModelRegistry, ModelVersion
from cogym.ui import api_models
from cogym.ui.app import json_response
from cogym.ui.links import model_path, trial_path

if TYPE_CHECKING:
    from cogym.ui.app import Dashboard

__all__ = ["routes"]

esc = html.escape
STYLES = ("models.css",)


LIST_SHOWN = 20
"""Items of a long list (preference ids, labels...) shown on a page; the JSON has them all."""


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, str):
        return value
    if isinstance(value, list) and len(value) > LIST_SHOWN:
        shown = json.dumps(value[:LIST_SHOWN], default=str)
        return f"{shown[:-1]}, … ({len(value)} in all)]"
    return json.dumps(value, default=str)


def _when(iso: str) -> str:
    """An ISO time from the registry as ``2025-01-31 12:00:00 UTC`` (as given if not one)."""
    try:
        moment = dt.datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return str(iso)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return f"{moment:%Y-%m-%d %H:%M:%S}" + (" UTC" if moment.tzinfo is not None else "")


def _fields(rows: dict[str, Any], cls: str) -> str:
    if not rows:
        return '<p class="empty">none</p>'
    body = "".join(
        f"<tr><th>{esc(str(k))}</th><td>{esc(_value(v))}</td></tr>" for k, v in rows.items()
    )
    return f'<table class="{cls}">{body}</table>'


class ModelPages:
    """The pages and JSON answers of the models view."""

    def __init__(self, ui: Dashboard, registry: ModelRegistry) -> None:
        self.ui = ui
        self.registry = registry

    # -- links -------------------------------------------------------------------------------

    def _model_link(self, request: Request, model: dict[str, Any], text: str) -> str:
        href = self.ui.href(request, model["path"])
        return f'<a class="model-link" href="{esc(href)}">{esc(text)}</a>'

    def _trial_link(self, request: Request, trial: dict[str, Any], here: bool) -> str:
        if not (here and trial["found"]):
            gone = " (no longer in the datastore)" if here else ""
            return f'<code class="trial-id">{esc(trial["id"])}</code>{gone}'
        href = self.ui.href(request, trial_path(trial["id"]))
        return f'<a class="trial-link" href="{esc(href)}">{esc(trial["id"])}</a>'

    # -- rendering ---------------------------------------------------------------------------

    def _lineage(self, request: Request, view: dict[str, Any]) -> str:
        lineage = view["lineage"]
        parts = []
        count = lineage["trial_count"]
        if count:
            where = f"<code>{esc(str(lineage['datastore']))}</code>"
            if lineage["here"]:
                table = esc(self.ui.href(request, "/trials"))
                where = f'<a class="datastore-link" href="{table}">{where}</a>'
            actor = (
                f" of actor <code>{esc(str(lineage['actor']))}</code>" if lineage["actor"] else ""
            )
            note = ""
            if not lineage["here"]:
                note = (
                    " (not the datastore this dashboard shows: start it with that "
                    "--datastore to open them)"
                )
            elif lineage["missing"]:
                note = f" ({lineage['missing']} of them are no longer there)"
            parts.append(
                f'<p class="trained-from">Trained from {count} trial{"s" if count != 1 else ""}'
                f"{actor} in datastore {where}{esc(note)}</p>"
            )
            links = "".join(
                f"<li>{self._trial_link(request, t, lineage['here'])}</li>"
                for t in lineage["trials"]
            )
            more = count - len(lineage["trials"])
            if more > 0:
                href = self.ui.href(request, model_path(view["name"], view["version"]))
                links += f'<li><a href="{esc(href)}">and {more} more</a></li>'
            parts.append(f'<ul class="lineage-trials">{links}</ul>')
        if lineage["filter"]:
            parts.append(
                f'<p class="filter">Filter: <code>{esc(str(lineage["filter"]))}</code></p>'
            )
        if lineage["acted"]:
            rows = "".join(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>".format(
                    esc(a["actor"]) + (" (the learner's actor)" if a["learner"] else ""),
                    self._model_link(request, a["model"], a["implementation"])
                    if a["model"]
                    else f"<code>{esc(a['implementation'])}</code>",
                    a["trials"],
                )
                for a in lineage["acted"]
            )
            parts.append(
                '<p>Who acted in those trials:</p><table class="acted"><tr><th>actor</th>'
                f"<th>implementation</th><th>trials</th></tr>{rows}</table>"
            )
        if lineage["models"]:
            items = "".join(
                f"<li>{esc(m['role'])}: {self._model_link(request, m['model'], m['text'])}</li>"
                for m in lineage["models"]
            )
            parts.append(f'<ul class="lineage-models">{items}</ul>')
        linked = {m["role"] for m in lineage["models"]}  # shown as links above
        other = {k: v for k, v in lineage["other"].items() if k not in linked}
        if other:
            parts.append("<p>Also recorded:</p>" + _fields(other, "other"))
        return "".join(parts) or '<p class="empty">no lineage recorded</p>'

    def _version(self, request: Request, view: dict[str, Any]) -> str:
        if "error" in view:
            return (
                f'<section class="version" id="v{view["version"]}"><h2>{esc(view["ref"])}</h2>'
                f'<p class="error">This version cannot be read: {esc(view["error"])}</p></section>'
            )
        aliases = "".join(f' <span class="alias">{esc(a)}</span>' for a in view["aliases"])
        href = self.ui.href(request, model_path(view["name"], view["version"]))
        facts = {
            "created": _when(view["created"]),
            "kind": view["kind"],
            "algorithm": view["algorithm"],
            "size": f"{view['size']:,} bytes",
            "observation space": view["observation_space"],
            "action space": view["action_space"],
        }
        return (
            f'<section class="version" id="v{view["version"]}">'
            f'<h2><a href="{esc(href)}">{esc(view["ref"])}</a>{aliases}</h2>'
            f"{_fields(facts, 'facts')}<h3>Metrics</h3>{_fields(view['metrics'], 'metrics')}"
            f"<h3>Properties</h3>{_fields(view['properties'], 'properties')}"
            f"<h3>Lineage</h3>{self._lineage(request, view)}</section>"
        )

    def _aliases(self, view: dict[str, Any]) -> str:
        current = "".join(
            f"<tr><td>{esc(a)}</td><td>{v}</td></tr>" for a, v in view["aliases"].items()
        )
        history = "".join(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>".format(
                esc(_when(c["time"])),
                esc(c["alias"]),
                "–" if c["previous"] is None else c["previous"],
                "removed" if c["version"] is None else c["version"],
                esc(f"{c['user']}@{c['host']}"),
            )
            for c in view["alias_history"]
        )
        return (
            '<h2>Aliases</h2><table class="aliases"><tr><th>alias</th><th>version</th></tr>'
            f"{current or '<tr><td colspan=2>none</td></tr>'}</table>"
            '<h3>Alias history</h3><table class="alias-history"><tr><th>when</th><th>alias</th>'
            f"<th>from</th><th>to</th><th>by</th></tr>{history}</table>"
        )

    def _index(self, request: Request, rows: list[dict[str, Any]]) -> str:
        cells = []
        for r in rows:
            href = self.ui.href(request, model_path(r["name"]))
            if "error" in r:
                cells.append(
                    f'<tr><td><a class="model" href="{esc(href)}">{esc(r["name"])}</a></td>'
                    f"<td>{r['versions']}</td><td>{r['version']}</td><td colspan=5 "
                    f'class="error">cannot be read: {esc(r["error"])}</td></tr>'
                )
                continue
            metrics = ", ".join(f"{k}={_value(v)}" for k, v in r["metrics"].items())
            aliases = ", ".join(f"{a}→{v}" for a, v in r["aliases"].items())
            cells.append(
                f'<tr><td><a class="model" href="{esc(href)}">{esc(r["name"])}</a></td>'
                f"<td>{r['versions']}</td><td>{r['latest']}</td><td>{esc(aliases)}</td>"
                f"<td>{esc(r['algorithm'])}</td><td>{esc(str(r['trained_by'] or '–'))}</td>"
                f"<td>{esc(metrics)}</td><td>{esc(_when(r['created']))}</td></tr>"
            )
        head = "".join(
            f"<th>{h}</th>"
            for h in ("model", "versions", "latest", "aliases", "algorithm", "trained by",
                      "metrics (latest)", "created")
        )  # fmt: skip
        empty = '<tr><td colspan=8 class="empty">no models yet</td></tr>'
        return (
            f'<h1>Models</h1><table class="models"><tr>{head}</tr>{"".join(cells) or empty}</table>'
        )

    # -- routes ------------------------------------------------------------------------------

    def _answer(
        self, request: Request, make: Callable[[ModelRegistry], Any]
    ) -> tuple[Any, Response | None]:
        """``make(registry)`` under the dashboard's lock, or the page that says why not."""
        name = request.path_params.get("name", "")
        ref = request.path_params.get("ref")
        try:
            with self.ui.lock:
                return make(self.registry), None
        except (InputError, LookupError) as exc:
            what = "model" if ref is None else "version"
            shown = name if ref is None else f"{name}@{ref}"
            return None, self.ui.not_found(request, what, shown, f": {exc}")
        except RegistryError as exc:
            body = f'<h1>Cannot be read</h1><p class="error">{esc(str(exc))}</p>'
            return None, self.ui.page(request, "Cannot be read", body, status_code=500)

    def _info(self, registry: ModelRegistry, request: Request) -> ModelVersion:
        return registry.info(request.path_params["name"], request.path_params["ref"])

    async def index(self, request: Request) -> Response:
        rows, refused = self._answer(request, api_models.models_index)
        if refused is not None:
            return refused
        return self.ui.page(
            request, "Models", self._index(request, rows), nav="models", styles=STYLES
        )

    async def model(self, request: Request) -> Response:
        name = request.path_params["name"]
        view, refused = self._answer(
            request, lambda r: api_models.model_view(r, name, self.ui.datastore)
        )
        if refused is not None:
            return refused
        body = (
            f'<h1>Model <span class="name">{esc(name)}</span></h1>{self._aliases(view)}'
            + "".join(self._version(request, v) for v in view["versions"])
        )
        return self.ui.page(request, name, body, nav="models", styles=STYLES)

    def _version_view(self, request: Request) -> Callable[[ModelRegistry], dict[str, Any]]:
        def make(registry: ModelRegistry) -> dict[str, Any]:
            info = self._info(registry, request)
            aliases = registry.aliases(info.name)
            return api_models.version_view(info, aliases, self.ui.datastore, limit=None)

        return make

    async def version(self, request: Request) -> Response:
        view, refused = self._answer(request, self._version_view(request))
        if refused is not None:
            return refused
        back = self.ui.href(request, model_path(view["name"]))
        body = (
            f'<p><a href="{esc(back)}">← all versions of {esc(view["name"])}</a></p>'
            + self._version(request, view)
        )
        return self.ui.page(request, view["ref"], body, nav="models", styles=STYLES)

    async def api_index(self, request: Request) -> Response:
        return self._json(request, api_models.models_index)

    async def api_model(self, request: Request) -> Response:
        name = request.path_params["name"]
        return self._json(request, lambda r: api_models.model_view(r, name, self.ui.datastore))

    async def api_version(self, request: Request) -> Response:
        return self._json(request, self._version_view(request))

    def _json(self, request: Request, make: Callable[[ModelRegistry], Any]) -> Response:
        try:
            with self.ui.lock:
                return json_response(make(self.registry))
        except (InputError, LookupError) as exc:
            return json_response({"error": str(exc)}, 404)
        except RegistryError as exc:
            return json_response({"error": str(exc)}, 500)


def routes(ui: Dashboard) -> list[BaseRoute]:
    """The models view's routes; none without a registry."""
    if ui.registry_root is None:
        return []
    pages = ModelPages(ui, ModelRegistry(ui.registry_root))
    return [
        Route("/models", pages.index),
        Route("/models/{name}", pages.model),
        Route("/models/{name}/{ref}", pages.version),
        Route("/api/models", pages.api_index),
        Route("/api/models/{name}", pages.api_model),
        Route("/api/models/{name}/{ref}", pages.api_version),
    ]
