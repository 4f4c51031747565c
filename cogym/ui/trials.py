"""The trials view: a datastore's trials as a table, filtered, sorted and paginated.

``GET /trials`` is the page; ``GET /api/trials`` its rows as JSON, with the filters of
``cogym trials ls`` (``state``, ``tag`` as ``KEY=VALUE``, ``env``, ``implementation``,
``with_actor``, ``min_return``, ``max_return``, ``since``, ``until``), ``sort`` (a column, or
``return:<actor>``), ``order`` (``asc``/``desc``), ``offset`` and ``limit``.
``GET /api/trials/version`` changes whenever trials are added or removed (the page polls it).
"""

from __future__ import annotations

import html
import json
import math
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cogym.datastore.read.query import TrialFilter, TrialSummary, filter_from_options
from cogym.errors import InputError
from cogym.ui import trial as trial_view
from cogym.ui.app import json_response
from cogym.ui.trial import row

if TYPE_CHECKING:
    from cogym.ui.app import Dashboard

__all__ = ["MAX_LIMIT", "SORT_KEYS", "TrialTable", "filter_of", "routes"]

MAX_LIMIT = 500
SORT_KEYS: dict[str, Callable[[TrialSummary], Any]] = {
    "id": lambda s: s.trial_id,
    "environment": lambda s: s.environment,
    "tags": lambda s: json.dumps(s.tags, sort_keys=True, default=str),
    "state": lambda s: s.state.value,
    "ticks": lambda s: s.ticks,
    "return": lambda s: s.total_return,
    "implementation": lambda s: "\x00".join(s.implementations.values()),
    "started": lambda s: s.started,
    "duration": lambda s: s.duration,
    "error": lambda s: s.error or "",
}
"""The columns the table sorts by; ``return:<actor>`` sorts by one actor's return."""


def _sort_key(sort: str) -> Callable[[TrialSummary], Any]:
    if sort.startswith("return:"):
        actor = sort[len("return:") :]

        def by_return(s: TrialSummary) -> tuple[int, float]:
            value = s.returns.get(actor)
            if value is None or not math.isfinite(value):
                return (0, 0.0)
            return (1, float(value))

        return by_return
    if sort not in SORT_KEYS:
        raise InputError(
            f"sort: unknown column {sort[:100]!r}; sort by one of {', '.join(SORT_KEYS)} "
            "or return:<actor>"
        )
    return SORT_KEYS[sort]


def _int(request: Request, name: str, default: int, high: int | None = None) -> int:
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise InputError(f"{name}: {text[:50]!r} is not a whole number") from None
    if value < 0 or (high is not None and value > high):
        most = f" and at most {high}" if high is not None else ""
        raise InputError(f"{name}: {value} is out of range; give a number from 0{most}")
    return value


def filter_of(request: Request) -> TrialFilter:
    """The filter that the request's query parameters describe (as ``cogym trials ls``)."""
    params = request.query_params
    return filter_from_options(
        state=params.getlist("state"),
        tags=params.getlist("tag"),
        environment=params.get("env"),
        implementation=params.get("implementation"),
        with_actor=params.get("with_actor"),
        min_return=params.get("min_return"),
        max_return=params.get("max_return"),
        since=params.get("since"),
        until=params.get("until"),
        prefix="",
    )


class TrialTable:
    """The datastore's trials filtered and sorted, the last answer kept until the datastore
    changes (paging through a sorted table of 100,000 trials sorts it once)."""

    def __init__(self, ui: Dashboard) -> None:
        self.ui = ui
        self._kept: tuple[Any, list[TrialSummary]] | None = None
        self._lock = threading.Lock()

    def version(self) -> str:
        """Changes whenever a file of the datastore gains, loses or changes trials."""
        with self.ui.lock:
            return str(self.ui.datastore.catalog().generation)

    def select(self, flt: TrialFilter, sort: str, descending: bool) -> tuple[str, list[Any]]:
        key = _sort_key(sort)
        version = self.version()
        wanted = (version, repr(flt), sort, descending)
        with self._lock:
            if self._kept is not None and self._kept[0] == wanted:
                return version, self._kept[1]
        with self.ui.lock:
            found = self.ui.datastore.trials(flt)
        found.sort(key=key, reverse=descending)
        with self._lock:
            self._kept = (wanted, found)
        return version, found

    def answer(self, request: Request) -> dict[str, Any]:
        flt = filter_of(request)
        sort = request.query_params.get("sort") or "started"
        order = request.query_params.get("order") or "desc"
        if order not in ("asc", "desc"):
            raise InputError(f"order: {order[:20]!r} is not asc or desc")
        offset = _int(request, "offset", 0)
        limit = _int(request, "limit", 50, MAX_LIMIT)
        version, found = self.select(flt, sort, order == "desc")
        page = found[offset : offset + limit]
        with self.ui.lock:
            problems = [str(problem) for problem in self.ui.datastore.problems]
        return {
            "total": len(found),
            "offset": offset,
            "limit": limit,
            "sort": sort,
            "order": order,
            "version": version,
            "rows": [row(s) for s in page],
            "problems": problems,
        }


