"""Learning from trials.

- :func:`behavior_cloning`: an SB3 policy cloned from an actor's recorded observations and actions.
- :func:`dagger`: an SB3 policy trained by DAgger, a teacher labelling the states it visits.
- :func:`follow_and_clone`: a clone published again every few trials, while trials are recorded.
- :func:`oracle`: a scripted :class:`Judge` of preference queries, from the true return.
- :func:`propose_queries`: pairs of recorded clips to ask a judge about.
- :func:`reward_model`: a :class:`RewardModel` fitted to preferences and people's feedback.
- :func:`rlhf`: a policy trained on a reward learnt from a judge's preferences, iteratively.
- :func:`selfplay`: a policy trained against snapshots of itself from the registry.
"""

from __future__ import annotations

from cogym.learn.behavior_cloning import ALGORITHMS, EpochStats, behavior_cloning, fit_policy
from cogym.learn.dagger import RoundStats, dagger
from cogym.learn.judges import Judge, oracle
from cogym.learn.live import follow_and_clone
from cogym.learn.queries import propose_queries
from cogym.learn.reward_model import RewardModel, load_reward_model, reward_model
from cogym.learn.rlhf import IterationStats, rlhf
from cogym.learn.selfplay import Snapshot, selfplay
from cogym.learn.teacher import NO_LABEL

__all__ = [
    "ALGORITHMS",
    "NO_LABEL",
    "EpochStats",
    "IterationStats",
    "Judge",
    "RewardModel",
    "RoundStats",
    "Snapshot",
    "behavior_cloning",
    "dagger",
    "fit_policy",
    "follow_and_clone",
    "load_reward_model",
    "oracle",
    "propose_queries",
    "reward_model",
    "rlhf",
    "selfplay",
]
