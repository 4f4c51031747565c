"""Runner factories for the pool tests (importable by the worker processes)."""

from __future__ import annotations

from typing import Any


def unbuildable(**settings: Any) -> Any:
    """A runner factory that fails in the worker, before any trial."""
    raise OSError("no room left on the worker's disk")


def lander_for_workers(**config: Any) -> Any:
    """An environment factory registered under a plain name in a test's own directory."""
    import gymnasium

    return gymnasium.make("LunarLander-v3", **config)


class IdleActor:
    """An actor that always plays action 0."""

    def act(self, observation: Any) -> int:
        return 0
