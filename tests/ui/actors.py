"""Actors for the dashboard tests (``python:tests.ui.actors:...``)."""

from __future__ import annotations

from typing import Any


class Chooser:
    """Plays ``tick % 2`` and notes who chose it: ``bot`` on most ticks, ``teacher`` on every
    third one."""

    def reset(self, context: Any) -> None:
        self.context = context

    def act(self, observation: Any) -> int:
        tick = self.context.tick
        self.context.annotate({"by": "teacher" if tick % 3 == 0 else "bot"})
        return tick % 2
