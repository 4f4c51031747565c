"""What the dashboard's runs page draws: returns over trials, as JSON for uPlot.

The numbers come from :func:`cogym.datastore.plot.return_curves`, the function behind
``cogym trials plot``: the page and the PNG show the same series and moving averages. A series
longer than :data:`MAX_POINTS` is thinned for the page, never recomputed: of each run of
consecutive trials it keeps the lowest and the highest return, and of its moving average every
n-th value (the last one always), so that a run of 100,000 trials stays a few hundred kilobytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cogym.datastore.plot import IMPLEMENTATION, ReturnCurves, ReturnSeries, return_curves
from cogym.datastore.read.query import TrialSummary
from cogym.ui.api_models import model_of

__all__ = ["MAX_POINTS", "curves_json", "runs_json", "thin"]

MAX_POINTS = 2000
"""The most returns (and moving-average values) sent per series; beyond, the series is thinned."""


def thin(
    positions: np.ndarray, values: np.ndarray, limit: int, *, extremes: bool
) -> tuple[np.ndarray, np.ndarray]:
    """At most ``limit`` of the points ``(positions, values)``, each one of them unchanged: with
    ``extremes``, the lowest and highest value of each of ``limit // 2`` runs of consecutive
    points; without, every n-th point and the last."""
    count = len(values)
    if count <= limit:
        return positions, values
    if not extremes:
        step = -(-count // (limit - 1))
        keep = np.unique(np.append(np.arange(0, count, step), count - 1))
        return positions[keep], values[keep]
    runs = np.array_split(np.arange(count), limit // 2)
    keep = np.unique(
        [i for run in runs for i in (run[np.argmin(values[run])], run[np.argmax(values[run])])]
    )
    return positions[keep], values[keep]


def _series_json(series: ReturnSeries, split: str | None, limit: int) -> dict[str, Any]:
    x, y = thin(series.positions, series.returns, limit, extremes=True)
    mean_x, mean = thin(series.mean_positions, series.mean, limit, extremes=False)
    return {
        "label": series.label,
        "actor": series.actor,
        "group": series.group,
        "model": model_of(series.group) if split == IMPLEMENTATION else None,
        "trials": len(series.returns),
        "mean_return": float(series.returns.mean()),
        "last_mean": float(series.mean[-1]) if len(series.mean) else None,
        "x": x.tolist(),
        "y": y.tolist(),
        "mean_x": mean_x.tolist(),
        "mean": mean.tolist(),
    }


def curves_json(curves: ReturnCurves, limit: int = MAX_POINTS) -> dict[str, Any]:
    """``curves`` as JSON: per series its label, the model its implementation names (split by
    implementation), its trial count and mean return, the trials' positions (in start order)
    and returns, and the positions and values of its moving average (each thinned to ``limit``
    points, see :func:`thin`)."""
    return {
        "count": curves.count,
        "window": curves.window,
        "split": curves.split,
        "first": curves.trial_ids[0] if curves.trial_ids else None,
        "last": curves.trial_ids[-1] if curves.trial_ids else None,
        "phases": [list(p) for p in curves.phases],
        "series": [_series_json(s, curves.split, limit) for s in curves.series],
    }


def runs_json(
    summaries: Sequence[TrialSummary],
    *,
    actors: Sequence[str] | None = None,
    window: int | None = None,
    split: str | None = None,
    phase_tag: str | None = None,
    stamp: str | None = None,
    limit: int = MAX_POINTS,
) -> dict[str, Any]:
    """The runs page's answer for ``summaries`` (trials in start order): :func:`curves_json` of
    :func:`~cogym.datastore.plot.return_curves`, with ``stamp``, the datastore's version the
    trials were read at (the page sends it back to learn whether anything changed)."""
    curves = return_curves(
        summaries, actors=actors, window=window, split=split, phase_tag=phase_tag
    )
    return {"stamp": stamp, "changed": True, **curves_json(curves, limit)}
