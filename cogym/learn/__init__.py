"""Learning from recorded trials.

- :func:`behavior_cloning`: an SB3 policy cloned from an actor's recorded observations and actions.
"""

from __future__ import annotations

from cogym.learn.behavior_cloning import ALGORITHMS, EpochStats, behavior_cloning

__all__ = ["ALGORITHMS", "EpochStats", "behavior_cloning"]
