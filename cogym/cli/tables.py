"""Tables of the command line that stay readable at 80 columns.

A console narrower than :data:`WIDE` gets a compact table (no outer border, one space of
padding) and, where a row would not fit, the commands fold related values into one cell on
separate lines (an id above its start time) or give each actor its own row.
"""

from __future__ import annotations

import datetime
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

__all__ = ["WIDE", "actors_table", "is_narrow", "new_table", "time_text", "trials_table"]

WIDE = 120
"""Consoles at least this wide get every column side by side."""


def is_narrow(console: Console) -> bool:
    """Whether ``console`` is narrower than :data:`WIDE` columns."""
    return console.width < WIDE


def new_table(console: Console, title: str) -> Table:
    """A table titled ``title``, compact on a narrow ``console``."""
    if not is_narrow(console):
        return Table(title=title, title_justify="left")
    return Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )


def time_text(seconds: float) -> str:
    """A time of day with its date, in local time: ``12-02 15:09:08``."""
    return datetime.datetime.fromtimestamp(seconds).strftime("%m-%d %H:%M:%S")


Scores = tuple[str, dict[str, float]]
"""``(column title, value by trial id)``: an extra column of ``cogym trials ls``."""


def trials_table(
    console: Console, shown: list[Any], *, narrow: bool, title: str, scores: Scores | None = None
) -> Table:
    """``cogym trials ls``: the trial summaries ``shown``, one row per trial or per actor, and a
    column of ``scores`` if given (``-`` for a trial without one)."""
    return (_narrow_trials if narrow else _wide_trials)(console, shown, title, scores)


def _score(scores: Scores | None, trial_id: str) -> list[str]:
    if scores is None:
        return []
    value = scores[1].get(trial_id)
    return ["-" if value is None else f"{value:.2f}"]


_COLOURS = {"ended": "green", "failed": "red", "terminated": "yellow"}


def _state(s: Any) -> str:
    colour = _COLOURS[s.state.value]
    return f"[{colour}]{s.state.value}[/{colour}]"


def _wide_trials(console: Console, shown: list[Any], title: str, scores: Scores | None) -> Table:
    """One row per trial, with its environment and tags."""
    table = new_table(console, title)
    columns = ["id", "started", "state", "environment", "actors", "ticks", "returns", "tags"]
    for column in columns:
        table.add_column(
            column,
            justify="right" if column == "ticks" else "left",
            no_wrap=column in ("id", "started", "state", "ticks"),
            overflow="fold",
        )
    if scores is not None:
        table.add_column(escape(scores[0]), justify="right", overflow="fold")
    for s in shown:
        table.add_row(
            s.trial_id,
            time_text(s.started),
            _state(s),
            escape(s.environment),
            escape(", ".join(f"{n} ({s.implementations.get(n, '?')})" for n in s.actor_classes)),
            str(s.ticks),
            ", ".join(f"{v:.2f}" for v in s.returns.values()),
            escape(", ".join(f"{k}={v}" for k, v in s.tags.items())),
            *_score(scores, s.trial_id),
        )
    return table


def _narrow_trials(
    console: Console, shown: list[Any], title: str, scores: Scores | None
) -> Table:
    """One row per actor; the id above the start time, the environment and the tags, the state
    above the ticks."""
    table = new_table(console, title)
    table.add_column("trial, started, env, tags", overflow="fold")
    table.add_column("state", no_wrap=True)
    table.add_column("actor, implementation", overflow="fold")
    table.add_column("return", justify="right", no_wrap=True)
    if scores is not None:
        table.add_column(escape(scores[0]), justify="right", overflow="fold")
    for s in shown:
        names = list(s.actor_classes) or ["-"]
        for index, name in enumerate(names):
            first = index == 0
            table.add_row(
                _trial_cell(s) if first else "",
                f"{_state(s)}\n{s.ticks} ticks" if first else "",
                escape(f"{name}\n  {s.implementations.get(name, '?')}"),
                f"{s.returns[name]:.2f}" if name in s.returns else "",
                *(_score(scores, s.trial_id) if first else [""] * (scores is not None)),
                end_section=index == len(names) - 1,
            )
    return table


def _trial_cell(s: Any) -> str:
    lines = [s.trial_id, time_text(s.started), escape(s.environment)]
    lines += [escape(f"{k}={v}") for k, v in s.tags.items()]
    return "\n".join(lines)


def actors_table(console: Console, stored: Any, s: Any) -> Table:
    """``cogym trials show``: the actors of trial ``stored`` (summary ``s``); on a narrow
    console the class goes under the name and the action space under the observation space."""
    narrow = is_narrow(console)
    table = new_table(console, "actors")
    columns = ["actor", "class", "implementation", "observation space", "action space", "return"]
    if narrow:
        columns = ["actor, class", "implementation", "observation, action space", "return"]
    for column in columns:
        table.add_column(column, overflow="fold", justify="right" if column == "return" else "left")
    for name, actor_class in stored.actor_classes.items():
        acts = (
            str(actor_class.action_space) if actor_class.action_space is not None else "(observer)"
        )
        cells = [
            escape(name),
            escape(actor_class.name),
            escape(s.implementations.get(name, "?")),
            escape(str(actor_class.observation_space)),
            escape(acts),
            f"{s.returns.get(name, 0.0):.3f}",
        ]
        if narrow:
            cells = [f"{cells[0]}\n{cells[1]}", cells[2], f"{cells[3]}\n{cells[4]}", cells[5]]
        table.add_row(*cells)
    return table
