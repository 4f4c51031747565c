"""Trials: one run of an environment with its actors, advanced tick by tick.

The modules, each a concept, lowest first::

    values      TrialState, Reward, Message, Sample, TrialInfo, TrialResult, ActorClass
    recording   the protocols a trial calls out through: recorder, actors' optional hooks
    context     TrialContext, what a participant sees, over a small TrialPort
    cast        Cast: the environment and actors, with the tick loop's lookups made once
    trial       Trial: the lifecycle and the tick loop

``values`` imports nothing else of cogym, so :mod:`cogym.environment` and :mod:`cogym.actors`
build on it; nothing here imports :mod:`cogym.environment`.
"""

from cogym.trial.cast import Cast
from cogym.trial.context import TrialContext
from cogym.trial.recording import TrialRecorder
from cogym.trial.trial import Trial
from cogym.trial.values import (
    BROADCAST,
    ENVIRONMENT,
    Message,
    Reward,
    Sample,
    TrialInfo,
    TrialResult,
    TrialState,
)

__all__ = [
    "BROADCAST",
    "ENVIRONMENT",
    "Cast",
    "Message",
    "Reward",
    "Sample",
    "Trial",
    "TrialContext",
    "TrialInfo",
    "TrialRecorder",
    "TrialResult",
    "TrialState",
]
