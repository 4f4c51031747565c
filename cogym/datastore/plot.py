"""Returns over trials: the series (:func:`return_curves`) and their PNG drawn with matplotlib.

The dashboard (``cogym ui``) draws the same :class:`ReturnCurves` in the browser, so a PNG from
``cogym trials plot`` and the page show the same numbers.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cogym.datastore.read.query import TrialSummary
from cogym.errors import InputError

__all__ = [
    "ReturnCurves",
    "ReturnSeries",
    "draw_returns",
    "moving_mean",
    "parse_split",
    "phases_of",
    "plot_returns",
    "return_curves",
]

IMPLEMENTATION = "implementation"
TAG_PREFIX = "tag:"


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


@dataclass(frozen=True, repr=False)
class ReturnSeries:
    """One actor's returns (within one group of trials, when split) and their moving average.

    ``positions`` are the trials' places in start order among all plotted trials; ``mean[i]``
    is the mean of the ``window`` returns ending at ``positions[window - 1 + i]`` (empty when
    the series is shorter than the window, or the window is 1)."""

    actor: str
    group: str | None
    positions: np.ndarray
    returns: np.ndarray
    mean: np.ndarray

    @property
    def label(self) -> str:
        return self.actor if self.group is None else f"{self.actor} · {self.group}"

    @property
    def mean_positions(self) -> np.ndarray:
        return self.positions[len(self.positions) - len(self.mean) :]

    def __repr__(self) -> str:
        return f"ReturnSeries({self.label!r}, {len(self.returns)} trials)"


@dataclass(frozen=True, repr=False)
class ReturnCurves:
    """Everything a plot of returns over trials shows: the series, the window, the phases."""

    trial_ids: tuple[str, ...]
    window: int
    series: tuple[ReturnSeries, ...]
    phases: tuple[tuple[str, int, int], ...] = ()
    split: str | None = None

    @property
    def count(self) -> int:
        return len(self.trial_ids)

    def __repr__(self) -> str:
        return f"ReturnCurves({self.count} trials, {len(self.series)} series, window {self.window})"


def parse_split(split: str | None) -> str | None:
    """Check a ``split`` choice: ``None`` (one series per actor), ``implementation`` (per actor
    and the implementation it ran), or ``tag:NAME`` (per actor and value of tag NAME)."""
    if split is None or split == IMPLEMENTATION:
        return split
    if isinstance(split, str) and split.startswith(TAG_PREFIX) and len(split) > len(TAG_PREFIX):
        return split
    raise InputError(
        f"split: {split!r} is not a way to split the returns; use 'implementation' (one curve "
        "per actor and implementation) or 'tag:NAME' (one per actor and value of tag NAME)"
    )


def _group(summary: TrialSummary, actor: str, split: str | None) -> str | None:
    if split is None:
        return None
    if split == IMPLEMENTATION:
        return summary.implementations.get(actor, "-")
    return str(summary.tags.get(split[len(TAG_PREFIX) :], "-"))


def moving_mean(values: np.ndarray, window: int) -> np.ndarray:
    """The means of every ``window`` consecutive ``values`` (empty if there are fewer, or if
    ``window`` is 1), in time linear in the number of values whatever the window."""
    if window <= 1 or len(values) < window:
        return np.empty(0)
    sums = np.concatenate(([0.0], np.cumsum(values, dtype=np.float64)))
    return (sums[window:] - sums[:-window]) / window


def return_curves(
    summaries: Sequence[TrialSummary],
    *,
    actors: Sequence[str] | None = None,
    window: int | None = None,
    split: str | None = None,
    phase_tag: str | None = None,
) -> ReturnCurves:
    """Each actor's return per trial (in the order of ``summaries``, start order as
    :meth:`~cogym.datastore.HDF5Datastore.trials` gives) and its moving average over
    ``window`` trials (default: a twentieth of the trials); ``split`` (:func:`parse_split`)
    makes one series per actor and implementation or tag value; ``phase_tag`` names the runs
    of trials that share that tag's value (:func:`phases_of`)."""
    split = parse_split(split)
    if window is not None and (isinstance(window, bool) or not isinstance(window, int)):
        raise InputError(f"window must be a whole number of trials, got {window!r}")
    if window is not None and window < 1:
        raise InputError(f"window must be at least 1 trial, got {window}")
    names = list(actors) if actors else list(dict.fromkeys(a for s in summaries for a in s.returns))
    window = window or max(1, len(summaries) // 20)
    series = []
    for name in names:
        picked = [
            (i, value, _group(summary, name, split))
            for i, summary in enumerate(summaries)
            if (value := summary.returns.get(name)) is not None
        ]
        if summaries and not picked:
            raise InputError(f"no trial has an actor {name!r}")
        positions = np.fromiter((p[0] for p in picked), np.int64, len(picked))
        returns = np.fromiter((p[1] for p in picked), np.float64, len(picked))
        groups: dict[str | None, list[int]] = {}
        for number, pick in enumerate(picked):
            groups.setdefault(pick[2], []).append(number)
        for group, members in groups.items():
            keep = slice(None) if len(groups) == 1 else np.array(members)
            y = returns[keep]
            series.append(ReturnSeries(name, group, positions[keep], y, moving_mean(y, window)))
    phases = tuple(phases_of(summaries, phase_tag)) if phase_tag is not None else ()
    return ReturnCurves(tuple(s.trial_id for s in summaries), window, tuple(series), phases, split)


def draw_returns(
    summaries: Sequence[TrialSummary],
    axes: Any,
    *,
    actors: Sequence[str] | None = None,
    window: int | None = None,
    title: str | None = None,
    phase_tag: str | None = None,
    split: str | None = None,
) -> None:
    """Draw :func:`return_curves` on matplotlib ``axes``: each series' returns as dots and its
    moving average as a line; with ``phase_tag``, shade and name the phases. The legend goes to
    the right of the axes, off the data."""
    if not summaries:
        raise InputError("no trials to plot")
    curves = return_curves(
        summaries, actors=actors, window=window, split=split, phase_tag=phase_tag
    )
    for number, (value, first, last) in enumerate(curves.phases):
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
    for series in curves.series:
        line = axes.plot(series.positions, series.returns, ".", alpha=0.35, label=series.label)[0]
        if len(series.mean):
            axes.plot(
                series.mean_positions,
                series.mean,
                "-",
                color=line.get_color(),
                label=f"{series.label} (mean of {curves.window})",
            )
    axes.set_xlabel("trial (in start order)")
    axes.set_ylabel("return")
    axes.set_title(title or f"returns over {curves.count} trials", pad=18 if phase_tag else 6)
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
    split: str | None = None,
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
            summaries,
            axes,
            actors=actors,
            window=window,
            title=title,
            phase_tag=phase_tag,
            split=split,
        )
        figure.savefig(path, format="png", bbox_inches="tight")
    finally:
        plt.close(figure)
    return len(summaries)
