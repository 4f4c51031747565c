"""One trial's page: summary, return and reward curves, rewards and messages sent, notes, and
the replay player.

``GET /trials/<id>`` is the page (404 naming the id if it is not in the datastore);
``GET /api/trials/<id>`` the trial as JSON: summary, per-tick rows (observation, action, reward
per actor, the notes of who chose the action), rewards and messages sent, and the frames'
ticks; ``GET /api/trials/<id>/frames/<tick>`` one frame as JPEG.
"""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING, Any

import numpy as np
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cogym.errors import TrialNotFoundError
from cogym.ui.app import json_response, plain_json
from cogym.ui.replay import FrameSource

if TYPE_CHECKING:
    from cogym.datastore.read.query import TrialSummary
    from cogym.datastore.read.stored import StoredTrial
    from cogym.ui.app import Dashboard

__all__ = ["MAX_ARRAY_VALUES", "MAX_VALUE_CHARS", "routes", "row", "trial_data"]

MAX_VALUE_CHARS = 2000
"""An observation or action longer than this (as JSON) is cut, with a note that it was."""
MAX_ARRAY_VALUES = 512
"""An array with more values than this is shown by its shape, dtype, range and first values."""


def _value(value: Any) -> Any:
    """A space's value as JSON (arrays as lists, dicts and tuples nested); a long one cut, a
    large array (an image) summarised by its shape, dtype, range and first values."""
    if isinstance(value, np.ndarray) and value.size > MAX_ARRAY_VALUES:
        flat = value.ravel()
        return {
            "shape": list(value.shape),
            "dtype": str(value.dtype),
            "min": plain_json(flat.min()),
            "max": plain_json(flat.max()),
            "first": plain_json(flat[:16]),
        }
    if isinstance(value, dict):
        return {str(k): _value(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_value(v) for v in value]
    plain = plain_json(value)
    text = json.dumps(plain, default=str)
    if len(text) > MAX_VALUE_CHARS:
        return {"cut": text[:MAX_VALUE_CHARS], "chars": len(text)}
    return plain


def row(summary: TrialSummary) -> dict[str, Any]:
    """A trial as a row of the table (JSON)."""
    return {
        "id": summary.trial_id,
        "environment": summary.environment,
        "tags": dict(summary.tags),
        "state": summary.state.value,
        "ticks": summary.ticks,
        "returns": dict(summary.returns),
        "implementations": dict(summary.implementations),
        "started": summary.started,
        "duration": summary.duration,
        "error": summary.error,
        "frames": summary.frames,
    }


def trial_data(stored: StoredTrial, frame_ticks: list[int], frames_how: str) -> dict[str, Any]:
    """The trial as the page reads it."""
    ticks = []
    for sample in stored.samples():
        ticks.append(
            {
                "tick": sample.tick,
                "observations": {k: _value(v) for k, v in sample.observations.items()},
                "actions": {k: _value(v) for k, v in sample.actions.items()},
                "rewards": dict(sample.rewards),
                "notes": plain_json(sample.annotations or {}),
            }
        )
    return {
        "summary": row(stored.summary),
        "seed": stored.summary.seed,
        "spec": stored.spec.to_dict(),
        "actors": list(stored.summary.actor_classes),
        "ticks": ticks,
        "rewards_sent": [
            {
                "tick": r.tick,
                "sender": r.sender,
                "receiver": r.receiver,
                "value": r.value,
                "confidence": r.confidence,
            }
            for r in stored.rewards_sent
        ],
        "messages": [
            {"tick": m.tick, "sender": m.sender, "receiver": m.receiver, "payload": m.payload}
            for m in stored.messages
        ],
        "frames": {"ticks": frame_ticks, "how": frames_how},
    }


PAGE = """<h1>Trial <code id="trial-id">{trial_id}</code></h1>
<p class="error" id="error" hidden></p>
<div class="panels">
<section><h2>Summary</h2><dl class="summary" id="summary"></dl></section>
<section id="player"><h2>Replay <span class="hint" id="frames-how"></span></h2>
<div class="replay"><div><canvas id="frame" hidden></canvas>
<p class="hint" id="no-frames" hidden></p>
<div class="controls"><button id="play">▶ play</button><button id="step-back">◀ step</button>
<button id="step">step ▶</button><input type="range" id="seek" min="0" value="0">
<label class="hint">fps <input id="fps" type="number" min="1" max="120" value="30"></label>
</div><p class="hint">keys: space play/pause, ← → step, Home End first/last tick</p></div>
<dl class="summary" id="tick-panel"><dt>tick</dt><dd id="shown-tick">–</dd>
<dt>action</dt><dd><pre id="shown-action"></pre></dd>
<dt>rewards</dt><dd><pre id="shown-rewards"></pre></dd>
<dt>notes</dt><dd><pre id="shown-notes"></pre></dd>
<dt>observation</dt><dd><pre id="shown-observation"></pre></dd></dl></div></section>
</div>
<h2>Returns and rewards</h2><div id="curves"></div>
<div class="panels"><section><h2>Rewards sent</h2><table id="rewards-sent"><thead><tr>
<th>tick</th><th>from</th><th>to</th><th class="num">value</th><th class="num">confidence</th>
</tr></thead><tbody></tbody></table></section>
<section><h2>Messages</h2><table id="messages"><thead><tr><th>tick</th><th>from</th><th>to</th>
<th>payload</th></tr></thead><tbody></tbody></table></section>
<section><h2>Who chose the actions</h2><table id="notes"><thead><tr><th>by</th><th>actor</th>
<th class="num">ticks</th></tr></thead><tbody></tbody></table></section></div>
<h2>Spec</h2><pre id="spec"></pre>
"""


def routes(ui: Dashboard) -> list[BaseRoute]:
    frames = FrameSource()

    def full_id(trial_id: str) -> str | None:
        with ui.lock:
            try:
                return ui.datastore.resolve(trial_id)
            except TrialNotFoundError:
                return None

    def read(trial_id: str) -> StoredTrial:
        with ui.lock:
            return ui.datastore.trial(trial_id)

    def missing(trial_id: str) -> Response:
        return json_response({"error": f"no trial {trial_id!r} in this datastore"}, 404)

    def page(request: Request) -> Response:
        trial_id = request.path_params["trial_id"]
        with ui.lock:
            try:
                trial_id = ui.datastore.resolve(trial_id)
            except TrialNotFoundError:
                return ui.not_found(
                    request, "trial", trial_id, f" in datastore {ui.datastore.path}"
                )
        body = PAGE.replace("{trial_id}", html.escape(trial_id))
        return ui.page(
            request,
            f"Trial {trial_id}",
            body,
            nav="trials",
            scripts=["uPlot.iife.min.js", "trial.js"],
            styles=["uPlot.min.css"],
        )

    def data(request: Request) -> Response:
        trial_id = full_id(request.path_params["trial_id"])
        if trial_id is None:
            return missing(request.path_params["trial_id"])
        stored = read(trial_id)
        found = frames.get(trial_id, lambda: stored)
        body = trial_data(stored, found.ticks, found.how)
        body["frames"]["note"] = found.note
        return json_response(body)

    def frame(request: Request) -> Response:
        trial_id = full_id(request.path_params["trial_id"])
        if trial_id is None:
            return missing(request.path_params["trial_id"])
        tick = request.path_params["tick"]
        image = frames.get(trial_id, lambda: read(trial_id)).jpeg(tick)
        if image is None:
            return json_response({"error": f"trial {trial_id} has no frame for tick {tick}"}, 404)
        return Response(image, media_type="image/jpeg")

    return [
        Route("/trials/{trial_id}", page),
        Route("/api/trials/{trial_id}", data),
        Route("/api/trials/{trial_id}/frames/{tick:int}", frame),
    ]
