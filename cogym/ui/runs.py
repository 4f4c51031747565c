"""The runs view: returns over trials, with moving averages, per actor, implementation or tag.

``GET /runs`` is the page; ``GET /api/runs`` its curves as JSON (:mod:`cogym.ui.api_runs`),
with the filters of the trials view (``state``, ``tag`` as ``KEY=VALUE``, ``env``,
``implementation``, ``with_actor``, ``min_return``, ``max_return``, ``since``, ``until``),
``actor`` (repeatable: the actors to draw), ``window``, ``split`` (``implementation`` or
``tag:NAME``), ``phases`` (a tag whose runs of values are shaded) and ``known`` (the stamp of
the last answer: an unchanged datastore answers ``{"changed": false}`` without reading it).
The page polls it every second, so trials recorded by running processes (``cogym run``,
``cogym dagger``, self-play, ``cogym bc --follow``) appear as they end.
"""

from __future__ import annotations

import html
import threading
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cogym.datastore.plot import parse_split
from cogym.errors import InputError
from cogym.ui.api_runs import runs_json
from cogym.ui.app import json_response
from cogym.ui.trials import TrialTable, filter_of

if TYPE_CHECKING:
    from cogym.ui.app import Dashboard

__all__ = ["POLL_SECONDS", "RunCurves", "routes"]

POLL_SECONDS = 1.0
"""How often the page asks for new trials."""
FIELDS = (
    ("actor", "actor", "all"),
    ("tag", "filter tag", "KEY=VALUE"),
    ("implementation", "implementation", "e.g. sb3:*"),
    ("env", "environment", "e.g. gym:CartPole-v1"),
    ("window", "window", "trials (default: a twentieth)"),
    ("split", "split", "implementation or tag:NAME"),
    ("phases", "phases of tag", "e.g. role"),
)
esc = html.escape


def _window(text: str | None) -> int | None:
    if text is None or text == "":
        return None
    try:
        value = int(text)
    except ValueError:
        raise InputError(f"window: {text[:50]!r} is not a whole number of trials") from None
    if value < 1:
        raise InputError(f"window: {value} is too small; give at least 1 trial")
    return value


class RunCurves:
    """Answers ``GET /api/runs``, keeping the last answer until the datastore changes (a reload,
    or a second page on the same view, costs nothing)."""

    def __init__(self, ui: Dashboard) -> None:
        self.ui = ui
        self.table = TrialTable(ui)
        self._kept: tuple[tuple[Any, ...], dict[str, Any]] | None = None
        self._lock = threading.Lock()

    def answer(self, request: Request) -> dict[str, Any]:
        """The JSON for ``request``'s parameters: ``{"stamp", "changed": false}`` if the
        datastore's version is still ``known`` (the page's last stamp)."""
        params = request.query_params
        flt = filter_of(request)
        window = _window(params.get("window"))
        split = parse_split(params.get("split") or None)
        actors = tuple(params.getlist("actor"))
        phase_tag = params.get("phases") or None
        version = self.table.version()  # before reading: a trial landing meanwhile shows next
        if params.get("known") == version:
            return {"stamp": version, "changed": False}
        key = (version, repr(flt), window, split, actors, phase_tag)
        with self._lock:
            if self._kept is not None and self._kept[0] == key:
                return self._kept[1]
        with self.ui.lock:
            summaries = self.ui.datastore.trials(flt)
        found = runs_json(
            summaries,
            actors=actors or None,
            window=window,
            split=split,
            phase_tag=phase_tag,
            stamp=version,
        )
        with self._lock:
            self._kept = (key, found)
        return found


def _form(request: Request) -> str:
    params = request.query_params
    inputs = []
    for name, label, placeholder in FIELDS:
        value = esc(params.get(name, ""), quote=True)
        inputs.append(
            f'<label>{esc(label)} <input name="{name}" value="{value}" '
            f'placeholder="{esc(placeholder, quote=True)}"></label>'
        )
    return (
        f'<form id="runs-form" class="filters">{"".join(inputs)}'
        '<button type="submit">Show</button></form>'
    )


def routes(ui: Dashboard) -> list[BaseRoute]:
    """The runs view's routes; none without a datastore."""
    if ui.datastore is None:
        return []
    curves = RunCurves(ui)

    async def page(request: Request) -> Response:
        body = (
            "<h1>Runs</h1>"
            + _form(request)
            + '<p id="runs-status" aria-live="polite"><span id="runs-count">0</span> trials · '
            'moving average of <span id="runs-window">–</span> · <span id="runs-updated">'
            'loading…</span></p><p id="runs-error" class="error" hidden></p>'
            f'<div id="runs-chart" data-poll="{POLL_SECONDS * 1000:.0f}" data-points="0"></div>'
            '<table id="runs-series"><thead><tr><th>series</th><th class="num">trials</th>'
            '<th class="num">mean return</th><th class="num">last moving average</th>'
            "<th>model</th></tr></thead><tbody></tbody></table>"
        )
        return ui.page(
            request,
            "Runs",
            body,
            nav="runs",
            scripts=("uPlot.iife.min.js", "runs.js"),
            styles=("uPlot.min.css", "runs.css"),
        )

    async def api(request: Request) -> Response:
        try:
            return json_response(curves.answer(request))
        except InputError as exc:
            return json_response({"error": str(exc)}, 400)

    return [Route("/runs", page), Route("/api/runs", api)]
