"""Returns over trials, drawn with matplotlib into a PNG."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from cogym.datastore.read.query import TrialSummary
from cogym.errors import InputError

__all__ = ["plot_returns"]


def plot_returns(
    summaries: Sequence[TrialSummary],
    path: str | os.PathLike[str],
    *,
    actors: Sequence[str] | None = None,
    window: int | None = None,
    title: str | None = None,
) -> int:
    """Plot each actor's return per trial (in start order) with a moving average; return the
    trial count."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if not summaries:
        raise InputError("no trials to plot")
    names = list(actors) if actors else list(dict.fromkeys(a for s in summaries for a in s.returns))
    window = window or max(1, len(summaries) // 20)
    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=100)
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
    axes.set_title(title or f"returns over {len(summaries)} trials")
    axes.grid(alpha=0.3)
    axes.legend(loc="best")
    figure.tight_layout()
    figure.savefig(path, format="png")
    plt.close(figure)
    return len(summaries)
