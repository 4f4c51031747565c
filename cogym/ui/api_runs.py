"""What the dashboard's runs page draws: returns over trials, as JSON for uPlot.

The numbers come from :func:`cogym.datastore.plot.return_curves`, the function behind
``cogym trials plot``: the page and the PNG show the same series and moving averages.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from cogym.datastore.plot import ReturnCurves, return_curves
from cogym.datastore.read.query import TrialSummary

__all__ = ["curves_json", "runs_json", "stamp_of"]


def stamp_of(summaries: Sequence[TrialSummary]) -> str:
    """A short digest of which trials, in which order, ``summaries`` holds: it changes when a
    trial is recorded or deleted, so that a page polling for news can be answered in a few bytes."""
    digest = hashlib.blake2b(digest_size=8)
    for summary in summaries:
        digest.update(summary.trial_id.encode())
        digest.update(b"\n")
    return f"{len(summaries)}-{digest.hexdigest()}"


def curves_json(curves: ReturnCurves) -> dict[str, Any]:
    """``curves`` as JSON: per series its label, the trials' positions (in start order) and
    returns, and the positions and values of its moving average."""
    return {
        "count": curves.count,
        "window": curves.window,
        "split": curves.split,
        "first": curves.trial_ids[0] if curves.trial_ids else None,
        "last": curves.trial_ids[-1] if curves.trial_ids else None,
        "phases": [list(p) for p in curves.phases],
        "series": [
            {
                "label": s.label,
                "actor": s.actor,
                "group": s.group,
                "x": s.positions.tolist(),
                "y": s.returns.tolist(),
                "mean_x": s.mean_positions.tolist(),
                "mean": s.mean.tolist(),
            }
            for s in curves.series
        ],
    }


def runs_json(
    summaries: Sequence[TrialSummary],
    *,
    actors: Sequence[str] | None = None,
    window: int | None = None,
    split: str | None = None,
    phase_tag: str | None = None,
    known: str | None = None,
) -> dict[str, Any]:
    """The runs page's answer for ``summaries`` (trials in start order): ``{"stamp",
    "changed": False}`` when ``known`` is the stamp of these very trials, else the stamp and
    :func:`curves_json` of :func:`~cogym.datastore.plot.return_curves`."""
    stamp = stamp_of(summaries)
    if known is not None and known == stamp:
        return {"stamp": stamp, "changed": False}
    curves = return_curves(
        summaries, actors=actors, window=window, split=split, phase_tag=phase_tag
    )
    return {"stamp": stamp, "changed": True, **curves_json(curves)}
