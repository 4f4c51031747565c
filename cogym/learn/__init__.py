"""Learning from trials.

- :func:`behavior_cloning`: an SB3 policy cloned from an actor's recorded observations and actions.
- :func:`dagger`: an SB3 policy trained by DAgger, a teacher labelling the states it visits.
"""

from __future__ import annotations

from cogym.learn.behavior_cloning import ALGORITHMS, EpochStats, behavior_cloning, fit_policy
from cogym.learn.dagger import RoundStats, dagger
from cogym.learn.teacher import NO_LABEL

__all__ = [
    "ALGORITHMS",
    "NO_LABEL",
    "EpochStats",
    "RoundStats",
    "behavior_cloning",
    "dagger",
    "fit_policy",
]