PAGE = """<h1>Trials <span class="hint" id="total"></span></h1>
<form class="filters" id="filters">
<label>state<select name="state"><option value="">any</option><option>ended</option>
<option>failed</option><option>terminated</option></select></label>
<label>tag (KEY=VALUE)<input name="tag" placeholder="experiment=demo"></label>
<label>environment<input name="env" placeholder="gym:CartPole*"></label>
<label>implementation<input name="implementation" placeholder="sb3:*"></label>
<label>with actor<input name="with_actor"></label>
<label>min return<input name="min_return" inputmode="decimal"></label>
<label>max return<input name="max_return" inputmode="decimal"></label>
<label>since<input name="since" placeholder="2025-01-31"></label>
<label>until<input name="until"></label>
<button type="submit">Filter</button><button type="reset">Clear</button>
</form>
<p class="error" id="error" hidden></p>
<div class="error" id="problems" hidden></div>
<div class="pager"><button id="prev">‹ newer</button><span id="range"></span>
<button id="next">older ›</button><label class="hint">
<input type="checkbox" id="live" checked> live</label></div>
<table id="trials"><thead><tr>
<th data-sort="id" class="sortable">id</th>
<th data-sort="environment" class="sortable">spec / tags</th>
<th data-sort="state" class="sortable">state</th>
<th data-sort="ticks" class="sortable num">ticks</th>
<th data-sort="return" class="sortable num">returns</th>
<th data-sort="implementation" class="sortable">implementations</th>
<th data-sort="started" class="sortable">started</th>
<th data-sort="duration" class="sortable num">duration (s)</th>
<th data-sort="error" class="sortable">error</th>
</tr></thead><tbody></tbody></table>
{open_pages}<p class="hint">Entry points: <code>cogym play ENV_ID</code> (play), <code>cogym play
ENV_ID --watch IMPL</code> (watch and reward), <code>cogym play ENV_ID --teach IMPL</code> (teach),
<code>cogym prefer --datastore {datastore}</code> (compare clips); each prints its page's URL.</p>
"""


def open_pages() -> str:
    """Links to the human actors' pages open in this process (play, watch, teach), if any."""
    from cogym.web.server import channels

    links = [
        f'<li><a href="{html.escape(c.url)}">{html.escape(c.actor)}</a> '
        f'<span class="hint">{html.escape(c.url.split("?")[0])}</span></li>'
        for c in channels()
        if not c.closed
    ]
    if not links:
        return ""
    return f'<h2>Open pages</h2><ul id="open-pages">{"".join(links)}</ul>'


def routes(ui: Dashboard) -> list[BaseRoute]:
    """The trials view's routes; none without a datastore."""
    if ui.datastore is None:
        return []
    table = TrialTable(ui)

    async def page(request: Request) -> Response:
        body = PAGE.replace("{datastore}", html.escape(str(ui.datastore.path)))
        body = body.replace("{open_pages}", open_pages())
        return ui.page(request, "Trials", body, nav="trials", scripts=["trials.js"])

    def listing(request: Request) -> Response:
        try:
            return json_response(table.answer(request))
        except InputError as exc:
            return json_response({"error": str(exc)}, status_code=400)

    def version(request: Request) -> Response:
        return json_response({"version": table.version()})

    return [
        Route("/trials", page),
        Route("/api/trials", listing),
        Route("/api/trials/version", version),
        *trial_view.routes(ui),
    ]
