"""Actors for the Ray tests (importable as ``python:tests.distributed.actors:...``)."""

from __future__ import annotations

import os
import signal
from typing import Any


class KillOnce:
    """Acts 0, but the first time it plays the trial with seed ``seed`` it SIGKILLs its own
    process at tick ``at``. ``marker`` (a file it creates) says the kill happened, across
    processes and retries."""

    def __init__(self, seed: int, marker: str, at: int = 2) -> None:
        self.seed = seed
        self.marker = marker
        self.at = at
        self.dying = False

    def reset(self, context: Any) -> None:
        self.context = context
        self.dying = False
        if context.spec.seed == self.seed:
            try:
                os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                return
            self.dying = True

    def act(self, observation: Any) -> int:
        if self.dying and self.context.tick == self.at:
            os.kill(os.getpid(), signal.SIGKILL)
        return 0
