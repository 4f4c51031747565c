"""Returns over trials, drawn with matplotlib into a PNG."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from cogym.datastore.read.query import TrialSummary
from cogym.errors import InputError

__all__ = ["draw_returns", "phases_of", "plot_returns"]


def phases_of(summaries: Sequence[TrialSummary], tag: str) -> list[tuple[str, int, int]]:
    """The runs of consecutive trials with the same value of tag ``tag``: ``(value, first,
    last)`` by position in ``summaries``; trials without the tag form runs named ``-``."""
    phases: list[tuple[str, int, int]] = []
    for index, summary in enumerate(summaries):
        value = str(summary.tags.get(tag, "-"))
        if phases and phases[-1][0] == value:
            phases[-1] = (value, phases[-1][1], index)
        else:
            phases.append((value, index, index))
    return phases


def draw_returns(
    summaries: Sequence[TrialSummary],
    axes: Any,
    *,
    actors: Sequence[str] | None = None,
    window: int | None = None,
    title: str | None = None,
    phase_tag: str | None = None,
) -> None:
    """Draw each actor's return per trial (in start order) and its moving average on
    matplotlib ``axes``; with ``phase_tag``, shade and name the runs of trials that share that
    tag's value (:func:`phases_of`). The legend goes to the right of the axes, off the data."""
    if not summaries:
        raise InputError("no trials to plot")
    names = list(actors) if actors else list(dict.fromkeys(a for s in summaries for a in s.returns))
    window = window or max(1, len(summaries) // 20)
    if phase_tag is not None:
        for number, (value, first, last) in enumerate(phases_of(summaries, phase_tag)):
            if number % 2:
                axes.axvspan(first - 0.5, last + 0.5, color="0.92", zorder=0)
            if number:
                axes.axvline(first - 0.5, color="0.6", linewidth=0.8, zorder=1)
            axes.text(
                (first + last) / 2,
                1.01,
                value,
                transform=axes.get_xaxis_transform(),
                ha="center",
                va="bottom",
                fontsize=9,
            )
    for name in names:
        points = [(i, s.returns[name]) for i, s in enumerate(summaries) if name in s.returns]
        if not points:
            raise InputError(f"no trial has an actor {name!r}")
        x = np.array([p[0] for p in points])
        y = np.array([p[1] for p in points])
        line = axes.plot(x, y, ".", alpha=0.35, label=f"{name}")[0]
        if len(y) >= window > 1:
            smooth = np.convolve(y, np.ones(window) / window, mode="valid")
            axes.plot(
                x[window - 1 :],
                smooth,
                "-",
                color=line.get_color(),
                label=f"{name} (mean of {window})",
            )
    axes.set_xlabel("trial (in start order)")
    axes.set_ylabel("return")
    axes.set_title(title or f"returns over {len(summaries)} trials", pad=18 if phase_tag else 6)
    axes.grid(alpha=0.3)
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=9)


def plot_returns(
    summaries: Sequence[TrialSummary],
    path: str | os.PathLike[str],
    *,
    actors: Sequence[str] | None = None,
    window: int | None = None,
    title: str | None = None,
    phase_tag: str | None = None,
) -> int:
    """Plot :func:`draw_returns` into the PNG ``path``; return the trial count."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if not summaries:
        raise InputError("no trials to plot")
    figure, axes = plt.subplots(figsize=(9, 4.5), dpi=100)
    try:
        draw_returns(
            summaries, axes, actors=actors, window=window, title=title, phase_tag=phase_tag
        )
        figure.savefig(path, format="png", bbox_inches="tight")
    finally:
        plt.close(figure)
    return len(summaries)
